"""Loss landscapes behind one small interface: loss, gradient, Hessian-vector product, N.

Every curvature estimator and plasticity rule works against the :class:`Landscape`
protocol, so the same code runs on a quadratic bowl, the paper's student-teacher networks
and a user's own function.  Implementations:

* :class:`Quadratic` -- ``F(w) = ½ (w - w*)ᵀ H (w - w*)`` from a dense or eigen-decomposed H;
* :class:`NetworkLandscape` -- student-teacher MSE of the paper's networks, exact derivatives;
* :class:`FunctionLandscape` -- a user's callables, central finite differences fill the gaps;
* :class:`ExpressionLandscape` -- a SymPy expression, exact derivatives by differentiation;
* :func:`from_torch` -- a PyTorch model and loss (:class:`TorchLandscape`, ``torch.func``
  autodiff; needs the ``torch`` extra);
* :func:`from_jax` -- a JAX loss over a parameter pytree (:class:`JaxLandscape`, ``jax``
  autodiff; needs the ``jax`` extra).

torch and jax are imported only when a landscape of theirs is built.

All inputs are checked: a point of the wrong length, a non-finite value or a callable that
returns NaN or the wrong shape raises ``ValueError`` naming the problem.
"""

from plasticity.numerics.landscapes.base import (
    EPS,
    Landscape,
    _check_square_symmetric,
    check_batch,
    check_directions,
    check_point,
    hvp_batch,
    loss_grad_batch,
    quad_form_batch,
)
from plasticity.numerics.landscapes.expression import ExpressionLandscape
from plasticity.numerics.landscapes.function import FunctionLandscape
from plasticity.numerics.landscapes.jax_model import JaxLandscape, from_jax
from plasticity.numerics.landscapes.network import NetworkLandscape
from plasticity.numerics.landscapes.quadratic import Quadratic
from plasticity.numerics.landscapes.torch_model import TorchLandscape, from_torch

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
    "check_batch",
    "check_point",
    "check_directions",
    "hvp_batch",
    "loss_grad_batch",
    "quad_form_batch",
    "_check_square_symmetric",
]
