"""Claims that are not universal: Hypothesis must find (and shrink) a counterexample."""

from __future__ import annotations

from typing import Any

import numpy as np

from plasticity.checks import strategies as cs
from plasticity.checks.claims.helpers import _cond, _f, _gradient_Q, _rounding_tol, cf
from plasticity.checks.claims.registry import Outcome, claim, search_counterexample
from plasticity.checks.profiles import Profile

# --------------------------------------------------------------------------- expected counterexamples


def _values(state: cs.QuadraticState) -> tuple[float, float]:
    """(Q[∇F], Tr/N) of a quadratic state: the two sides every claim here compares."""
    return _gradient_Q(state), state.hessian.trace_over_n


@claim(
    "counterexample_flat_projections",
    "Q[∇F] ≥ Tr/N is not universal: with w − w* biased towards flat directions Q[∇F] < Tr/N "
    "and gradient compensation should outcompete fluctuations",
    conditions=(
        "quadratic F, ∇²F ≻ 0",
        "projections biased to flat eigen-directions",
        "ground truth: the Rayleigh quotient of the explicit H",
    ),
    expected="counterexample expected",
    tags=("counterexample",),
)
def _cex_flat(profile: Profile) -> Outcome:
    strategy = cs.quadratic_states(cs.dimensions(2, profile.max_dim), bias="flat")

    def margin(state: cs.QuadraticState) -> float:
        # relative slack of Q[∇F] ≥ Tr/N plus its rounding allowance: < 0 exactly when
        # Q[∇F] < Tr/N·(1 − 100·N·κ·ε), i.e. decidedly below
        q, tr_n = _values(state)
        return (q - tr_n) / tr_n + _rounding_tol(state.hessian.n, _cond(state.hessian.eigvals))

    def describe(state: cs.QuadraticState) -> dict[str, Any]:
        q, tr_n = _values(state)
        return {
            "eigvals": state.hessian.eigvals,
            "c": state.c,
            "Q_gradient": q,
            "eq13": _f(cf("Q_gradient_quadratic")(state.hessian.eigvals, state.c)),
            "trace_over_n": tr_n,
            "eq9a_ratio": _f(cf("steady_state_ratio")(tr_n, q)),
        }

    return search_counterexample(
        strategy,
        margin,
        describe,
        profile,
        tolerance="Q[∇F] < Tr/N beyond 100·N·κ·ε relative rounding",
    )


@claim(
    "counterexample_indefinite",
    "Eq 9 does not apply everywhere: at a state with an indefinite Hessian Q[∇F] or Tr/N can be "
    "negative (decidedly, beyond rounding), and the closed form refuses it (its conditions "
    "Q[Δc] > 0, Q[Δε] > 0 are violated) instead of returning a number",
    conditions=("∇²F indefinite", "ground truth: the Rayleigh quotient of the explicit H"),
    expected="counterexample expected",
    tags=("counterexample",),
)
def _cex_indefinite(profile: Profile) -> Outcome:
    strategy = cs.quadratic_states(cs.dimensions(2, profile.max_dim), kind="indefinite", bias="random")

    def margin(state: cs.QuadraticState) -> float:
        # eq9a needs Q[∇F] > 0 and Tr/N > 0.  Both are computed with an absolute rounding error
        # up to 100·N·κ·ε·max|λ|, so a value within that of 0 cannot tell "= 0" from "> 0": it
        # is undecided, and no counterexample.  The margin, min(Q[∇F], Tr/N)/max|λ| plus that
        # allowance, is < 0 exactly when one of them is decidedly negative.
        q, tr_n = _values(state)
        lam = state.hessian.eigvals
        scale = float(np.abs(lam).max())
        return min(q, tr_n) / scale + _rounding_tol(state.hessian.n, _cond(lam))

    def describe(state: cs.QuadraticState) -> dict[str, Any]:
        q, tr_n = _values(state)
        try:
            value = _f(cf("steady_state_ratio")(tr_n, q))
            refused = None
        except ValueError as exc:
            value, refused = None, str(exc)
        return {
            "eigvals": state.hessian.eigvals,
            "c": state.c,
            "Q_gradient": q,
            "trace_over_n": tr_n,
            "eq9a_value": value,
            "eq9a_refused": refused,
        }

    out = search_counterexample(
        strategy,
        margin,
        describe,
        profile,
        tolerance="min(Q[∇F], Tr/N) < 0 beyond 100·N·κ·ε·max|λ| absolute rounding",
    )
    if out.ok and out.evidence.get("eq9a_refused") is None:
        # the closed form silently evaluated outside its conditions: that is a failure
        out.ok = False
        out.evidence["note"] = "steady_state_ratio returned a value where its conditions fail"
    return out


@claim(
    "counterexample_beyond_pairwise",
    "eq14's inequality Σλ³/Σλ² ≥ Tr/N needs λᵢ + λⱼ ≥ 0 for every pair: just outside that domain "
    "(one eigenvalue a little below −λ₂) equal projections can give Q[∇F] < Tr/N",
    conditions=(
        "equal projections cᵢ",
        "one pair with λᵢ + λⱼ < 0 (by at most half of λ₂)",
        "ground truth: the Rayleigh quotient of the explicit H",
    ),
    expected="counterexample expected",
    tags=("counterexample",),
)
def _cex_beyond_pairwise(profile: Profile) -> Outcome:
    strategy = cs.quadratic_states(cs.dimensions(2, profile.max_dim), kind="beyond pairwise", bias="equal")

    def margin(state: cs.QuadraticState) -> float:
        # the eq14 claim's own margin (relative to max|λ|, with its rounding allowance)
        q, tr_n = _values(state)
        lam = state.hessian.eigvals
        return (q - tr_n) / float(np.abs(lam).max()) + _rounding_tol(state.hessian.n, _cond(lam))

    def describe(state: cs.QuadraticState) -> dict[str, Any]:
        q, tr_n = _values(state)
        lam = state.hessian.eigvals
        return {
            "eigvals": lam,
            "pairwise_min": float(lam[0] + lam[1]),
            "Q_gradient": q,
            "eq14": _f(cf("Q_gradient_equal_projections")(lam)),
            "trace_over_n": tr_n,
        }

    return search_counterexample(
        strategy, margin, describe, profile, tolerance="Q[∇F] < Tr/N beyond 100·N·κ·ε·max|λ|"
    )
