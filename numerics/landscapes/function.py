"""A landscape from a user's callables; central finite differences fill what is missing."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from plasticity.numerics.landscapes.base import (
    EPS,
    _check_square_symmetric,
    check_batch,
    check_directions,
    check_point,
)

#: memory for the Hessians of recent points (supplied Hessians only; see _checked_hess)
HESS_CACHE_BYTES = 64 * 2**20
#: memory for the HVPs on the identity that :meth:`FunctionLandscape.hessian_batch` builds at once
HESSIAN_BATCH_BYTES = 128 * 2**20


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

    Optional batched callables evaluate many points in one call, one point per row:
    ``f_batch(W) -> (k,)``, ``grad_batch(W) -> (k, n)``, ``hvp_batch(W, V) -> (k, n)`` (row i
    is ∇²F(W[i])·V[i]), ``hess_batch(W) -> (k, n, n)``.  They are fast paths of the per-point
    functions, used by the batch methods (:meth:`loss_batch`, :meth:`grad_batch`,
    :meth:`hvp_batch`, :meth:`quad_form_batch`, :meth:`hessian_batch`) and, where no
    per-point version is given, for single points too (``hess_batch`` only in batches);
    :meth:`check_batched` compares the two where both are given.
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
        f_batch: Callable[[np.ndarray], np.ndarray] | None = None,
        grad_batch: Callable[[np.ndarray], np.ndarray] | None = None,
        hvp_batch: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
        hess_batch: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        if not callable(f):
            raise ValueError("f must be callable")
        for name, fn in (
            ("grad", grad),
            ("hess", hess),
            ("hvp", hvp),
            ("f_batch", f_batch),
            ("grad_batch", grad_batch),
            ("hvp_batch", hvp_batch),
            ("hess_batch", hess_batch),
        ):
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
        self._f_batch, self._grad_batch, self._hvp_batch = f_batch, grad_batch, hvp_batch
        self._hess_batch = hess_batch
        self._supplied = {k for k, v in (("grad", grad), ("hess", hess), ("hvp", hvp)) if v is not None}
        # a batched callable alone serves single points too, as a batch of one row
        if grad is None and grad_batch is not None:
            self._grad = _OneRow(grad_batch, "grad_batch")
        if hvp is None and hvp_batch is not None:
            self._hvp = _OneRow(hvp_batch, "hvp_batch")
        self.fd_step = fd_step
        self._fd_cache: tuple[np.ndarray, np.ndarray] | None = None
        self._hess_cache: dict[bytes, np.ndarray] = {}
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
        if "hvp" in self._supplied:
            out = np.stack([self._call_vector("hvp", self._hvp(w.copy(), r.copy()), (self.n,)) for r in rows])
        elif self._hvp_batch is not None and self._hess is None:  # every row in one call
            out = self.hvp_batch(np.broadcast_to(w, rows.shape), rows)
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
        # a simulation asks for the Hessian at each point several times per step (Q[Δc],
        # Q[Δε], the Newton rule): the user's function is called once per point, and the
        # matrices of the most recent points (up to HESS_CACHE_BYTES) are kept
        key = w.tobytes()
        cached = self._hess_cache.get(key)
        if cached is not None:
            return cached
        out = _check_square_symmetric(
            self._call_vector("hess", self._hess(w.copy()), (self.n, self.n)), "hess"
        )
        if (len(self._hess_cache) + 1) * out.nbytes > HESS_CACHE_BYTES:
            self._hess_cache.clear()
        if out.nbytes <= HESS_CACHE_BYTES:
            out.setflags(write=False)
            self._hess_cache[key] = out
        return out

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
            return self._checked_hess(w).copy()
        if self._hvp is not None or self._grad is not None:
            H = self.hvp(w, np.eye(self.n))
            return 0.5 * (H + H.T)
        return self._fd_hessian_cached(w).copy()

    def quad_form_batch(self, W: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Row-paired curvatures V[i]ᵀ∇²F(W[i])V[i] (k,), cheaper than full HVPs: exact from
        a supplied hvp_batch (one call), hvp or hess; else a central difference of the
        gradient along v̂ (2 gradient calls, step as for HVPs), or a second difference of f
        along v̂ (2 calls of f, step eps^(1/4)·max(1, ‖w‖))."""
        W = check_batch(W, self.n)
        V = check_batch(V, self.n, "V")
        if V.shape != W.shape:
            raise ValueError(f"V must have the shape of W {W.shape}; got {V.shape}")
        if self._hvp_batch is not None:
            return np.einsum("ki,ki->k", V, self.hvp_batch(W, V))
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
        W = check_batch(W, self.n)
        if self._f_batch is not None:
            return self._call_vector("f_batch", self._f_batch(W.copy()), (W.shape[0],))
        return np.array([self.loss(w) for w in W])

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        W = check_batch(W, self.n)
        if self._grad_batch is not None:
            return self._call_vector("grad_batch", self._grad_batch(W.copy()), W.shape)
        return np.stack([self.grad(w) for w in W])

    def hvp_batch(self, W: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Row-paired HVPs ∇²F(W[i])·V[i] (k, n): one call of a supplied ``hvp_batch``, else
        :meth:`hvp` row by row."""
        W = check_batch(W, self.n)
        V = check_batch(V, self.n, "V")
        if V.shape != W.shape:
            raise ValueError(f"V must have the shape of W {W.shape}; got {V.shape}")
        if self._hvp_batch is not None:
            return self._call_vector("hvp_batch", self._hvp_batch(W.copy(), V.copy()), W.shape)
        return np.stack([self.hvp(w, v) for w, v in zip(W, V, strict=True)])

    def hessian_batch(self, W: np.ndarray) -> np.ndarray:
        """∇²F at every row of W (k, n) -> (k, n, n), in the cheapest way supplied.

        A supplied ``hess_batch`` (one call, each matrix checked square and symmetric like a
        supplied ``hess``); else a supplied ``hess`` point by point; else with a supplied
        ``hvp_batch``, batched HVPs on the identity (all N columns of as many points as fit
        in ``HESSIAN_BATCH_BYTES`` in one call), symmetrised like :meth:`hessian`; else
        :meth:`hessian` point by point.
        """
        W = check_batch(W, self.n)
        n = self.n
        if self._hess_batch is not None:
            H = self._call_vector("hess_batch", self._hess_batch(W.copy()), (W.shape[0], n, n))
            # the check _check_square_symmetric makes of one supplied Hessian, for all at once
            scale = np.max(np.abs(H), axis=(1, 2))
            asym = np.max(np.abs(H - H.transpose(0, 2, 1)), axis=(1, 2))
            bad = asym > 1e-8 * np.maximum(scale, np.finfo(np.float64).tiny)
            if np.any(bad):
                i = int(np.argmax(bad))
                raise ValueError(
                    f"hess_batch is not symmetric in row {i}: max |H - Hᵀ| = {asym[i]:.3g} "
                    f"(largest entry {scale[i]:.3g})"
                )
            return 0.5 * (H + H.transpose(0, 2, 1))
        if self._hvp_batch is None or self._hess is not None:
            return np.stack([self.hessian(w) for w in W])
        out = np.empty((W.shape[0], n, n))
        per_call = max(1, HESSIAN_BATCH_BYTES // (2 * n * n * 8))  # points per call (W and V rows)
        eye = np.eye(n)
        for start in range(0, W.shape[0], per_call):
            chunk = W[start : start + per_call]
            rows = self.hvp_batch(np.repeat(chunk, n, axis=0), np.tile(eye, (chunk.shape[0], 1)))
            H = rows.reshape(chunk.shape[0], n, n)
            out[start : start + chunk.shape[0]] = 0.5 * (H + H.transpose(0, 2, 1))
        return out

    def check_batched(self, W: np.ndarray, V: np.ndarray) -> None:
        """Raise ValueError unless every supplied batched callable agrees with its per-point
        counterpart at the rows of W (directions V for the HVP).

        The two differ only in the order of floating-point operations, i.e. by rounding, far
        below a relative 1e-8 of the largest value; a wrong axis, a missing term or rows mixed
        up differ by O(1).  Per-point values here are finite differences where no per-point
        callable was given alongside the batched one (then nothing is compared).
        """
        W = check_batch(W, self.n)
        V = check_batch(V, self.n, "V")
        pairs: list[tuple[str, np.ndarray, np.ndarray]] = []
        if self._f_batch is not None:
            pairs.append(("f_batch", self.loss_batch(W), np.array([self.loss(w) for w in W])))
        if self._grad_batch is not None and "grad" in self._supplied:
            pairs.append(("grad_batch", self.grad_batch(W), np.stack([self.grad(w) for w in W])))
        if self._hvp_batch is not None and "hvp" in self._supplied:
            per_point = np.stack([self.hvp(w, v) for w, v in zip(W, V, strict=True)])
            pairs.append(("hvp_batch", self.hvp_batch(W, V), per_point))
        elif self._hvp_batch is not None and "hess" in self._supplied:
            per_point = np.stack([v @ self._checked_hess(w) for w, v in zip(W, V, strict=True)])
            pairs.append(("hvp_batch", self.hvp_batch(W, V), per_point))
        if self._hess_batch is not None and self._hess is not None:
            pairs.append(("hess_batch", self.hessian_batch(W), np.stack([self._checked_hess(w) for w in W])))
        for name, batched, single in pairs:
            scale = max(float(np.max(np.abs(single))), np.finfo(np.float64).tiny)
            gap = float(np.max(np.abs(batched - single)))
            if gap > 1e-8 * scale:
                raise ValueError(
                    f"{name} disagrees with its per-point version: max difference {gap:.3g} "
                    f"(largest value {scale:.3g}); it must return one point's result per row"
                )

    def __repr__(self) -> str:
        named = (
            ("grad", self._grad),
            ("hess", self._hess),
            ("hvp", self._hvp),
            ("f_batch", self._f_batch),
            ("grad_batch", self._grad_batch),
            ("hvp_batch", self._hvp_batch),
            ("hess_batch", self._hess_batch),
        )
        have = [k for k, v in named if v is not None and not isinstance(v, _OneRow)]
        return f"FunctionLandscape(n={self.n}, supplied={have or 'f only'})"


class _OneRow:
    """A batched callable applied to one point, as a batch of one row."""

    def __init__(self, fn: Callable[..., object], name: str) -> None:
        self.fn, self.name = fn, name

    def __call__(self, *args: np.ndarray) -> np.ndarray:
        out = self.fn(*(np.asarray(a)[None, :] for a in args))
        arr = np.asarray(out, dtype=np.float64) if _is_numeric(out) else None
        if arr is None or arr.ndim != 2 or arr.shape[0] != 1:
            raise ValueError(f"{self.name} returned {_describe(out)}; expected shape (1, n) for one row")
        return arr[0]


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
