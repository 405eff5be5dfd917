"""Loss landscapes behind one small interface: loss, gradient, Hessian-vector product, N.

Every curvature estimator and plasticity rule works against the :class:`Landscape`
protocol, so the same code runs on a quadratic bowl, the paper's student-teacher networks
and a user's own function.  Implementations:

* :class:`Quadratic` -- ``F(w) = ½ (w - w*)ᵀ H (w - w*)`` from a dense or eigen-decomposed H;
* :class:`NetworkLandscape` -- student-teacher MSE of the paper's networks, exact derivatives;
* :class:`FunctionLandscape` -- a user's callables, central finite differences fill the gaps;
* :class:`ExpressionLandscape` -- a SymPy expression, exact derivatives by differentiation.

All inputs are checked: a point of the wrong length, a non-finite value or a callable that
returns NaN or the wrong shape raises ``ValueError`` naming the problem.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from plasticity.numerics import networks

if TYPE_CHECKING:
    import sympy as sp

__all__ = [
    "Landscape",
    "Quadratic",
    "NetworkLandscape",
    "FunctionLandscape",
    "ExpressionLandscape",
    "check_point",
    "check_directions",
    "hvp_batch",
    "loss_grad_batch",
    "quad_form_batch",
]

#: float64 machine epsilon, the unit of every rounding bound the toolkit states
EPS = float(np.finfo(np.float64).eps)


@runtime_checkable
class Landscape(Protocol):
    """What every landscape offers: N, F, ∇F, ∇²F·v, ∇²F, a known minimum, batched F and ∇F."""

    n: int
    w_star: np.ndarray | None

    def loss(self, w: np.ndarray) -> float:
        """F(w) for w of shape (n,)."""
        ...

    def grad(self, w: np.ndarray) -> np.ndarray:
        """∇F(w), shape (n,)."""
        ...

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        """∇²F(w)·v for v of shape (n,) or (k, n), returning the same shape."""
        ...

    def hessian(self, w: np.ndarray) -> np.ndarray:
        """∇²F(w) as a dense symmetric (n, n) matrix."""
        ...

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        """∇F at each row of W (k, n) -> (k, n)."""
        ...

    def loss_batch(self, W: np.ndarray) -> np.ndarray:
        """F at each row of W (k, n) -> (k,)."""
        ...


# --------------------------------------------------------------------------- input checks


def _finite_array(x: object, name: str, fits: Callable[[tuple[int, ...]], bool], expected: str) -> np.ndarray:
    """``x`` as finite float64 whose shape ``fits``, or a ValueError naming the problem
    (not numeric, then the shape, then NaN/inf: the order the messages have always had)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array") from None
    if not fits(arr.shape):
        raise ValueError(f"{name} must have shape {expected}; got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def check_point(w: object, n: int, name: str = "w") -> np.ndarray:
    """``w`` as a finite float64 vector of length ``n``, or a ValueError naming the problem."""
    return _finite_array(w, name, lambda s: s == (n,), f"({n},) for this landscape (N={n})")


def check_directions(v: object, n: int, name: str = "v") -> np.ndarray:
    """``v`` as finite float64 of shape (n,) or (k, n), or a ValueError naming the problem."""
    return _finite_array(
        v, name, lambda s: len(s) in (1, 2) and s[-1] == n, f"({n},) or (k, {n}) for this landscape"
    )


def check_batch(W: object, n: int, name: str = "W") -> np.ndarray:
    """``W`` as finite float64 of shape (k, n), or a ValueError naming the problem."""
    return _finite_array(W, name, lambda s: len(s) == 2 and s[-1] == n, f"(k, {n}) for this landscape")


def _check_square_symmetric(H: object, name: str = "H") -> np.ndarray:
    try:
        arr = np.asarray(H, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric matrix") from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"{name} must be a square matrix; got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must have at least one row")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    scale = float(np.max(np.abs(arr)))
    asym = float(np.max(np.abs(arr - arr.T)))
    # A Hessian assembled in floating point (A @ A.T, finite differences symmetrised by the
    # caller) may be asymmetric at rounding level, ~N·eps relative to its largest entry; a
    # relative asymmetry of 1e-8 is far above that yet far below any genuine asymmetry.
    if asym > 1e-8 * max(scale, np.finfo(np.float64).tiny):
        raise ValueError(
            f"{name} is not symmetric: max |{name} - {name}ᵀ| = {asym:.3g} (largest entry {scale:.3g})"
        )
    return 0.5 * (arr + arr.T)


def _psd_tolerance(eigvals: np.ndarray) -> float:
    # eigvalsh is backward stable: computed eigenvalues are exact for a matrix within
    # ~N·eps·‖H‖ of H, so anything above -N·eps·‖H‖ is indistinguishable from zero.
    n = eigvals.shape[-1]
    return n * EPS * float(np.max(np.abs(eigvals)))


# --------------------------------------------------------------------------- quadratic


class Quadratic:
    """``F(w) = ½ (w - w*)ᵀ H (w - w*)``: the landscape of the paper's quadratic analysis.

    Give ``H`` (dense, symmetric) or its eigen-decomposition ``eigvals`` (n,) with
    ``eigvecs`` (n, n) orthonormal columns (omit ``eigvecs`` for a diagonal H).  ``center``
    (``w_star`` argument, default zero) is the stationary point.  An indefinite H is allowed
    -- it is reported by :attr:`is_positive_semidefinite` and :attr:`min_eigenvalue`, and
    then :attr:`w_star` is ``None`` because the stationary point is not a minimum.
    Everything is vectorised over rows of a batch ``W`` (k, n).
    """

    def __init__(
        self,
        H: np.ndarray | None = None,
        *,
        eigvals: np.ndarray | None = None,
        eigvecs: np.ndarray | None = None,
        w_star: np.ndarray | None = None,
    ) -> None:
        if (H is None) == (eigvals is None):
            raise ValueError("Quadratic: give exactly one of H or eigvals")
        if H is not None:
            if eigvecs is not None:
                raise ValueError("Quadratic: eigvecs only goes with eigvals, not with H")
            self._H = _check_square_symmetric(H)
            lam, U = np.linalg.eigh(self._H)
            self._eigvals, self._eigvecs = lam, U
        else:
            lam = np.asarray(eigvals, dtype=np.float64)
            if lam.ndim != 1 or lam.size == 0:
                raise ValueError(f"Quadratic: eigvals must be a non-empty vector; got shape {lam.shape}")
            if not np.all(np.isfinite(lam)):
                raise ValueError("Quadratic: eigvals contains NaN or inf")
            n = lam.size
            if eigvecs is None:
                U = None
            else:
                U = np.asarray(eigvecs, dtype=np.float64)
                if U.shape != (n, n):
                    raise ValueError(f"Quadratic: eigvecs must have shape ({n}, {n}); got {U.shape}")
                if not np.all(np.isfinite(U)):
                    raise ValueError("Quadratic: eigvecs contains NaN or inf")
                # orthonormal to rounding: UᵀU - I is ~N·eps for a computed orthogonal
                # matrix; 1e-8 leaves a wide margin yet rejects any non-orthogonal basis.
                dev = float(np.max(np.abs(U.T @ U - np.eye(n))))
                if dev > 1e-8:
                    raise ValueError(
                        f"Quadratic: eigvecs columns are not orthonormal (max |UᵀU - I| = {dev:.3g})"
                    )
            self._eigvals, self._eigvecs = lam, U
            self._H = None
        self.n = int(self._eigvals.size)
        self.center = np.zeros(self.n) if w_star is None else check_point(w_star, self.n, "Quadratic: w_star")
        lam_min = float(np.min(self._eigvals))
        self._psd = lam_min >= -_psd_tolerance(self._eigvals)

    # ----- spectrum, exposed rather than hidden
    @property
    def eigvals(self) -> np.ndarray:
        """Eigenvalues of H, ascending when H was given densely."""
        return self._eigvals.copy()

    @property
    def eigvecs(self) -> np.ndarray:
        """Orthonormal eigenvectors of H as columns."""
        return np.eye(self.n) if self._eigvecs is None else self._eigvecs.copy()

    @property
    def min_eigenvalue(self) -> float:
        return float(np.min(self._eigvals))

    @property
    def max_eigenvalue(self) -> float:
        return float(np.max(self._eigvals))

    @property
    def is_positive_semidefinite(self) -> bool:
        """False when H has an eigenvalue below -N·eps·‖H‖ (indefinite: a saddle, not a bowl)."""
        return self._psd

    @property
    def w_star(self) -> np.ndarray | None:
        """The minimum (the centre) when H is positive semidefinite; None for a saddle."""
        return self.center.copy() if self._psd else None

    @property
    def H(self) -> np.ndarray:
        """The dense Hessian (built once from the eigen-decomposition if needed)."""
        if self._H is None:
            U = self.eigvecs
            self._H = (U * self._eigvals) @ U.T
            self._H = 0.5 * (self._H + self._H.T)
        return self._H

    def trace(self) -> float:
        """Tr(H), exactly, from the eigenvalues."""
        return float(np.sum(self._eigvals))

    # ----- the Landscape protocol
    def _apply(self, V: np.ndarray) -> np.ndarray:
        """H applied to each row of V (..., n)."""
        if self._H is not None:
            return V @ self._H
        if self._eigvecs is None:
            return V * self._eigvals
        return ((V @ self._eigvecs) * self._eigvals) @ self._eigvecs.T

    def loss(self, w: np.ndarray) -> float:
        d = check_point(w, self.n) - self.center
        return float(0.5 * d @ self._apply(d))

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self._apply(check_point(w, self.n) - self.center)

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        check_point(w, self.n)
        return self._apply(check_directions(v, self.n))

    def hvp_batch(self, W: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Row-paired HVPs: row i of the result is ∇²F(W[i]) V[i] (H is constant here)."""
        W = check_batch(W, self.n)
        V = check_batch(V, self.n, "V")
        if V.shape != W.shape:
            raise ValueError(f"V must have the shape of W {W.shape}; got {V.shape}")
        return self._apply(V)

    def hessian(self, w: np.ndarray) -> np.ndarray:
        check_point(w, self.n)
        return self.H.copy()

    def loss_batch(self, W: np.ndarray) -> np.ndarray:
        D = check_batch(W, self.n) - self.center
        return 0.5 * np.einsum("ki,ki->k", D, self._apply(D))

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        return self._apply(check_batch(W, self.n) - self.center)

    def loss_grad_batch(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(loss_batch(W), grad_batch(W)) sharing one product with H."""
        D = check_batch(W, self.n) - self.center
        G = self._apply(D)
        return 0.5 * np.einsum("ki,ki->k", D, G), G

    def __repr__(self) -> str:
        kind = "PSD" if self._psd else "indefinite"
        lo, hi = self.min_eigenvalue, self.max_eigenvalue
        return f"Quadratic(n={self.n}, {kind}, eigenvalues in [{lo:.3g}, {hi:.3g}])"


# --------------------------------------------------------------------------- networks


class NetworkLandscape:
    """Student-teacher MSE of one of the paper's networks against a fixed teacher (exact).

    ``F(w) = mean over outputs × samples of (net(w, X) - net(w_teacher, X))²`` with zero
    biases; ``w_star`` is the teacher (F = 0 there).  Gradient, Hessian and HVP are exact,
    derived by hand in :mod:`plasticity.numerics.networks`; the forward pass at the last point is cached
    so repeated HVPs at one point cost only the R-operator passes.
    """

    def __init__(
        self, arch: networks.Architecture, teacher_weights: np.ndarray | list[np.ndarray], inputs: np.ndarray
    ) -> None:
        if isinstance(arch, str):
            arch = networks.architecture(arch)
        if not isinstance(arch, networks.Architecture):
            raise ValueError(f"arch must be an Architecture or a network name; got {type(arch).__name__}")
        self.arch = arch
        self.n = arch.n_weights
        if isinstance(teacher_weights, list | tuple):
            shapes = [np.shape(t) for t in teacher_weights]
            if shapes != list(arch.shapes):
                raise ValueError(
                    f"teacher weight matrices have shapes {shapes}; expected {list(arch.shapes)}"
                )
            teacher_weights = networks.pack([np.asarray(t, dtype=np.float64) for t in teacher_weights])
        self.teacher = check_point(teacher_weights, self.n, "teacher_weights")
        self.inputs = networks.check_inputs(arch, inputs)
        self.targets = networks.forward(arch, self.teacher, self.inputs)
        self._cache: tuple[np.ndarray, networks.Pass] | None = None

    @property
    def w_star(self) -> np.ndarray:
        return self.teacher.copy()

    def _pass(self, w: np.ndarray) -> networks.Pass:
        w = check_point(w, self.n)
        if self._cache is not None and np.array_equal(self._cache[0], w):
            return self._cache[1]
        p = networks.Pass(self.arch, w, self.inputs, self.targets)
        self._cache = (w.copy(), p)
        return p

    def loss(self, w: np.ndarray) -> float:
        return float(self._pass(w).loss)

    def grad(self, w: np.ndarray) -> np.ndarray:
        return self._pass(w).gradient()

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        p = self._pass(w)
        return p.hvp(check_directions(v, self.n))

    def hvp_batch(self, W: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Row-paired HVPs: row i of the result is ∇²F(W[i]) V[i], vectorised."""
        W = check_batch(W, self.n)
        V = check_batch(V, self.n, "V")
        if V.shape != W.shape:
            raise ValueError(f"V must have the shape of W {W.shape}; got {V.shape}")
        return networks.Pass(self.arch, W, self.inputs, self.targets).hvp(V)

    def hessian(self, w: np.ndarray) -> np.ndarray:
        return self._pass(w).hessian()

    def loss_batch(self, W: np.ndarray) -> np.ndarray:
        return networks.Pass(self.arch, check_batch(W, self.n), self.inputs, self.targets).loss

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        return networks.Pass(self.arch, check_batch(W, self.n), self.inputs, self.targets).gradient()

    def loss_grad_batch(self, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(loss_batch(W), grad_batch(W)) from one batched forward pass."""
        p = networks.Pass(self.arch, check_batch(W, self.n), self.inputs, self.targets)
        return p.loss, p.gradient()

    def __repr__(self) -> str:
        return f"NetworkLandscape({self.arch.name}, N={self.n}, {self.inputs.shape[0]} inputs)"


# --------------------------------------------------------------------------- user functions


class FunctionLandscape:
    """A landscape from a user's callables; central finite differences fill what is missing.

    ``f(w) -> float`` is required; ``grad(w) -> (n,)``, ``hess(w) -> (n, n)`` and
    ``hvp(w, v) -> (n,)`` are optional.  Missing derivatives are computed by central
    differences with per-coordinate steps

    * gradient from ``f``:          h_i = eps^(1/3) · max(1, |w_i|)  (error O(h²f''' + eps·f/h)),
    * HVP from a gradient:          h = eps^(1/3) · max(1, ‖w‖) along v/‖v‖,
    * Hessian from ``f`` alone:     h_i = eps^(1/4) · max(1, |w_i|)  (second differences),

    unless ``fd_step`` (a positive scalar) overrides the scale factor h/max(1, |w|).
    :meth:`fd_error_estimate` reports the error of the finite-difference gradient.
    Every output of a user callable is checked: NaN/inf or a wrong shape raises ValueError
    naming the callable and the problem.
    """

    def __init__(
        self,
        f: Callable[[np.ndarray], float],
        n: int,
        grad: Callable[[np.ndarray], np.ndarray] | None = None,
        hess: Callable[[np.ndarray], np.ndarray] | None = None,
        hvp: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        fd_step: float | None = None,
        *,
        w_star: np.ndarray | None = None,
    ) -> None:
        if not callable(f):
            raise ValueError("f must be callable")
        for name, fn in (("grad", grad), ("hess", hess), ("hvp", hvp)):
            if fn is not None and not callable(fn):
                raise ValueError(f"{name} must be callable or None")
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a positive integer; got {n!r}")
        if fd_step is not None:
            fd_step = float(fd_step)
            if not (np.isfinite(fd_step) and fd_step > 0):
                raise ValueError(f"fd_step must be a positive finite number; got {fd_step!r}")
        self.n = int(n)
        self._f, self._grad, self._hess, self._hvp = f, grad, hess, hvp
        self.fd_step = fd_step
        self._fd_cache: tuple[np.ndarray, np.ndarray] | None = None
        self.w_star = None if w_star is None else check_point(w_star, self.n, "w_star")

    # ----- which derivatives are exact (supplied) and which are finite differences
    @property
    def has_grad(self) -> bool:
        return self._grad is not None

    @property
    def has_hessian(self) -> bool:
        return self._hess is not None or self._hvp is not None

    def _step(self, w: np.ndarray, power: float) -> np.ndarray:
        scale = self.fd_step if self.fd_step is not None else EPS**power
        return scale * np.maximum(1.0, np.abs(w))

    # ----- checked calls of the user's callables
    def _call_f(self, w: np.ndarray) -> float:
        out = self._f(w.copy())
        arr = np.asarray(out, dtype=np.float64) if _is_numeric(out) else None
        if arr is None or arr.size != 1:
            raise ValueError(f"f returned {_describe(out)}; expected a single number")
        val = float(arr.reshape(()))
        if not np.isfinite(val):
            raise ValueError(f"f returned {val} (not finite) at the point given")
        return val

    def _call_vector(self, name: str, out: object, shape: tuple[int, ...]) -> np.ndarray:
        arr = np.asarray(out, dtype=np.float64) if _is_numeric(out) else None
        if arr is None or arr.shape != shape:
            raise ValueError(f"{name} returned {_describe(out)}; expected shape {shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} returned NaN or inf")
        return arr

    def loss(self, w: np.ndarray) -> float:
        return self._call_f(check_point(w, self.n))

    def grad(self, w: np.ndarray) -> np.ndarray:
        w = check_point(w, self.n)
        if self._grad is not None:
            return self._call_vector("grad", self._grad(w.copy()), (self.n,))
        return self._fd_grad(w, self._step(w, 1 / 3))

    def _fd_grad(self, w: np.ndarray, h: np.ndarray) -> np.ndarray:
        g = np.empty(self.n)
        for i in range(self.n):
            wp, wm = w.copy(), w.copy()
            wp[i] += h[i]
            wm[i] -= h[i]
            g[i] = (self._call_f(wp) - self._call_f(wm)) / (wp[i] - wm[i])
        return g

    def fd_error_estimate(self, w: np.ndarray, v: np.ndarray | None = None) -> np.ndarray:
        """Estimated absolute error of the finite-difference gradient at ``w`` (per component),
        or, given a direction ``v`` (n,), of the finite-difference HVP ∇²F(w)·v.

        The truncation error of a central (or second) difference is ∝ h², so it quadruples
        when h doubles: |D(h) - D(2h)|/3 estimates the truncation error of D(h).  Rounding
        adds ~eps·|value|/h (eps·|f|/h² for second differences of f).  The estimate is
        their sum; it is zero where the derivative was supplied (exact).
        """
        w = check_point(w, self.n)
        if v is None:
            if self._grad is not None:
                return np.zeros(self.n)
            h = self._step(w, 1 / 3)
            g1, g2 = self._fd_grad(w, h), self._fd_grad(w, 2 * h)
            rounding = EPS * abs(self._call_f(w)) / h
            return np.abs(g1 - g2) / 3 + rounding
        v = check_point(v, self.n, "v")
        if self._hvp is not None or self._hess is not None:
            return np.zeros(self.n)
        if self._grad is not None:
            d1, d2 = self._fd_hvp_from_grad(w, v), self._fd_hvp_from_grad(w, v, factor=2.0)
            g = self._call_vector("grad", self._grad(w.copy()), (self.n,))
            rounding = EPS * np.max(np.abs(g)) / self._hvp_step(w) * np.linalg.norm(v)
            return np.abs(d1 - d2) / 3 + rounding
        d1 = v @ self._fd_hessian_cached(w)
        d2 = v @ self._fd_hessian_from_f(w, factor=2.0)
        rounding = EPS * abs(self._call_f(w)) / np.min(self._step(w, 1 / 4)) ** 2 * np.sum(np.abs(v))
        return np.abs(d1 - d2) / 3 + rounding

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        w = check_point(w, self.n)
        V = check_directions(v, self.n)
        rows = V.reshape(-1, self.n)
        if self._hvp is not None:
            out = np.stack([self._call_vector("hvp", self._hvp(w.copy(), r.copy()), (self.n,)) for r in rows])
        elif self._hess is not None:
            out = rows @ self._checked_hess(w)
        elif self._grad is not None:
            out = np.stack([self._fd_hvp_from_grad(w, r) for r in rows])
        else:
            out = rows @ self._fd_hessian_cached(w)
        return out.reshape(V.shape)

    def _fd_hessian_cached(self, w: np.ndarray) -> np.ndarray:
        # O(n²) evaluations of f: keep the last point's matrix for repeated HVPs there
        if self._fd_cache is None or not np.array_equal(self._fd_cache[0], w):
            self._fd_cache = (w.copy(), self._fd_hessian_from_f(w))
        return self._fd_cache[1]

    def _fd_hvp_from_grad(self, w: np.ndarray, v: np.ndarray, factor: float = 1.0) -> np.ndarray:
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            return np.zeros(self.n)
        h = factor * self._hvp_step(w)
        u = v / norm
        gp = self._call_vector("grad", self._grad(w + h * u), (self.n,))
        gm = self._call_vector("grad", self._grad(w - h * u), (self.n,))
        return (gp - gm) / (2 * h) * norm

    def _checked_hess(self, w: np.ndarray) -> np.ndarray:
        out = self._call_vector("hess", self._hess(w.copy()), (self.n, self.n))
        return _check_square_symmetric(out, "hess")

    def _hvp_step(self, w: np.ndarray) -> float:
        scale = self.fd_step if self.fd_step is not None else EPS ** (1 / 3)
        return scale * max(1.0, float(np.linalg.norm(w)))

    def _fd_hessian_from_f(self, w: np.ndarray, factor: float = 1.0) -> np.ndarray:
        # Second differences of f: error O(h² f'''' + eps·f/h²), balanced at h ~ eps^(1/4).
        h = factor * self._step(w, 1 / 4)
        n = self.n
        f0 = self._call_f(w)
        H = np.empty((n, n))
        fp = np.empty(n)
        fm = np.empty(n)
        for i in range(n):
            e = np.zeros(n)
            e[i] = h[i]
            fp[i], fm[i] = self._call_f(w + e), self._call_f(w - e)
            H[i, i] = (fp[i] - 2 * f0 + fm[i]) / h[i] ** 2
        for i in range(n):
            for j in range(i + 1, n):
                e = np.zeros(n)
                e[i], e[j] = h[i], h[j]
                fpp, fmm = self._call_f(w + e), self._call_f(w - e)
                # f(w+hi ei+hj ej) + f(w-hi ei-hj ej) - f(+i) - f(-i) - f(+j) - f(-j) + 2f0 = 2 hi hj Hij
                H[i, j] = H[j, i] = (fpp + fmm - fp[i] - fm[i] - fp[j] - fm[j] + 2 * f0) / (2 * h[i] * h[j])
        return H

    def hessian(self, w: np.ndarray) -> np.ndarray:
        w = check_point(w, self.n)
        if self._hess is not None:
            return self._checked_hess(w)
        if self._hvp is not None or self._grad is not None:
            H = self.hvp(w, np.eye(self.n))
            return 0.5 * (H + H.T)
        return self._fd_hessian_cached(w).copy()

    def quad_form_batch(self, W: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Row-paired curvatures V[i]ᵀ∇²F(W[i])V[i] (k,), cheaper than full HVPs: exact from
        a supplied hvp/hess; else a central difference of the gradient along v̂ (2 gradient
        calls, step as for HVPs), or a second difference of f along v̂ (2 calls of f, step
        eps^(1/4)·max(1, ‖w‖))."""
        W = check_batch(W, self.n)
        V = check_batch(V, self.n, "V")
        if V.shape != W.shape:
            raise ValueError(f"V must have the shape of W {W.shape}; got {V.shape}")
        out = np.empty(W.shape[0])
        for i, (w, v) in enumerate(zip(W, V, strict=True)):
            norm = float(np.linalg.norm(v))
            if norm == 0.0:
                out[i] = 0.0
            elif self._hvp is not None or self._hess is not None:
                out[i] = v @ self.hvp(w, v)
            elif self._grad is not None:
                out[i] = v @ self._fd_hvp_from_grad(w, v)
            else:
                u = v / norm
                scale = self.fd_step if self.fd_step is not None else EPS ** (1 / 4)
                h = scale * max(1.0, float(np.linalg.norm(w)))
                second = self._call_f(w + h * u) - 2 * self._call_f(w) + self._call_f(w - h * u)
                out[i] = second / h**2 * norm**2
        return out

    def loss_batch(self, W: np.ndarray) -> np.ndarray:
        return np.array([self.loss(w) for w in check_batch(W, self.n)])

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        return np.stack([self.grad(w) for w in check_batch(W, self.n)])

    def __repr__(self) -> str:
        have = [k for k, v in (("grad", self._grad), ("hess", self._hess), ("hvp", self._hvp)) if v]
        return f"FunctionLandscape(n={self.n}, supplied={have or 'f only'})"


def _is_numeric(out: object) -> bool:
    try:
        arr = np.asarray(out)
    except Exception:  # noqa: BLE001  (anything unconvertible is simply "not numeric")
        return False
    return arr.dtype.kind in "biuf"


def _describe(out: object) -> str:
    if _is_numeric(out):
        return f"an array of shape {np.shape(out)}"
    return f"a value of type {type(out).__name__}"


# --------------------------------------------------------------------------- expressions


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


# --------------------------------------------------------------------------- helpers


def loss_grad_batch(landscape: Landscape, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(loss_batch(W), grad_batch(W)) on any landscape, in one pass where it supports it."""
    fn = getattr(landscape, "loss_grad_batch", None)
    if fn is not None:
        return fn(W)
    return np.asarray(landscape.loss_batch(W), dtype=np.float64), landscape.grad_batch(W)


def quad_form_batch(landscape: Landscape, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Row-paired V[i]ᵀ∇²F(W[i])V[i] on any landscape (what Q needs; no full HVP where the
    landscape can do it more cheaply)."""
    fn = getattr(landscape, "quad_form_batch", None)
    if fn is not None:
        return fn(W, V)
    return np.einsum("ki,ki->k", np.asarray(V, dtype=np.float64), hvp_batch(landscape, W, V))


def hvp_batch(landscape: Landscape, W: np.ndarray, V: np.ndarray) -> np.ndarray:
    """Row-paired HVPs ∇²F(W[i]) V[i] on any landscape (vectorised where it supports it)."""
    fn = getattr(landscape, "hvp_batch", None)
    if fn is not None:
        return fn(W, V)
    W = check_batch(W, landscape.n)
    V = check_batch(V, landscape.n, "V")
    if V.shape != W.shape:
        raise ValueError(f"V must have the shape of W {W.shape}; got {V.shape}")
    return np.stack([landscape.hvp(w, v) for w, v in zip(W, V, strict=True)])
