"""The public landscape API under a short name: ``from plasticity.landscapes import from_torch``.

A re-export of :mod:`plasticity.numerics.landscapes` (one implementation, two import paths):
the :class:`Landscape` protocol, the built-in landscapes, and the PyTorch and JAX adapters
:func:`from_torch` and :func:`from_jax` (which import torch / jax only when called).
"""

from plasticity.numerics.landscapes import (
    EPS,
    ExpressionLandscape,
    FunctionLandscape,
    JaxLandscape,
    Landscape,
    NetworkLandscape,
    Quadratic,
    TorchLandscape,
    from_jax,
    from_torch,
    hvp_batch,
    loss_grad_batch,
    quad_form_batch,
)

__all__ = [
    "EPS",
    "Landscape",
    "Quadratic",
    "NetworkLandscape",
    "FunctionLandscape",
    "ExpressionLandscape",
    "TorchLandscape",
    "JaxLandscape",
    "from_torch",
    "from_jax",
    "hvp_batch",
    "loss_grad_batch",
    "quad_form_batch",
]
