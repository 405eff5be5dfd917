"""A user's landscape from a SPEC, a point from a POINT, and the checks that make them usable.

SPEC is one of three kinds:

* ``path/to/module.py:function`` -- **the module is imported, so its code runs** with your
  permissions (it is your own code; do not point this at files you do not trust).
  ``function(w)`` takes a float64 vector of length N and returns F(w).  Optional exact
  derivatives are found by name, first ``<function>_grad(w)``, ``<function>_hess(w)``,
  ``<function>_hvp(w, v)``, then module-level ``grad(w)``, ``hessian(w)``, ``hvp(w, v)``;
  whatever is missing is computed by central finite differences
  (:class:`numerics.landscapes.FunctionLandscape`).  N is the length of the point (--at).
* an expression ``--expr "(1-x)**2 + 100*(y-x**2)**2" --vars x,y`` -- parsed by the
  whitelisting parser :mod:`checks.expr` (never ``eval``'d); gradient and Hessian are exact,
  by SymPy differentiation, lambdified to numpy and vectorised over batches of points.
* ``path/to/hessian.npy`` -- a symmetric N×N matrix H: the quadratic F = ½(w−w*)ᵀH(w−w*),
  whose minimum w* defaults to 0.

POINT (``--at``) is comma-separated numbers or a ``.npy`` file; ``--minimum`` is a POINT or a
single number meaning that value in every coordinate.

Before anything is computed at the point, :func:`check_at_point` makes sure the landscape is
usable there: F, ∇F and ∇²F finite and of the right shape, a supplied gradient consistent
with finite differences of F, a supplied Hessian consistent with finite differences of the
gradient, and F twice differentiable at the point (one-sided differences of the gradient
converging).  Each failure is a ``ValueError`` naming the problem.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import sympy as sp

from checks.expr import parse_expression, parse_variables
from numerics.landscapes import (
    EPS,
    FunctionLandscape,
    Landscape,
    Quadratic,
    check_batch,
    check_directions,
    check_point,
)

__all__ = [
    "ExpressionLandscape",
    "UserLandscape",
    "load",
    "from_module",
    "from_expression",
    "from_hessian_file",
    "parse_point",
    "parse_minimum",
    "check_at_point",
    "PointCheck",
    "gradient_error_bound",
    "spec_kind",
    "MAX_DENSE_N",
]

#: largest N for which the report builds the dense Hessian (N² memory, N³ eigenvalues)
MAX_DENSE_N = 3000
_counter = itertools.count()


@dataclass(frozen=True)
class UserLandscape:
    """A loaded landscape plus where it came from and which derivatives are exact."""

    landscape: Landscape
    kind: str  # "module", "expression" or "hessian"
    source: str
    exact: tuple[str, ...]  # derivatives supplied exactly: subset of ("grad", "hessian")
    notes: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------- points


def _numbers(text: str, name: str) -> np.ndarray:
    parts = [p.strip() for p in text.split(",")]
    if any(p == "" for p in parts):
        raise ValueError(f"{name}: empty entry in {text!r} (use comma-separated numbers, e.g. 0.5,1,2)")
    values = []
    for p in parts:
        try:
            values.append(float(p))
        except ValueError:
            raise ValueError(f"{name}: {p!r} is not a number (in {text!r})") from None
    arr = np.array(values, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or inf ({text!r})")
    return arr


def _load_npy(path: str | Path, name: str) -> np.ndarray:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{name}: file not found: {p}")
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{name}: cannot read {p} as a .npy array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: {p} holds {arr.dtype} data, not real numbers")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: {p} contains NaN or inf")
    return arr


def parse_point(
    text: str | Sequence[float] | np.ndarray, n: int | None = None, name: str = "--at"
) -> np.ndarray:
    """A point from ``"1,2,3"``, a ``.npy`` file path or numbers; length checked against ``n``."""
    if isinstance(text, str):
        if text.strip().endswith(".npy"):
            arr = _load_npy(text.strip(), name)
        else:
            arr = _numbers(text, name)
    else:
        try:
            arr = np.asarray(text, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be numbers") from None
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty vector; got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    if n is not None and arr.size != n:
        raise ValueError(f"{name} has {arr.size} coordinates but the landscape has N={n} parameters")
    return arr


def parse_minimum(text: str | float | Sequence[float] | np.ndarray, n: int) -> np.ndarray:
    """w* from a POINT, or a single number meaning that value in every one of the ``n`` coordinates."""
    if isinstance(text, int | float | np.floating | np.integer):
        text = repr(float(text))
    if isinstance(text, str) and not text.strip().endswith(".npy") and "," not in text:
        value = _numbers(text, "--minimum")[0]
        return np.full(n, value)
    return parse_point(text, n, name="--minimum")


# --------------------------------------------------------------------------- guarding user code


def _guard(fn: Callable[..., object], label: str) -> Callable[..., object]:
    """Wrap a user callable so that an exception it raises becomes one clear ValueError."""

    def call(*args: object) -> object:
        try:
            with np.errstate(all="ignore"):  # NaN/inf are caught, and named, by the checks
                return fn(*args)
        except (ValueError, FileNotFoundError) as exc:
            raise ValueError(f"{label} raised {type(exc).__name__}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - any failure of the user's code is a user error
            raise ValueError(f"{label} raised {type(exc).__name__}: {exc}") from None

    return call


# --------------------------------------------------------------------------- module SPEC


def from_module(spec: str, n: int, w_star: np.ndarray | None = None) -> UserLandscape:
    """Import ``path/to/module.py:function`` (this RUNS the module) and wrap it as a landscape.

    Gradient / Hessian / HVP callables are taken from ``<function>_grad``, ``<function>_hess``,
    ``<function>_hvp`` or else module-level ``grad``, ``hessian``, ``hvp``; missing ones are
    finite differences.  ``n`` is the number of parameters (the length of the point).
    """
    path_text, sep, func_name = spec.rpartition(":")
    if not sep or not path_text or not func_name:
        raise ValueError(f"module SPEC must look like path/to/module.py:function; got {spec!r}")
    path = Path(path_text)
    if path.suffix != ".py":
        raise ValueError(f"module SPEC must name a .py file before ':'; got {path_text!r}")
    if not path.exists():
        raise FileNotFoundError(f"module file not found: {path}")
    if not path.is_file():
        raise ValueError(f"module SPEC {path} is not a file")
    if not func_name.isidentifier():
        raise ValueError(f"{func_name!r} is not a valid Python function name")
    module_name = f"plasticity_user_landscape_{next(_counter)}"
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise ValueError(f"cannot import {path} as a Python module")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - the user's module failing to import is a user error
        raise ValueError(f"importing {path} raised {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(module_name, None)
    f = getattr(module, func_name, None)
    if f is None:
        public = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_"))
        raise ValueError(f"{path} has no function {func_name!r} (callables found: {public})")
    if not callable(f):
        raise ValueError(f"{path}:{func_name} is not callable")

    def find(*names: str) -> tuple[str, Callable[..., object]] | tuple[None, None]:
        for name in names:
            fn = getattr(module, name, None)
            if fn is not None:
                if not callable(fn):
                    raise ValueError(f"{path}:{name} exists but is not callable")
                return name, fn
        return None, None

    grad_name, grad = find(f"{func_name}_grad", "grad")
    hess_name, hess = find(f"{func_name}_hess", f"{func_name}_hessian", "hessian", "hess")
    hvp_name, hvp = find(f"{func_name}_hvp", "hvp")
    landscape = FunctionLandscape(
        _guard(f, f"{func_name}"),
        n,
        grad=None if grad is None else _guard(grad, str(grad_name)),
        hess=None if hess is None else _guard(hess, str(hess_name)),
        hvp=None if hvp is None else _guard(hvp, str(hvp_name)),
        w_star=w_star,
    )
    exact = tuple(k for k, v in (("grad", grad), ("hessian", hess or hvp)) if v is not None)
    found = [name for name in (grad_name, hess_name, hvp_name) if name]
    notes = (
        f"derivatives supplied by the module: {', '.join(found) if found else 'none'}; "
        f"the rest by central finite differences",
    )
    return UserLandscape(landscape, "module", f"{path}:{func_name}", exact, notes)


# --------------------------------------------------------------------------- expression SPEC


def _drop_distributions(expr: sp.Basic) -> sp.Basic:
    # d/dx Abs(x) = sign(x) and d/dx sign(x) = 2 DiracDelta(x): the distributional part is
    # zero away from the kink, and a point on a kink is caught by check_at_point.
    return expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


class ExpressionLandscape:
    """F from a SymPy expression, with exact gradient and Hessian, vectorised over batches."""

    def __init__(self, expr: sp.Expr, symbols: Sequence[sp.Symbol], w_star: np.ndarray | None = None) -> None:
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


def from_expression(
    text: str, variables: str | Sequence[str], w_star: np.ndarray | None = None
) -> UserLandscape:
    """A landscape from a whitelisted SymPy expression in ``variables`` (exact derivatives)."""
    names = parse_variables(variables)
    expr = parse_expression(text, names)
    symbols = [sp.Symbol(name, real=True) for name in names]
    unused = [name for name, s in zip(names, symbols, strict=True) if s not in expr.free_symbols]
    notes = (f"variables not in the expression (flat directions): {', '.join(unused)}",) if unused else ()
    landscape = ExpressionLandscape(expr, symbols, w_star=w_star)
    return UserLandscape(landscape, "expression", str(expr), ("grad", "hessian"), notes)


# --------------------------------------------------------------------------- Hessian SPEC


def from_hessian_file(path: str | Path, w_star: np.ndarray | None = None) -> UserLandscape:
    """The quadratic ½(w−w*)ᵀH(w−w*) for H stored in a ``.npy`` file (w* defaults to 0)."""
    H = _load_npy(path, "Hessian file")
    if H.ndim != 2 or H.shape[0] != H.shape[1] or H.shape[0] == 0:
        raise ValueError(f"Hessian file {path}: expected a square N×N matrix, got shape {H.shape}")
    landscape = Quadratic(H, w_star=w_star)
    notes = (
        () if landscape.is_positive_semidefinite else ("H is indefinite: its stationary point is a saddle",)
    )
    return UserLandscape(landscape, "hessian", str(path), ("grad", "hessian"), notes)


# --------------------------------------------------------------------------- dispatch


def spec_kind(spec: str | None, expr: str | None) -> str:
    """Which SPEC kind the arguments describe ("module", "expression" or "hessian")."""
    if expr is not None:
        if spec:
            raise ValueError("give either a SPEC or --expr, not both")
        return "expression"
    if not spec:
        raise ValueError(
            "no landscape given: pass SPEC (module.py:function or hessian.npy) or --expr with --vars"
        )
    if spec.endswith(".npy"):
        return "hessian"
    if ":" in spec:
        return "module"
    raise ValueError(
        f"cannot tell what SPEC {spec!r} is: use path/to/module.py:function, path/to/hessian.npy, "
        f"or --expr EXPR --vars x,y"
    )


def load(
    spec: str | None = None,
    *,
    expr: str | None = None,
    variables: str | Sequence[str] | None = None,
    at: str | Sequence[float] | np.ndarray | None = None,
    minimum: str | float | Sequence[float] | np.ndarray | None = None,
) -> tuple[UserLandscape, np.ndarray]:
    """Load a landscape from the command-line pieces and the point ``at``; returns (landscape, w).

    ``--at`` is required: N is taken from the expression's variables, the Hessian's size, or
    (for a module) the point's length.
    """
    kind = spec_kind(spec, expr)
    if kind == "expression" and variables is None:
        raise ValueError("--expr needs --vars, the comma-separated variable names, e.g. --vars x,y")
    if kind != "expression" and variables is not None:
        raise ValueError("--vars only goes with --expr")
    if at is None:
        raise ValueError("--at POINT is required: comma-separated numbers or a .npy file")
    if kind == "module":
        w = parse_point(at)
        n = w.size
        w_star = None if minimum is None else parse_minimum(minimum, n)
        user = from_module(str(spec), n, w_star)
    elif kind == "expression":
        names = parse_variables(variables)  # type: ignore[arg-type]
        n = len(names)
        w = parse_point(at, n)
        w_star = None if minimum is None else parse_minimum(minimum, n)
        user = from_expression(str(expr), names, w_star)
    else:
        H = _load_npy(str(spec), "Hessian file")
        n = H.shape[0] if H.ndim == 2 else -1
        if n < 0:
            raise ValueError(f"Hessian file {spec}: expected a square N×N matrix, got shape {H.shape}")
        w = parse_point(at, n)
        w_star = np.zeros(n) if minimum is None else parse_minimum(minimum, n)
        user = from_hessian_file(str(spec), w_star)
    return user, w


# --------------------------------------------------------------------------- usability at a point


@dataclass(frozen=True)
class PointCheck:
    """What :func:`check_at_point` measured: F, ∇F, ∇²F at w, the error bound of ∇F
    (:func:`gradient_error_bound`) and the consistency margins."""

    loss: float
    grad: np.ndarray
    hessian: np.ndarray
    grad_error: float
    details: tuple[str, ...]


def _unit_directions(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    U = rng.standard_normal((k, n))
    return U / np.linalg.norm(U, axis=1, keepdims=True)


def check_at_point(
    user: UserLandscape | Landscape, w: np.ndarray, *, seed: int = 0, n_directions: int = 3
) -> PointCheck:
    """Make sure F is usable at ``w``; raise ``ValueError`` naming the problem otherwise.

    Checks, in order: F, ∇F, ∇²F finite and correctly shaped (the landscape classes check
    each call); a supplied gradient against central differences of F; twice
    differentiability (forward and backward differences of ∇F must agree to O(h): at a kink
    they differ by a jump that does not shrink with h); a supplied Hessian against central
    differences of ∇F, within the finite-difference error bound.  Directions are random
    (seeded) unit vectors.
    """
    landscape = user.landscape if isinstance(user, UserLandscape) else user
    exact = user.exact if isinstance(user, UserLandscape) else ("grad", "hessian")
    n = landscape.n
    w = check_point(w, n, "--at")
    if n > MAX_DENSE_N:
        raise ValueError(
            f"N={n} is above {MAX_DENSE_N}: the dense-Hessian report is not available at this size"
        )
    F0 = landscape.loss(w)
    g0 = landscape.grad(w)
    H = landscape.hessian(w)
    details: list[str] = []
    rng = np.random.default_rng(seed)
    U = _unit_directions(n, min(n_directions, max(n, 1)) if n > 1 else 1, rng)
    w_scale = max(1.0, float(np.linalg.norm(w)))
    h = EPS ** (1 / 3) * w_scale  # balances truncation h² against rounding eps/h
    h_scale = float(np.max(np.abs(np.linalg.eigvalsh(H))))
    dg = gradient_error_bound(landscape, w, exact, g0, h_scale)
    # A finite-difference gradient is itself smoothed over its own step (eps^(1/3) per
    # coordinate); kinks are only visible to steps well beyond that along every coordinate a
    # random unit direction touches (components ~1/√N), hence the factor 4√N.
    h_smooth = h if "grad" in exact else 4 * math.sqrt(n) * h

    for u in U:
        if "grad" in exact:
            _check_gradient(landscape, w, u, g0, F0, h, details)
        _check_twice_differentiable(landscape, w, u, g0, h_smooth, dg, details)
        if "hessian" in exact:
            _check_hessian(landscape, w, u, H, h, dg, h_scale, details)
    return PointCheck(F0, g0, H, dg, tuple(details))


def gradient_error_bound(
    landscape: Landscape, w: np.ndarray, exact: tuple[str, ...], g: np.ndarray, hessian_norm: float
) -> float:
    """An upper bound on the absolute error ‖δ∇F‖ of one evaluation ``g`` of ∇F at ``w``.

    * Rounding, for every gradient: 64·eps·(‖∇F‖ + ‖∇²F‖·max(1, ‖w‖)).  The second term is
      how much ∇F changes when w moves by a relative eps -- the rounding of w itself, and
      the backward error of a float64 evaluation of ∇F, which computes the gradient at a
      point within a few eps of w; the first is the rounding of the result.  The factor 64
      covers the few dozen floating-point operations of a typical gradient.
    * For a finite-difference gradient (``"grad"`` not in ``exact``), add its error estimate
      ``fd_error_estimate`` (truncation from Richardson's |D(h) − D(2h)|/3, plus rounding
      eps·|F|/h per coordinate; :class:`numerics.landscapes.FunctionLandscape`).

    ``hessian_norm`` is ‖∇²F(w)‖₂.  A gradient whose norm is within this bound has no
    direction distinguishable from rounding or truncation noise: the point is stationary to
    working precision.
    """
    w = check_point(w, landscape.n)
    bound = 64 * EPS * (float(np.linalg.norm(g)) + hessian_norm * max(1.0, float(np.linalg.norm(w))))
    if "grad" not in exact and hasattr(landscape, "fd_error_estimate"):
        bound += float(np.linalg.norm(landscape.fd_error_estimate(w)))
    return bound


def _check_gradient(
    landscape: Landscape,
    w: np.ndarray,
    u: np.ndarray,
    g0: np.ndarray,
    F0: float,
    h: float,
    details: list[str],
) -> None:
    def central(step: float) -> float:
        return (landscape.loss(w + step * u) - landscape.loss(w - step * u)) / (2 * step)

    d1, d2 = central(h), central(2 * h)
    # Richardson: the truncation error of d1 is ≈ |d1 − d2|/3; rounding of the F difference
    # is ~eps·|F|/h (×4 for the F values involved).  A factor 10 on the sum leaves room for
    # the estimate being itself approximate, and an absolute floor for exactly-zero cases.
    bound = 10 * (abs(d1 - d2) / 3 + 4 * EPS * (abs(F0) + 1e-300) / h) + 64 * EPS * float(np.linalg.norm(g0))
    err = abs(float(g0 @ u) - d1)
    details.append(f"gradient vs F differences: |∇F·u − ΔF/Δw| = {err:.3g} (bound {bound:.3g})")
    if err > bound:
        raise ValueError(
            f"the supplied gradient is inconsistent with F at the point: along a unit direction ∇F·u = "
            f"{float(g0 @ u):.6g} but central differences of F give {d1:.6g} (allowed error {bound:.3g}); "
            f"check the gradient function (or F is not differentiable here)"
        )


def _check_twice_differentiable(
    landscape: Landscape,
    w: np.ndarray,
    u: np.ndarray,
    g0: np.ndarray,
    h: float,
    dg: float,
    details: list[str],
) -> None:
    """Finite differences of ∇F along u must converge as a smooth F's do.

    Two signatures of a kink, each tested at steps h, 2h, 4h:

    * a jump in ∇F (a kink in F, e.g. |x| at 0): central differences (∇F(w+hu)−∇F(w−hu))/2h
      grow like 1/h instead of converging; for a smooth F successive ones differ by O(h²),
      so the difference shrinks 4× per halving of h (a jump makes it grow 2×);
    * a jump in ∇²F (e.g. max(0,x)² at 0): forward minus backward differences
      (∇F(w+hu) + ∇F(w−hu) − 2∇F(w))/h are h·∇³F[u,u] + O(h³) for a smooth F, halving with h,
      but tend to the jump for a kink.

    Non-smooth is declared when a quantity is above its rounding floor and has not shrunk
    by the factor between the smooth and the kinked rate (2 for the first, √2 for the second).
    """
    g = {s: (landscape.grad(w + s * h * u), landscape.grad(w - s * h * u)) for s in (1, 2, 4)}
    central = {s: (gp - gm) / (2 * s * h) for s, (gp, gm) in g.items()}
    jump = {s: float(np.linalg.norm(gp + gm - 2 * g0)) / (s * h) for s, (gp, gm) in g.items()}
    r1 = float(np.linalg.norm(central[1] - central[2]))
    r2 = float(np.linalg.norm(central[2] - central[4]))
    # dg bounds the error of one gradient evaluation (gradient_error_bound);
    # central differences carry ≤ δg/h each, so r1 ≤ 1.5δg/h from rounding alone; jumps ≤ 4δg/h
    floor_central, floor_jump = 4 * dg / h, 4 * dg / h
    details.append(
        f"smoothness along u: central-difference changes {r1:.3g}, {r2:.3g}; one-sided jumps "
        f"{jump[1]:.3g}, {jump[2]:.3g} (noise floors {floor_central:.3g}, {floor_jump:.3g})"
    )
    if r1 > floor_central and r1 > r2 / 2:
        raise ValueError(
            "F is not differentiable at the point (the gradient jumps): central differences of the "
            f"gradient change by {r1:.3g} between steps {h:.3g} and {2 * h:.3g} and by {r2:.3g} between "
            f"{2 * h:.3g} and {4 * h:.3g} instead of converging; the Hessian, and every claim built on it, "
            "cannot be evaluated here"
        )
    if jump[1] > floor_jump and jump[1] > jump[2] / math.sqrt(2):
        raise ValueError(
            "F is not twice differentiable at the point: forward and backward differences of the "
            f"gradient differ by {jump[1]:.3g} at step {h:.3g} and {jump[2]:.3g} at step {2 * h:.3g} "
            "(a smooth F halves this when the step halves); the Hessian, and every claim built on it, "
            "cannot be evaluated here"
        )


def _check_hessian(
    landscape: Landscape,
    w: np.ndarray,
    u: np.ndarray,
    H: np.ndarray,
    h: float,
    dg: float,
    h_scale: float,
    details: list[str],
) -> None:
    def central(step: float) -> np.ndarray:
        return (landscape.grad(w + step * u) - landscape.grad(w - step * u)) / (2 * step)

    c1, c2 = central(h), central(2 * h)
    Hu = H @ u
    # Richardson: truncation of c1 ≈ ‖c1 − c2‖/3; rounding 2 gradient errors dg / (2h); ×10
    # margin for the estimate, and a floor at the rounding of H·u itself (~N·eps·‖H‖).
    bound = 10 * (float(np.linalg.norm(c1 - c2)) / 3 + dg / h) + landscape.n * EPS * h_scale
    err = float(np.linalg.norm(Hu - c1))
    details.append(f"Hessian vs gradient differences: ‖∇²F·u − Δ∇F/Δw‖ = {err:.3g} (bound {bound:.3g})")
    if err > bound:
        raise ValueError(
            "the Hessian is inconsistent with finite differences of the gradient at the point: "
            f"‖∇²F·u − Δ∇F/Δw‖ = {err:.3g} exceeds the finite-difference error bound {bound:.3g} "
            "(a wrong Hessian function, or F is not smooth here)"
        )
