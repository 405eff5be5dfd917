"""The quadratic landscape F(w) = ½(w − w*)ᵀH(w − w*), from a dense or eigen-decomposed H."""

from __future__ import annotations

import numpy as np

from plasticity.numerics.landscapes.base import (
    _check_square_symmetric,
    _psd_tolerance,
    check_batch,
    check_directions,
    check_point,
)


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
