"""SymPy derivations of every result of the optimal-plasticity theory.

Each module registers :class:`~derivations.core.Result` objects by id (``eq6``, ``si_noisy``,
...).  Use :func:`get` for a result, :func:`numeric` for its validated numpy form, or the
named functions in :mod:`plasticity.derivations.closed_forms`.
"""

from __future__ import annotations

import importlib

from plasticity.derivations.core import Check, Condition, Result, Step, all_results, get, ids, numeric

#: modules that register derivations (imported on first use of the registry)
MODULE_NAMES: tuple[str, ...] = (
    "expansion",  # eq2, eq3, eq4, eq5, eq8
    "optimum",  # eq6, eq9a, eq9b, eq10, eq11, app1
    "curvature",  # eq12, eq13, eq14, si_mean_hessian, si_newton, si_noisy, si_zeroth_order,
    #               si_positivity, lemma_average_case
    "summary",  # table2
    "variance",  # var_dF
    "supplement",  # si_steady_positivity, si_independent_mean, si_linear_beeline
)


def _import_all() -> tuple[object, ...]:
    return tuple(importlib.import_module(f".{name}", __name__) for name in MODULE_NAMES)


MODULES = _import_all()

__all__ = ["Check", "Condition", "Result", "Step", "all_results", "get", "ids", "numeric"]
