"""The closed forms, by name, as validated numpy functions.

Every function here is the ``lambdify``'d closed form of a derived result (see
:mod:`plasticity.derivations.core`); nothing is typed by hand.  Arguments are keyword-compatible with
the symbol names of the result.  Array arguments (``lam``, ``c``, ``d``) are summed over
their last axis.  Each name is resolved on first call so importing this module is cheap.

``raw(name)`` returns the unvalidated function for hot loops.  ``applies(name, ...)`` is
the elementwise mask of where a closed form's conditions hold, and ``where_applies(name,
...)`` evaluates it there and gives NaN elsewhere: the one answer to "does eqN apply".
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

import numpy as np

from plasticity.derivations.core import get

#: public name -> (result id, argument names in order)
SIGNATURES: dict[str, tuple[str, tuple[str, ...]]] = {
    # eq2: dF ≈ g·dw + ½ dwᵀH dw
    "second_order_dF": ("eq2", ("g_dot_dw", "dw_H_dw")),
    # eq4: expected dF of a task-independent change: ‖Δw‖² Tr(H) / (2N)
    "fluctuation_dF": ("eq4", ("dw_norm", "trace_H", "n")),
    # eq5: Q[v] = vᵀHv / ‖v‖²
    "curvature_Q": ("eq5", ("v_H_v", "v_norm")),
    # eq8: E[dF] = ‖Δc‖ ∇F·Δĉ + ½‖Δc‖² Q[Δc] + ½‖Δε‖² Q[Δε]
    "expected_dF": ("eq8", ("c_norm", "grad_dot_chat", "eps_norm", "Q_c", "Q_eps")),
    # eq6: ‖Δc‖* = −∇F·Δĉ / Q[Δc]
    "optimal_c_norm": ("eq6", ("grad_dot_chat", "Q_c")),
    # eq9a / eq9b: ‖Δc‖*/‖Δε‖ = sqrt(Q[Δε]/Q[Δc])
    "steady_state_ratio": ("eq9a", ("Q_eps", "Q_c")),
    "steady_state_rate_ratio": ("eq9b", ("Q_eps", "Q_c")),
    # eq10: ‖Δc‖*² = (‖Δε‖² Q[Δε] − 2 E[dF]) / Q[Δc]  (returns ‖Δc‖*)
    "learning_c_norm": ("eq10", ("eps_norm", "Q_eps", "Q_c", "expected_dF")),
    # eq11: main claim ‖Δc‖* ≤ ‖Δε‖  ⇔  Q[Δc] ≥ Q[Δε]   (boolean)
    "main_claim_holds": ("eq11", ("Q_c", "Q_eps")),
    # eq12: E[Q[Δε]] = Tr(H)/N
    "expected_Q_isotropic": ("eq12", ("trace_H", "n")),
    # eq13: Q[∇F] on a quadratic = Σλ³c² / Σλ²c²
    "Q_gradient_quadratic": ("eq13", ("lam", "c")),
    # eq14: equal projections: Σλ³/Σλ²  (≥ Σλ/N)
    "Q_gradient_equal_projections": ("eq14", ("lam",)),
    # si_mean_hessian: Q[∇F] = Σλ d² / Σ d²
    "Q_gradient_mean_hessian": ("si_mean_hessian", ("lam", "d")),
    # si_independent_mean: Var Q[∇F] for a uniformly oriented ∇F: 2(Tr(H²)/N − (Tr H/N)²)/(N+2)
    "Q_independent_variance": ("si_independent_mean", ("trace_H", "trace_H2", "n")),
    # si_linear_beeline: quadratic loss, Newton step = w* − w: Q[Δc] = Σλc²/Σc²
    "Q_newton_linear": ("si_linear_beeline", ("lam", "c")),
    # si_newton: M independent of H, equal projections: Σλ⁻¹ / Σλ⁻²
    "Q_newton_independent": ("si_newton", ("lam",)),
    # si_noisy: ratio of expectations (a²Q̃ + b²Qν)/(a² + b²), a=‖Δc̃‖, b=‖ν‖
    "Q_noisy_expected": ("si_noisy", ("tilde_norm", "nu_norm", "Q_tilde", "Q_nu")),
    # si_zeroth_order: E[Q[Δc]] = Tr(H)/N
    "expected_Q_zeroth_order": ("si_zeroth_order", ("trace_H", "n")),
    # si_steady_positivity: steady state at the optimum: Q[Δc] = (∇F·Δĉ)²/(‖Δε‖²Q[Δε])
    "steady_state_Q_c": ("si_steady_positivity", ("grad_dot_chat", "eps_norm", "Q_eps")),
    # var_dF: Var ΔF for Δε uniform on the sphere
    "var_dF": ("var_dF", ("eps_norm", "a_norm", "trace_H", "trace_H2", "n")),
}


def _resolve(name: str, validate: bool) -> Callable[..., np.ndarray]:
    result_id, expected = SIGNATURES[name]
    result = get(result_id)
    if result.arg_names != expected:
        raise RuntimeError(
            f"{name}: result {result_id} has arguments {result.arg_names}, expected {expected}"
        )
    return result.numeric(validate)


@functools.cache
def raw(name: str) -> Callable[..., np.ndarray]:
    """The unvalidated numeric form of ``name`` (for hot loops with known-good inputs).

    Looked up once per name: resolving hashes the derived result, which costs milliseconds,
    and hot loops call this on every step."""
    return _resolve(name, validate=False)


@functools.cache
def _domain_of(name: str) -> Callable[..., np.ndarray]:
    return get(SIGNATURES[name][0]).domain()


def applies(name: str, *args: object) -> np.ndarray:
    """Boolean mask, broadcast over the (scalar) arguments: where the closed form ``name``
    applies (finite inputs of the signs its symbols demand, its conditions' relations true).

    eq9a (``steady_state_ratio``), for instance, applies exactly where Q[Δε] > 0 and Q[Δc] > 0.
    """
    if name not in SIGNATURES:
        raise ValueError(f"unknown closed form {name!r}; known: {', '.join(SIGNATURES)}")
    return _domain_of(name)(*args)


def where_applies(name: str, *args: object) -> np.ndarray:
    """The closed form ``name`` evaluated where it :func:`applies`, NaN elsewhere (float array).

    The form is looked up on this module at call time (the validated one), so a test that
    replaces ``closed_forms.<name>`` reaches every caller.
    """
    ok = applies(name, *args)
    values = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args))
    out = np.full(ok.shape, np.nan)
    if ok.any():
        fn = getattr(sys.modules[__name__], name)
        out[ok] = np.asarray(fn(*(v[ok] for v in values)), dtype=float)
    return out


def __getattr__(name: str) -> Callable[..., np.ndarray]:
    if name in SIGNATURES:
        fn = _resolve(name, validate=True)
        globals()[name] = fn
        return fn
    raise AttributeError(f"module 'plasticity.derivations.closed_forms' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *SIGNATURES])
