"""Claims that the closed forms match an independent numeric computation: eq8 and var_dF
against Monte Carlo, eq6 against numeric minimisation, eq9a/eq9b against root finding, eq10."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from checks import strategies as cs
from checks.claims.helpers import EPS, Z_MC, _f, cf, quad_Q, sphere
from checks.claims.registry import Outcome, check_property, claim
from checks.profiles import Profile

# --------------------------------------------------------------------------- closed forms vs numerics


def _mc_setup(profile: Profile) -> st.SearchStrategy[Any]:
    return st.tuples(
        cs.quadratic_states(cs.dimensions(2, profile.max_dim), bias="random", max_condition=1e2),
        cs.seeds(),
        cs.reals(0.0, 2.0),  # ‖Δc‖
        cs.reals(0.05, 2.0),  # ‖Δε‖
    )


def _mc_dF(example: Any, profile: Profile) -> dict[str, Any]:
    """ΔF over isotropic Δε on a quadratic, exactly (F is its own second-order expansion)."""
    state, seed, c_norm, eps_norm = example
    hess = state.hessian
    H, n = hess.H, hess.n
    rng = np.random.default_rng(seed)
    chat = sphere(rng, 1, n)[0]
    dc = c_norm * chat
    x = state.w - state.w_star
    eps = sphere(rng, profile.mc_samples, n, eps_norm)
    x1 = x + dc + eps
    F0 = 0.5 * x @ H @ x
    dF = 0.5 * np.einsum("ki,ij,kj->k", x1, H, x1) - F0
    g = state.grad
    a = g + H @ dc
    trace_H = float(np.trace(H))
    return {
        "n": n,
        "dF": dF,
        "c_norm": c_norm,
        "eps_norm": eps_norm,
        "grad_dot_chat": float(g @ chat),
        "Q_c": float(quad_Q(H, chat)[0]),
        "trace_H": trace_H,
        "trace_H2": float(np.sum(H * H)),
        "a_norm": float(np.linalg.norm(a)),
        "scale": float(abs(F0) + abs(g @ dc) + np.max(np.abs(hess.eigvals)) * (c_norm + eps_norm) ** 2),
    }


def _check_mc_dF(
    profile: Profile,
    compare: Callable[[dict[str, Any]], tuple[float, dict[str, Any]]],
    *,
    tolerance: str,
) -> Outcome:
    """Run ``compare`` (a sampled-ΔF record → margin, evidence) over the Monte Carlo examples;
    the evidence also carries the sample count and N."""

    def evaluate(example: Any) -> tuple[float, dict[str, Any]]:
        d = _mc_dF(example, profile)
        margin, evidence = compare(d)
        return margin, {**evidence, "samples": d["dF"].size, "n": d["n"]}

    return check_property(_mc_setup(profile), evaluate, profile, tolerance=tolerance)


@claim(
    "eq8_monte_carlo",
    "The sampled mean of ΔF over isotropic fluctuations Δε matches eq8's E[ΔF] "
    "(with E[Q[Δε]] = Tr/N from eq12)",
    conditions=("quadratic F (second-order expansion exact)", "Δε uniform on the sphere of radius ‖Δε‖"),
    tags=("closed form", "monte carlo"),
)
def _eq8_monte_carlo(profile: Profile) -> Outcome:
    def compare(d: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        q_eps = _f(cf("expected_Q_isotropic")(d["trace_H"], d["n"]))
        expected = _f(cf("expected_dF")(d["c_norm"], d["grad_dot_chat"], d["eps_norm"], d["Q_c"], q_eps))
        var = _f(cf("var_dF")(d["eps_norm"], d["a_norm"], d["trace_H"], d["trace_H2"], d["n"]))
        m = d["dF"].size
        se = math.sqrt(max(var, 0.0) / m)
        # Z_MC standard errors of the mean (from the derived variance) plus float64 rounding
        # of ΔF (a difference of quadratic forms of size `scale`, N terms each)
        tol = Z_MC * se + 10 * d["n"] * EPS * d["scale"]
        mean = float(d["dF"].mean())
        err = abs(mean - expected)
        return 1.0 - err / tol, {
            "sampled_mean": mean,
            "eq8": expected,
            "standard_error": se,
            "error_in_se": err / se if se > 0 else 0.0,
        }

    return _check_mc_dF(
        profile, compare, tolerance=f"{Z_MC:g} standard errors of the mean from var_dF (+ float64 rounding)"
    )


@claim(
    "var_dF_monte_carlo",
    "The sampled variance of ΔF over isotropic fluctuations matches the derived var_dF",
    conditions=("quadratic F", "Δε uniform on the sphere of radius ‖Δε‖"),
    tags=("closed form", "monte carlo"),
)
def _var_dF_monte_carlo(profile: Profile) -> Outcome:
    def compare(d: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        var = _f(cf("var_dF")(d["eps_norm"], d["a_norm"], d["trace_H"], d["trace_H2"], d["n"]))
        x = d["dF"] - d["dF"].mean()
        m = x.size
        s2 = float(np.mean(x**2)) * m / (m - 1)
        # standard error of the sample variance: sqrt((μ4 − σ⁴)/m), moments estimated
        se = math.sqrt(max(float(np.mean(x**4)) - s2**2, 0.0) / m)
        tol = Z_MC * se + 10 * d["n"] * EPS * d["scale"] ** 2
        err = abs(s2 - var)
        return 1.0 - err / tol, {
            "sample_variance": s2,
            "var_dF": var,
            "standard_error": se,
        }

    return _check_mc_dF(
        profile, compare, tolerance=f"{Z_MC:g} standard errors of the sample variance (4th moment estimated)"
    )


@claim(
    "eq6_numeric_minimum",
    "The magnitude ‖Δc‖ minimising E[ΔF] (eq8) numerically is eq6's ‖Δc‖* = −∇F·Δĉ / Q[Δc]",
    conditions=("Q[Δc] > 0", "∇F·Δĉ < 0 (Δc points downhill)"),
    expected="holds under condition",
    tags=("closed form",),
)
def _eq6_numeric_minimum(profile: Profile) -> Outcome:
    from scipy.optimize import minimize_scalar

    strategy = st.tuples(
        cs.reals(-10.0, -1e-3),  # ∇F·Δĉ
        cs.reals(1e-3, 1e3),  # Q[Δc]
        cs.reals(0.0, 2.0),  # ‖Δε‖
        cs.reals(1e-3, 1e3),  # Q[Δε]
    )

    def evaluate(example: Any) -> tuple[float, dict[str, Any]]:
        g, q_c, eps_norm, q_eps = example
        expected_dF = cf("expected_dF")

        def objective(k: float) -> float:
            return _f(expected_dF(abs(k), g, eps_norm, q_c, q_eps))

        res = minimize_scalar(objective, bracket=(0.0, 1.0), method="brent", tol=1e-12)
        numeric = abs(float(res.x))
        closed = _f(cf("optimal_c_norm")(g, q_c))
        # A minimum is flat: values within δ of it differ by ½Q[Δc]δ², invisible once that
        # is below the rounding ε·|E[ΔF]| of the objective, so no 1-D minimiser can locate it
        # better than δ = √(2ε|E|/Q[Δc]).  Tolerance: 10 δ (plus Brent's relative 1e-12).
        scale = abs(objective(numeric)) + abs(objective(0.0))
        tol = 10.0 * math.sqrt(2.0 * EPS * scale / q_c) + 1e-12 * closed
        err = abs(numeric - closed)
        return 1.0 - err / tol, {"numeric_argmin": numeric, "eq6": closed, "error": err, "tolerance": tol}

    return check_property(
        strategy, evaluate, profile, tolerance="10·√(2ε|E[ΔF]|/Q[Δc]): flatness of the minimum"
    )


@claim(
    "eq9a_steady_state",
    "At steady state (E[ΔF] = 0 with the eq6 optimum) the ratio ‖Δc‖*/‖Δε‖ is eq9a's "
    "√(Q[Δε]/Q[Δc]); eq9b's rate ratio is the same",
    conditions=("Q[Δε] > 0", "Q[Δc] > 0"),
    expected="holds under condition",
    tags=("closed form",),
)
def _eq9a_steady_state(profile: Profile) -> Outcome:
    from scipy.optimize import brentq

    strategy = st.tuples(cs.reals(1e-3, 1e3), cs.reals(1e-3, 1e3), cs.reals(1e-2, 10.0))
    # brentq with xtol=1e-300 and rtol=4ε finds the root to ~1e-15 relative; the ratio is a
    # smooth function of it, so 1e-9 relative is far above rounding and far below any
    # mutated closed form (a dropped square root or factor is an O(1) change)
    rel_tol = 1e-9

    def evaluate(example: Any) -> tuple[float, dict[str, Any]]:
        q_eps, q_c, eps_norm = example
        expected_dF, optimal = cf("expected_dF"), cf("optimal_c_norm")

        def at_optimum(g: float) -> float:
            return _f(expected_dF(_f(optimal(g, q_c)), g, eps_norm, q_c, q_eps))

        lo = -1e-12
        hi = -1.0
        while at_optimum(hi) > 0:  # make the bracket: steeper gradients make E[ΔF] negative
            hi *= 2.0
            if hi < -1e200:
                raise ArithmeticError("no gradient makes E[ΔF] negative at the eq6 optimum")
        g_star = brentq(at_optimum, hi, lo, xtol=1e-300, rtol=4 * EPS, maxiter=500)
        numeric = _f(optimal(g_star, q_c)) / eps_norm
        closed = _f(cf("steady_state_ratio")(q_eps, q_c))
        rate = _f(cf("steady_state_rate_ratio")(q_eps, q_c))
        err = max(abs(numeric - closed), abs(rate - closed)) / closed
        return 1.0 - err / rel_tol, {"numeric_ratio": numeric, "eq9a": closed, "eq9b": rate}

    return check_property(strategy, evaluate, profile, tolerance=f"relative {rel_tol:g} (root finding)")


@claim(
    "eq10_learning_raises",
    "During learning (E[ΔF] < 0) eq10's optimal ‖Δc‖* gives that E[ΔF] at the eq6 optimum "
    "and exceeds the steady-state ‖Δε‖·√(Q[Δε]/Q[Δc])",
    conditions=("Q[Δε] > 0", "Q[Δc] > 0", "E[ΔF] ≤ 0"),
    expected="holds under condition",
    tags=("closed form",),
)
def _eq10_learning_raises(profile: Profile) -> Outcome:
    strategy = st.tuples(cs.reals(1e-2, 10.0), cs.reals(1e-3, 1e3), cs.reals(1e-3, 1e3), cs.reals(0.0, 10.0))

    def evaluate(example: Any) -> tuple[float, dict[str, Any]]:
        eps_norm, q_eps, q_c, minus_dF = example
        dF = -minus_dF
        c = _f(cf("learning_c_norm")(eps_norm, q_eps, q_c, dF))
        g = -q_c * c  # the gradient projection for which c is eq6's optimum
        back = _f(cf("expected_dF")(c, g, eps_norm, q_c, q_eps))
        steady = eps_norm * _f(cf("steady_state_ratio")(q_eps, q_c))
        scale = abs(dF) + eps_norm**2 * q_eps
        # a few roundings of quantities of size `scale`
        tol = 64 * EPS * scale
        m_consistent = 1.0 - abs(back - dF) / tol
        # c ≥ steady, up to the relative rounding of a square root
        m_raise = (c - steady) / steady + 16 * EPS
        return min(m_consistent, m_raise), {
            "eq10_c_norm": c,
            "steady_c_norm": steady,
            "E_dF_back": back,
            "E_dF": dF,
        }

    return check_property(
        strategy, evaluate, profile, tolerance="64 ε·scale for E[ΔF] round trip; 16 ε relative for c ≥ c_ss"
    )
