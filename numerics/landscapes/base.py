"""The Landscape protocol, input checks shared by every implementation, and batch helpers
that work on any landscape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

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
