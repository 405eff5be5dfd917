"""What the framework adapters share: the Landscape protocol's checked, batched methods over
the transforms each framework supplies, and the dense Hessian assembled from HVPs.

:class:`AutodiffLandscape` is the base of
:class:`~plasticity.numerics.landscapes.torch_model.TorchLandscape` and
:class:`~plasticity.numerics.landscapes.jax_model.JaxLandscape`.  A subclass supplies one
Hessian-vector product (``_hvp_one``), its chunked evaluation over blocks of rows
(``_chunked``) and four vectorised transforms: ``_hvp_many`` (one w, many v), ``_hvp_pairs``
(row-paired w and v), ``_loss_many`` and ``_grad_many`` (many w).  Everything a user calls
is checked here, once, for both frameworks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from plasticity.numerics.landscapes.base import check_batch, check_directions, check_point

__all__ = ["CHUNK_ELEMENTS", "HESSIAN_MAX_N", "MAX_CHUNK", "AutodiffLandscape", "default_chunk", "first_line"]

#: largest N for which ``hessian`` assembles the dense N×N matrix (N² float64 = 200 MB here)
HESSIAN_MAX_N = 5000
#: rows of data × N × vmap chunk targeted by :func:`default_chunk`
CHUNK_ELEMENTS = 2**30
#: the largest default vmap chunk (small models: the per-call overhead is what vmap saves)
MAX_CHUNK = 32


def default_chunk(rows: int, n: int) -> int:
    """The vmap chunk for ``rows`` data rows and N parameters: CHUNK_ELEMENTS/(rows·N) within
    [1, MAX_CHUNK], so that batched products stay within a fixed memory whatever the model
    (rows × N stands in for the unknown size of the activations; at N = 10⁵ on 1797 rows a
    vmap over 32 directions was both slower per product and ~3 GB larger than over 4)."""
    return max(1, min(MAX_CHUNK, CHUNK_ELEMENTS // max(1, rows * n)))


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type where it has none): the adapters
    report a framework's failure in one line."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class AutodiffLandscape:
    """The checked, batched half of an autodiff landscape (see the module docstring)."""

    n: int
    _hvp_many: Callable[..., Any]
    _hvp_pairs: Callable[..., Any]
    _loss_many: Callable[..., Any]
    _grad_many: Callable[..., Any]

    def _hvp_one(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _chunked(
        self, what: str, fn: Callable[..., Any], *blocks: np.ndarray
    ) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def hvp(self, w: np.ndarray, v: np.ndarray) -> np.ndarray:
        """∇²F(w)·v for v (n,) or (k, n), exact (forward over reverse), vectorised over rows."""
        w = check_point(w, self.n)
        v = check_directions(v, self.n)
        if v.ndim == 1:
            return self._hvp_one(w, v)
        return self._chunked("∇²F·v", self._hvp_many, w, v)

    def hvp_batch(self, W: np.ndarray, V: np.ndarray) -> np.ndarray:
        """Row-paired ∇²F(W[i])·V[i], vectorised."""
        W = check_batch(W, self.n)
        V = check_batch(V, self.n, "V")
        if V.shape != W.shape:
            raise ValueError(f"V must have the shape of W {W.shape}; got {V.shape}")
        return self._chunked("∇²F·v", self._hvp_pairs, W, V)

    def hessian(self, w: np.ndarray) -> np.ndarray:
        """∇²F(w) dense, from HVPs of basis vectors; refused above N = HESSIAN_MAX_N."""
        if self.n > HESSIAN_MAX_N:
            raise ValueError(
                f"the dense Hessian of N={self.n} parameters needs {self.n}² numbers "
                f"(limit N ≤ {HESSIAN_MAX_N}); use HVPs (hvp, or the curvature estimators) instead"
            )
        from plasticity.numerics.curvature import dense_hessian

        return dense_hessian(self, w)

    def loss_batch(self, W: np.ndarray) -> np.ndarray:
        """F at each row of W (k, n)."""
        return self._chunked("F", self._loss_many, check_batch(W, self.n))

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        """∇F at each row of W (k, n)."""
        return self._chunked("∇F", self._grad_many, check_batch(W, self.n))
