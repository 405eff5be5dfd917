"""Numerics: landscapes, exact curvature, plasticity rules and the batched dynamics engine."""
