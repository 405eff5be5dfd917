"""Claims that the closed forms match an independent numeric computation: eq8 and var_dF
against Monte Carlo, eq6 against numeric minimisation, eq9a/eq9b against root finding, eq10."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from hypothesis import strategies as st

from plasticity.checks import strategies as cs
from plasticity.checks.claims.helpers import EPS, Z_MC, ExplicitStep, _f, cf, quad_Q, sphere
from plasticity.checks.claims.registry import Outcome, check_property, claim
from plasticity.checks.profiles import Profile

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
    conditions=(
        "quadratic F (second-order expansion exact)",
        "Δε uniform on the sphere of radius ‖Δε‖",
        "ground truth: ΔF of the explicit quadratic step, sampled (Monte Carlo)",
    ),
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
    conditions=(
        "quadratic F",
        "Δε uniform on the sphere of radius ‖Δε‖",
        "ground truth: the sample variance of the explicit quadratic step's ΔF",
    ),
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


class _RawStep(ExplicitStep):
    """The explicit step (:class:`ExplicitStep`) of a drawn quadratic state, in a random downhill
    direction.  The curvature, gradient and trace fed to the closed forms come from the
    toolkit's own numerics (numerics.curvature on a numerics.landscapes.Quadratic), so both the
    closed forms and the product are checked against the model's definition."""

    def __init__(self, state: cs.QuadraticState, seed: int) -> None:
        from plasticity.numerics import curvature
        from plasticity.numerics.landscapes import Quadratic

        H, n = state.hessian.H, state.hessian.n
        land = Quadratic(H=H, w_star=state.w_star)
        chat = sphere(np.random.default_rng(seed), 1, n)[0]
        g = land.grad(state.w)
        chat = -chat if g @ chat > 0 else chat  # compensation points downhill
        trace = float(curvature.trace_over_n(land, state.w, exact=True).value)
        super().__init__(H, state.w - state.w_star, chat, trace_over_n=trace)
        self.grad_dot_chat = float(g @ chat)
        self.Q_c = float(curvature.Q(land, state.w, chat))

    def minimum(self, e: float) -> tuple[float, float, float]:
        """(s*, E[ΔF](s*), δ): the numeric minimiser, its value, and its flatness δ."""
        s_star, value = self.argmin(e)
        return s_star, value, self.flatness(e, s_star, value, self.Q_c)


def _raw_strategy(profile: Profile) -> st.SearchStrategy[Any]:
    return st.tuples(
        cs.quadratic_states(cs.dimensions(2, profile.max_dim), bias="random", max_condition=1e2),
        cs.seeds(),
        cs.reals(0.05, 2.0),  # ‖Δε‖
    )


@claim(
    "eq6_numeric_minimum",
    "On an explicit quadratic, the step magnitude ‖Δc‖ that minimises the expected one-step ΔF "
    "(found by brute-force minimisation) is eq6's ‖Δc‖* = −∇F·Δĉ / Q[Δc]",
    conditions=(
        "Q[Δc] > 0 and ∇F·Δĉ < 0 (∇²F ≻ 0, Δc downhill)",
        "ground truth: F(w + sĉ) − F(w) + ½‖Δε‖²Tr(H)/N evaluated from the quadratic's definition and "
        "minimised numerically (not eq8)",
    ),
    expected="holds under condition",
    tags=("closed form", "raw model"),
)
def _eq6_numeric_minimum(profile: Profile) -> Outcome:
    def evaluate(example: Any) -> tuple[float, dict[str, Any]]:
        state, seed, e = example
        step = _RawStep(state, seed)
        numeric, _, delta = step.minimum(e)
        closed = _f(cf("optimal_c_norm")(step.grad_dot_chat, step.Q_c))
        tol = 10.0 * delta  # 10 δ: the flatness of the minimum (see _RawStep.argmin)
        err = abs(numeric - closed)
        return 1.0 - err / tol, {"numeric_argmin": numeric, "eq6": closed, "error": err, "tolerance": tol}

    return check_property(
        _raw_strategy(profile), evaluate, profile, tolerance="10·√(2ε|E[ΔF]|/Q[Δc]): flatness of the minimum"
    )


@claim(
    "eq9a_steady_state",
    "On an explicit quadratic, the fluctuation size ‖Δε‖ at which the best step just balances "
    "(min over ‖Δc‖ of E[ΔF] = 0, found numerically) gives ‖Δc‖*/‖Δε‖ = eq9a's √(Q[Δε]/Q[Δc]); "
    "eq9b's rate ratio is the same",
    conditions=(
        "Q[Δε] > 0 and Q[Δc] > 0 (∇²F ≻ 0)",
        "ground truth: root finding in ‖Δε‖ on the quadratic's own expected ΔF, minimised numerically "
        "over ‖Δc‖ (not eq6 or eq8)",
    ),
    expected="holds under condition",
    tags=("closed form", "raw model"),
)
def _eq9a_steady_state(profile: Profile) -> Outcome:
    from scipy.optimize import brentq

    def evaluate(example: Any) -> tuple[float, dict[str, Any]]:
        state, seed, _ = example
        step = _RawStep(state, seed)
        # min over s of E[ΔF] rises with e from its (negative) noise-free value: bracket its root
        hi = 1.0
        while step.argmin(hi)[1] < 0:
            hi *= 2.0
        e_star = brentq(lambda e: step.argmin(e)[1], 0.0, hi, xtol=1e-14, rtol=1e-13, maxiter=500)
        s_star, _, delta = step.minimum(e_star)
        numeric = s_star / e_star
        closed = _f(cf("steady_state_ratio")(step.trace_over_n, step.Q_c))
        rate = _f(cf("steady_state_rate_ratio")(step.trace_over_n, step.Q_c))
        # the minimiser's flatness δ (and brentq's 1e-13) relative to e*; 10 of them
        tol = 10.0 * (delta / e_star + 1e-13) * max(1.0, numeric)
        err = max(abs(numeric - closed), abs(rate - closed))
        return 1.0 - err / tol, {"numeric_ratio": numeric, "eq9a": closed, "eq9b": rate, "tolerance": tol}

    return check_property(
        _raw_strategy(profile), evaluate, profile, tolerance="10× the minimiser's flatness relative to ‖Δε‖*"
    )


@claim(
    "eq10_learning_raises",
    "On an explicit quadratic, wherever the best step still lowers the error (E[ΔF] < 0 at the "
    "numeric minimiser), eq10 recovers that minimiser's ‖Δc‖* from E[ΔF], and it exceeds the "
    "steady-state ‖Δε‖·√(Q[Δε]/Q[Δc])",
    conditions=(
        "Q[Δε] > 0, Q[Δc] > 0 (∇²F ≻ 0)",
        "E[ΔF] ≤ 0 at the optimum (learning)",
        "ground truth: the quadratic's own expected ΔF, minimised numerically (not eq8)",
    ),
    expected="holds under condition",
    tags=("closed form", "raw model"),
)
def _eq10_learning_raises(profile: Profile) -> Outcome:
    def evaluate(example: Any) -> tuple[float, dict[str, Any]]:
        state, seed, e = example
        step = _RawStep(state, seed)
        s_star, value, delta = step.minimum(e)
        if value > 0:  # the fluctuations outweigh the best step: not learning, eq10 not claimed
            return 1.0, {"E_dF": value, "note": "E[ΔF] > 0 at the optimum: outside eq10's condition"}
        c = _f(cf("learning_c_norm")(e, step.trace_over_n, step.Q_c, min(value, 0.0)))
        steady = e * _f(cf("steady_state_ratio")(step.trace_over_n, step.Q_c))
        tol = 10.0 * delta
        m_recover = 1.0 - abs(c - s_star) / tol
        # c ≥ steady, up to the same allowance
        m_raise = (c - steady + tol) / tol
        return min(m_recover, m_raise), {
            "eq10_c_norm": c,
            "numeric_argmin": s_star,
            "steady_c_norm": steady,
            "E_dF": value,
        }

    return check_property(
        _raw_strategy(profile), evaluate, profile, tolerance="10·√(2ε|E[ΔF]|/Q[Δc]): flatness of the minimum"
    )
