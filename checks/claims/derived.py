"""Claims for the SI arguments the toolkit derives itself: si_steady_positivity against numeric
minimisation of the model's own expected ΔF, si_independent_mean against Monte Carlo over
Haar-random orientations, and si_linear_beeline against a linear solve and Monte Carlo over
isotropic displacements.  Each closed form is compared with a quantity computed another way,
named in the claim's conditions; nothing is compared with itself.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from plasticity.checks import strategies as cs
from plasticity.checks.claims.helpers import (
    EPS,
    Z_MC,
    ExplicitStep,
    _cond,
    _f,
    _rounding_tol,
    cf,
    downhill,
    within_standard_errors,
)
from plasticity.checks.claims.registry import Outcome, check_property, claim
from plasticity.checks.profiles import Profile

#: magnitudes at which the numeric minimisation of a Q[Δc] ≤ 0 step is bounded: a finite
#: minimiser would show up as a bounded minimiser away from the bound at the larger ones
LADDER = (1.0, 10.0, 100.0, 1000.0)
#: absolute x-tolerance of the bounded minimiser, relative to the bound S
XATOL = 1e-9


def no_minimiser_margin(
    step: ExplicitStep, e: float, rounding: float
) -> tuple[float, list[float], list[float]]:
    """Margin of "the expected ΔF of ``step`` has no finite minimiser in ‖Δc‖ ≥ 0", by numeric minimisation.

    On each bound S of :data:`LADDER`, ``scipy.optimize.minimize_scalar`` (bounded) must return a
    minimiser at the bound S, and the minimum must keep falling from one bound to the next.
    Returns (margin, bounded minimisers, minimum values); the margin is < 0 when some bounded
    minimiser sits inside its interval (a finite minimiser) or the minimum stops falling.
    ``rounding`` is the relative float64 allowance on the values.
    """
    from scipy.optimize import minimize_scalar

    found: list[float] = []
    values: list[float] = []
    margins: list[float] = []
    for S in LADDER:
        res = minimize_scalar(
            lambda s: step.expected_dF(s, e), bounds=(0.0, S), method="bounded", options={"xatol": XATOL * S}
        )
        s_S = float(res.x)
        found.append(s_S)
        values.append(step.expected_dF(s_S, e))
        # the bounded method stops within 2(√ε·S + xatol/3) of a minimiser at the bound (its
        # termination rule); 10× that: a finite minimiser below S sits far outside it
        margins.append(1.0 - (S - s_S) / (10.0 * (math.sqrt(EPS) * S + XATOL * S)))
    # the minimum keeps falling as the bound grows: each drop is ≤ ∇F·Δĉ·(S' − S) < 0 when
    # Q[Δc] ≤ 0; allowed: the rounding of the two values
    for k in range(len(values) - 1):
        allow = rounding * (abs(values[k]) + abs(values[k + 1]) + abs(step.F0))
        margins.append((values[k] - values[k + 1] + allow) / allow)
    return min(margins), found, values


@claim(
    "steady_positivity_minimiser",
    "On explicit quadratics, (i) a downhill step direction with Q[Δc] ≤ 0 at a state with Tr ∇²F > 0 "
    "has no finite minimiser of the one-step expected ΔF in ‖Δc‖; (ii) with ∇²F ≻ 0, the steady state "
    "at the numerically optimal magnitude has Q[Δc] = (∇F·Δĉ)²/(‖Δε‖²Q[Δε]) (si_steady_positivity)",
    conditions=(
        "∇F·Δĉ < 0; Q[Δε] = Tr(∇²F)/N > 0; (ii) ∇²F ≻ 0; (i) ∇²F indefinite with Tr > 0, Q[Δc] < 0",
        "ground truth: F(w + sĉ) − F(w) + ½‖Δε‖²Tr(H)/N evaluated from the explicit quadratic (not eq8), "
        "minimised by scipy.optimize.minimize_scalar (bounded, on growing bounds, for (i)); for (ii) "
        "brentq on ‖Δε‖ for a zero minimum and Q[Δc] = ĉᵀHĉ of the explicit H",
    ),
    expected="holds under condition",
    tags=("derived", "raw model"),
)
def _steady_positivity(profile: Profile) -> Outcome:
    from scipy.optimize import brentq

    strategy = st.tuples(
        cs.hessians(cs.dimensions(2, profile.max_dim), kind="positive definite", max_condition=1e2),
        cs.hessians(cs.dimensions(2, profile.max_dim), kind="indefinite", max_condition=1e2),
        cs.seeds(),
        cs.reals(0.0, 1.0),  # mixing of a random direction into the most negative eigenvector
    )

    def evaluate(example: tuple[cs.SymmetricHessian, cs.SymmetricHessian, int, float]) -> tuple[float, dict]:
        pd, ind, seed, mix = example
        assume(float(np.sum(ind.eigvals)) > 0)  # partially trained: Q[Δε] = Tr/N > 0
        rng = np.random.default_rng(seed)
        # (ii) positive definite: the steady state's Q[Δc] against the explicit Rayleigh quotient
        H = pd.H
        x = rng.standard_normal(pd.n)
        chat = rng.standard_normal(pd.n)
        chat, g = downhill(H, x, chat / np.linalg.norm(chat))
        assume(g < 0)
        step = ExplicitStep(H, x, chat)
        hi = 1.0
        while step.argmin(hi)[1] < 0:  # min over s of E[ΔF] grows like ½e²Tr/N: bracket its zero
            hi *= 2.0
        e_star = brentq(lambda e: step.argmin(e)[1], 0.0, hi, xtol=1e-14, rtol=1e-13, maxiter=500)
        q_true = float(chat @ H @ chat)
        q_closed = _f(cf("steady_state_Q_c")(g, e_star, step.trace_over_n))
        # the zero e* is located to brentq's 1e-13 relative plus the rounding δm of the minimum's value
        # (100·N·κ·ε of the F values, helpers._rounding_tol) over its slope d m/de = e·Tr/N; Q[Δc] ∝ 1/e²
        # doubles the relative error.  10× that is the allowance.
        s_star, _ = step.argmin(e_star)
        scale = abs(step.F0) + abs(step.F(x + s_star * chat)) + 0.5 * e_star**2 * step.trace_over_n
        rel_e = 1e-13 + _rounding_tol(pd.n, _cond(pd.eigvals)) * scale / (e_star**2 * step.trace_over_n)
        tol = 10.0 * 2.0 * rel_e
        m_balance = 1.0 - abs(q_closed / q_true - 1.0) / tol
        # (i) indefinite with Tr > 0: a downhill direction of non-positive curvature
        Hi = ind.H
        v_neg = ind.eigvecs[:, 0]  # eigenvector of the most negative eigenvalue
        r = rng.standard_normal(ind.n)
        d = v_neg + mix * r / np.linalg.norm(r)
        d /= np.linalg.norm(d)
        if float(d @ Hi @ d) >= 0:  # the mixture tipped positive: keep the pure negative direction
            d = v_neg
        xi = rng.standard_normal(ind.n)
        d, gi = downhill(Hi, xi, d)
        assume(gi < 0)
        q_neg = float(d @ Hi @ d)
        flat = ExplicitStep(Hi, xi, d)
        m_none, found, values = no_minimiser_margin(flat, 1.0, _rounding_tol(ind.n, _cond(ind.eigvals)))
        margins_all = {"balance": m_balance, "no_minimiser": m_none}
        return min(margins_all.values()), {
            "margins": margins_all,
            "n": [pd.n, ind.n],
            "Q_c_explicit": q_true,
            "Q_c_si_steady_positivity": q_closed,
            "e_star": e_star,
            "relative_tolerance": tol,
            "indefinite_Q_c": q_neg,
            "bounded_minimisers": found,
            "minimum_values": values,
        }

    return check_property(
        strategy,
        evaluate,
        profile,
        tolerance="(ii) 20× the relative error of ‖Δε‖* (brentq + rounding of the minimum); "
        "(i) 10× the bounded minimiser's stopping distance from the bound",
    )


@claim(
    "independent_orientation_monte_carlo",
    "When ∇F = M(w − w*) with M's eigenbasis Haar-random relative to ∇²F (and w − w* independent of it), "
    "E[∇FᵀH∇F]/E‖∇F‖² = Tr/N and E Q[∇F] = Tr/N, and Q[∇F] has variance 2(Tr(H²)/N − (Tr H/N)²)/(N+2) "
    "(si_independent_mean)",
    conditions=(
        "M = P·diag(μ)·Pᵀ with P Haar (numpy QR of Gaussians), w − w* = P·z with z ~ N(0, I) "
        "independent of P",
        "ground truth: Monte Carlo over the draws, tolerances Z_MC standard errors estimated from the "
        "samples (never from the derived variance)",
    ),
    tags=("derived", "monte carlo"),
)
def _independent_orientation(profile: Profile) -> Outcome:
    strategy = st.tuples(
        st.one_of(
            cs.hessians(cs.dimensions(2, profile.max_dim), kind="positive definite"),
            cs.hessians(cs.dimensions(2, profile.max_dim), kind="indefinite"),
        ),
        cs.seeds(),
    )

    def evaluate(example: tuple[cs.SymmetricHessian, int]) -> tuple[float, dict[str, Any]]:
        hess, seed = example
        H, n = hess.H, hess.n
        rng = np.random.default_rng(seed)
        k = profile.mc_samples
        mu = 10.0 ** rng.uniform(-1.0, 1.0, n)  # M's eigenvalues, spread over two decades
        q, r = np.linalg.qr(rng.standard_normal((k, n, n)))
        P = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]  # Haar (signs fixed)
        z = rng.standard_normal((k, n))
        g = np.einsum("kij,kj->ki", P, mu * z)  # ∇F = P diag(μ) Pᵀ (P z)
        num = np.einsum("ki,ij,kj->k", g, H, g)
        den = np.einsum("ki,ki->k", g, g)
        Q = num / den
        tr, tr2 = float(np.trace(H)), float(np.sum(H * H))
        target = tr / n
        scale = float(np.max(np.abs(hess.eigvals)))
        rnd = _rounding_tol(n, _cond(hess.eigvals)) * scale  # float64 allowance on every estimate
        # E Q: the sample mean, Z_MC standard errors of the mean
        se_q = float(Q.std(ddof=1)) / math.sqrt(k) + rnd
        m_mean = within_standard_errors(float(Q.mean()) - target, se_q)
        # ratio of expectations by the delta method: se of mean(num − ρ·den)/mean(den)
        rho = float(num.mean() / den.mean())
        se_r = float((num - rho * den).std(ddof=1)) / math.sqrt(k) / float(den.mean()) + rnd
        m_ratio = within_standard_errors(rho - target, se_r)
        # the variance against the derived closed form; se of a sample variance from the 4th moment
        var_closed = _f(cf("Q_independent_variance")(tr, tr2, n))
        dev = Q - Q.mean()
        s2 = float(np.mean(dev**2)) * k / (k - 1)
        se_v = math.sqrt(max(float(np.mean(dev**4)) - s2**2, 0.0) / k) + rnd * scale
        m_var = within_standard_errors(s2 - var_closed, se_v)
        # one draw: Chebyshev at 3 derived standard deviations, P ≤ 1/9 (binomial Z_MC allowance)
        sd = math.sqrt(max(var_closed, 0.0))
        frac = float(np.mean(np.abs(Q - target) >= 3.0 * sd + rnd)) if sd > 0 else 0.0
        m_cheb = 1.0 - max(frac - 1.0 / 9.0, 0.0) / (Z_MC * math.sqrt((1 / 9) * (8 / 9) / k))
        margins = {"mean": m_mean, "ratio_of_expectations": m_ratio, "variance": m_var, "chebyshev": m_cheb}
        return min(margins.values()), {
            "margins": margins,
            "n": n,
            "samples": k,
            "trace_over_n": target,
            "mean_Q": float(Q.mean()),
            "ratio_of_means": rho,
            "sample_variance": s2,
            "variance_si_independent_mean": var_closed,
            "fraction_beyond_3sd": frac,
        }

    return check_property(
        strategy,
        evaluate,
        profile,
        tolerance=f"{Z_MC:g} sample standard errors (mean, delta-method ratio, 4th-moment variance) "
        "+ 100·N·κ·ε rounding",
    )


@claim(
    "linear_beeline_newton",
    "On an explicit quadratic the Newton step −(∇²F)⁻¹∇F is w* − w, its curvature is si_linear_beeline's "
    "Σλc²/Σc², and over isotropic w − w* its mean curvature is Tr/N, so eq9a's ratio is 1",
    conditions=(
        "∇²F ≻ 0 constant (quadratic loss); for the mean: w − w* ~ N(0, I) (rotation invariant)",
        "ground truth: numpy.linalg.solve with the explicit H and ∇F = H(w − w*); vᵀHv/‖v‖² of the solved "
        "step; Monte Carlo over isotropic w − w* with Z_MC sample standard errors",
    ),
    expected="holds under condition",
    tags=("derived", "monte carlo"),
)
def _linear_beeline(profile: Profile) -> Outcome:
    strategy = st.tuples(
        cs.hessians(cs.dimensions(2, profile.max_dim), kind="positive definite", max_condition=1e2),
        cs.seeds(),
    )

    def evaluate(example: tuple[cs.SymmetricHessian, int]) -> tuple[float, dict[str, Any]]:
        hess, seed = example
        H, n, U = hess.H, hess.n, hess.eigvecs
        rng = np.random.default_rng(seed)
        cond = _cond(hess.eigvals)
        tol = _rounding_tol(n, cond) * cond  # a solve adds a factor κ to the rounding of H products
        w, w_star = rng.standard_normal(n), rng.standard_normal(n)
        grad = H @ (w - w_star)
        newton = -np.linalg.solve(H, grad)
        beeline = w_star - w
        m_step = 1.0 - float(np.linalg.norm(newton - beeline) / np.linalg.norm(beeline)) / tol
        q_solve = float(newton @ H @ newton / (newton @ newton))
        q_closed = _f(cf("Q_newton_linear")(hess.eigvals, U.T @ (w - w_star)))
        m_q = 1.0 - abs(q_closed - q_solve) / (tol * float(hess.eigvals.max()))
        # isotropic displacements: the Newton steps' curvature averages to Tr/N
        k = profile.mc_samples
        X = rng.standard_normal((k, n))
        steps = -np.linalg.solve(H, H @ X.T).T
        num = np.einsum("ki,ij,kj->k", steps, H, steps)
        den = np.einsum("ki,ki->k", steps, steps)
        Q = num / den
        target = float(np.trace(H)) / n
        rnd = _rounding_tol(n, cond) * cond * float(hess.eigvals.max())
        se_q = float(Q.std(ddof=1)) / math.sqrt(k) + rnd
        m_mean = within_standard_errors(float(Q.mean()) - target, se_q)
        rho = float(num.mean() / den.mean())
        se_r = float((num - rho * den).std(ddof=1)) / math.sqrt(k) / float(den.mean()) + rnd
        m_ratio = within_standard_errors(rho - target, se_r)
        # eq9a with Q[Δε] = Tr/N and the sampled mean: 1 within the delta-method se ½·se_Q/Q
        ratio = _f(cf("steady_state_ratio")(target, float(Q.mean())))
        m_one = within_standard_errors(ratio - 1.0, 0.5 * se_q / float(Q.mean()))
        margins = {
            "newton_is_beeline": m_step,
            "Q": m_q,
            "mean": m_mean,
            "ratio_of_means": m_ratio,
            "eq9a_one": m_one,
        }
        return min(margins.values()), {
            "margins": margins,
            "n": n,
            "samples": k,
            "Q_solved_step": q_solve,
            "Q_si_linear_beeline": q_closed,
            "trace_over_n": target,
            "mean_Q": float(Q.mean()),
            "eq9a_ratio": ratio,
        }

    return check_property(
        strategy,
        evaluate,
        profile,
        tolerance=f"100·N·κ²·ε rounding (solve) for the step and Q; {Z_MC:g} sample standard errors for "
        "the means and the ratio",
    )
