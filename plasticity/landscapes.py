"""The public landscape API under a short name: ``from plasticity.landscapes import from_torch``.

A re-export of :mod:`plasticity.numerics.landscapes` (one implementation, two import paths,
one list of names: that package's ``__all__``): the :class:`Landscape` protocol, the built-in
landscapes, and the PyTorch and JAX adapters :func:`from_torch` and :func:`from_jax` (which
import torch / jax only when called).
"""

from plasticity.numerics import landscapes as _landscapes
from plasticity.numerics.landscapes import *  # noqa: F403 - the re-export is the point

__all__ = [name for name in _landscapes.__all__ if not name.startswith("_")]
