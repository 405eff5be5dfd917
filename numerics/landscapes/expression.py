"""A landscape from a SymPy expression, with exact derivatives by differentiation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from plasticity.numerics.landscapes.base import check_batch, check_directions, check_point

if TYPE_CHECKING:
    import sympy as sp


def _drop_distributions(expr: sp.Basic) -> sp.Basic:
    import sympy as sp

    # d/dx Abs(x) = sign(x) and d/dx sign(x) = 2 DiracDelta(x): the distributional part is
    # zero away from the kink, and a point on a kink is caught by check_at_point.
    return expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


class ExpressionLandscape:
    """F from a SymPy expression, with exact gradient and Hessian, vectorised over batches."""

    def __init__(self, expr: sp.Expr, symbols: Sequence[sp.Symbol], w_star: np.ndarray | None = None) -> None:
        import sympy as sp  # imported here: only expression landscapes need SymPy

        self.expr = expr
        self.symbols = tuple(symbols)
        self.n = len(self.symbols)
        self.gradient_exprs = [_drop_distributions(sp.diff(expr, s)) for s in self.symbols]
        self.hessian_exprs = [
            [_drop_distributions(sp.diff(g, s)) for s in self.symbols] for g in self.gradient_exprs
        ]
        self._f = sp.lambdify(self.symbols, expr, modules="numpy")
        self._g = sp.lambdify(self.symbols, self.gradient_exprs, modules="numpy")
        self._h = sp.lambdify(self.symbols, self.hessian_exprs, modules="numpy")
        self.w_star = None if w_star is None else check_point(w_star, self.n, "w_star")

    def _eval(
        self, fn: Callable[..., object], W: np.ndarray, what: str, shape: tuple[int, ...]
    ) -> np.ndarray:
        """Evaluate a lambdified form on rows of W (k, n) -> (k, *shape), checked finite."""
        k = W.shape[0]
        with np.errstate(all="ignore"):
            out = fn(*W.T)
        arr = _stack(out, k, shape)
        if not np.all(np.isfinite(arr)):
            bad = int(np.argmax(~np.all(np.isfinite(arr.reshape(k, -1)), axis=1)))
            raise ValueError(
                f"{what} of the expression is NaN or inf at w = {_fmt_point(W[bad])} "
                f"(outside its domain, e.g. log or sqrt of a negative number?)"
            )
        return arr

    def loss(self, w: np.ndarray) -> float:
        return float(self.loss_batch(check_point(w, self.n)[None])[0])

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self.grad_batch(check_point(w, self.n)[None])[0]

    def hessian(self, w: np.ndarray) -> np.ndarray:
        return self._eval(self._h, check_point(w, self.n)[None], "the Hessian", (self.n, self.n))[0]

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        V = check_directions(v, self.n)
        return V @ self.hessian(w)

    def hvp_batch(self, W: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Row-paired HVPs: row i is ∇²F(W[i]) V[i]."""
        W = check_batch(W, self.n)
        V = check_batch(V, self.n, "V")
        if V.shape != W.shape:
            raise ValueError(f"V must have the shape of W {W.shape}; got {V.shape}")
        H = self._eval(self._h, W, "the Hessian", (self.n, self.n))
        return np.einsum("kij,kj->ki", H, V)

    def loss_batch(self, W: np.ndarray) -> np.ndarray:
        return self._eval(self._f, check_batch(W, self.n), "the value", ())

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        return self._eval(self._g, check_batch(W, self.n), "the gradient", (self.n,))

    def __repr__(self) -> str:
        return f"ExpressionLandscape({self.expr}, vars={[str(s) for s in self.symbols]})"


def _stack(out: object, k: int, shape: tuple[int, ...]) -> np.ndarray:
    """Nested lists of scalars/arrays from lambdify -> float array (k, *shape), constants broadcast."""
    if not shape:
        return np.broadcast_to(np.asarray(out, dtype=np.float64), (k,)).copy()
    return np.stack([_stack(item, k, shape[1:]) for item in out], axis=-1 if len(shape) == 1 else 1).reshape(
        (k, *shape)
    )


def _fmt_point(w: np.ndarray) -> str:
    if w.size <= 6:
        return "[" + ", ".join(f"{x:.6g}" for x in w) + "]"
    return f"a point with |w| = {np.linalg.norm(w):.6g}"
