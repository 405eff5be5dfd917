"""Claims that are inequalities and orderings: eq12 (isotropic Q), eq13, eq14, the ordering
condition, Newton's and zeroth-order rules, and the noisy-gradient interpolation and large-N limit."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from plasticity.checks import strategies as cs
from plasticity.checks.claims.helpers import (
    EPS,
    Z_MC,
    _cond,
    _f,
    _gradient_Q,
    _rounding_tol,
    cf,
    quad_Q,
    sphere,
)
from plasticity.checks.claims.registry import Outcome, check_property, claim, holds
from plasticity.checks.profiles import Profile


@claim(
    "eq12_isotropic_Q",
    "E[Q[Δε]] over isotropic directions is Tr(∇²F)/N (eq12)",
    conditions=(
        "Δε isotropic, independent of ∇²F",
        "ground truth: Monte Carlo of vᵀHv/‖v‖² over isotropic directions on the explicit H",
    ),
    tags=("closed form", "monte carlo"),
)
def _eq12_isotropic_Q(profile: Profile) -> Outcome:
    strategy = st.tuples(
        st.one_of(
            cs.hessians(cs.dimensions(2, profile.max_dim), kind="positive definite"),
            cs.hessians(cs.dimensions(2, profile.max_dim), kind="indefinite"),
        ),
        cs.seeds(),
    )

    def evaluate(example: Any) -> tuple[float, dict[str, Any]]:
        hess, seed = example
        rng = np.random.default_rng(seed)
        q = quad_Q(hess.H, sphere(rng, profile.mc_samples, hess.n))
        mean, se = float(q.mean()), float(q.std(ddof=1) / math.sqrt(q.size))
        closed = _f(cf("expected_Q_isotropic")(float(np.trace(hess.H)), hess.n))
        tol = Z_MC * se + 100 * hess.n * EPS * float(np.max(np.abs(hess.eigvals)))
        err = abs(mean - closed)
        return 1.0 - err / tol, {"sampled_mean_Q": mean, "eq12": closed, "standard_error": se}

    return check_property(strategy, evaluate, profile, tolerance=f"{Z_MC:g} standard errors of the mean")


@claim(
    "eq13_quadratic_gradient",
    "On a quadratic, Q[∇F] = Σλ³c² / Σλ²c² (eq13) for any projections c of w − w*",
    conditions=(
        "quadratic F",
        "∇F ≠ 0",
        "ground truth: the Rayleigh quotient of the explicit H at ∇F = H(w − w*)",
    ),
    tags=("closed form",),
)
def _eq13(profile: Profile) -> Outcome:
    strategy = cs.quadratic_states(cs.dimensions(2, profile.max_dim), bias="random")

    def evaluate(state: cs.QuadraticState) -> tuple[float, dict[str, Any]]:
        lam = state.hessian.eigvals
        numeric = _gradient_Q(state)
        closed = _f(cf("Q_gradient_quadratic")(lam, state.c))
        tol = _rounding_tol(lam.size, _cond(lam))
        err = abs(numeric - closed) / abs(closed)
        return 1.0 - err / tol, {"numeric_Q": numeric, "eq13": closed, "relative_error": err}

    return check_property(strategy, evaluate, profile, tolerance="100·N·κ(H)·ε relative (float64 rounding)")


@claim(
    "eq14_equal_projections",
    "With equal projections of w − w* on the eigenvectors, Q[∇F] = Σλ³/Σλ² (eq14) ≥ Tr/N "
    "(Chebyshev), so gradient compensation's optimal ratio is ≤ 1; the derivation needs only "
    "λᵢ + λⱼ ≥ 0 for every pair, so indefinite spectra inside that domain are drawn too",
    conditions=(
        "quadratic F",
        "λᵢ + λⱼ ≥ 0 for every pair (implied by ∇²F ⪰ 0)",
        "equal projections cᵢ",
        "ground truth: Q[∇F] of the explicit H and gradient",
    ),
    expected="holds under condition",
    tags=("inequality",),
)
def _eq14(profile: Profile) -> Outcome:
    dims = cs.dimensions(2, profile.max_dim)
    strategy = st.one_of(
        cs.quadratic_states(dims, bias="equal"),
        cs.quadratic_states(dims, kind="semidefinite", bias="equal"),
        cs.quadratic_states(dims, kind="pairwise", bias="equal"),
    )

    def evaluate(state: cs.QuadraticState) -> tuple[float, dict[str, Any]]:
        lam = state.hessian.eigvals
        numeric = _gradient_Q(state)
        closed = _f(cf("Q_gradient_equal_projections")(lam))
        tr_n = state.hessian.trace_over_n
        tol = _rounding_tol(lam.size, _cond(lam))
        # relative to max|λ|: at an indefinite spectrum Q[∇F] and Tr/N can both be near 0
        scale = float(np.abs(lam).max())
        m_eq = 1.0 - abs(numeric - closed) / scale / tol
        m_ineq = (closed - tr_n) / scale + tol
        return min(m_eq, m_ineq), {"eigvals": lam, "numeric_Q": numeric, "eq14": closed, "trace_over_n": tr_n}

    return check_property(strategy, evaluate, profile, tolerance="100·N·κ(H)·ε relative (float64 rounding)")


@st.composite
def _ordered_gradients(draw: st.DrawFn, max_dim: int) -> tuple[cs.SymmetricHessian, np.ndarray]:
    # Chebyshev's sum inequality needs no sign: indefinite spectra are drawn too
    kind = draw(st.sampled_from(("positive definite", "indefinite")))
    hess = draw(cs.hessians(cs.dimensions(2, max_dim), kind=kind))
    d2 = draw(st.lists(cs.reals(0.0, 1.0), min_size=hess.n, max_size=hess.n))
    d = np.sqrt(np.sort(np.asarray(d2)))  # d² non-decreasing along ascending λ
    if not np.any(d > 0):
        d[-1] = 1.0
    # Q is scale-invariant, so only the direction of d matters; unit norm keeps ‖∇F‖² out of
    # the subnormal range (d² can be drawn as small as 5e-324), where the 100·N·κ·ε rounding
    # bound does not hold
    return hess, d / np.linalg.norm(d)


@claim(
    "ordering_condition",
    "If the squared projections dᵢ² of ∇F = M(w − w*) on the eigenvectors increase with λᵢ, "
    "then Q[∇F] = Σλd²/Σd² (si_mean_hessian) ≥ Tr/N",
    conditions=(
        "dᵢ² similarly ordered with λᵢ (Chebyshev's sufficient condition; no sign on λ needed)",
        "ground truth: Q[∇F] of the explicit H and gradient",
    ),
    expected="holds under condition",
    tags=("inequality",),
)
def _ordering(profile: Profile) -> Outcome:
    def evaluate(example: tuple[cs.SymmetricHessian, np.ndarray]) -> tuple[float, dict[str, Any]]:
        hess, d = example
        lam = hess.eigvals
        g = hess.eigvecs @ d
        numeric = float(quad_Q(hess.H, g)[0])
        closed = _f(cf("Q_gradient_mean_hessian")(lam, d))
        tol = _rounding_tol(lam.size, _cond(lam))
        scale = float(np.abs(lam).max())  # Q and Tr/N can both be near 0 for indefinite λ
        m_eq = 1.0 - abs(numeric - closed) / scale / tol
        m_ineq = (closed - hess.trace_over_n) / scale + tol
        evidence = {"numeric_Q": numeric, "si_mean_hessian": closed, "trace_over_n": hess.trace_over_n}
        return min(m_eq, m_ineq), evidence

    return check_property(
        _ordered_gradients(profile.max_dim), evaluate, profile, tolerance="100·N·κ(H)·ε relative"
    )


@claim(
    "newton_independent",
    "Newton compensation Δc ∝ −(∇²F)⁻¹∇F with M independent of ∇²F (equal projections) has "
    "Q[Δc] = Σλ⁻¹/Σλ⁻² (si_newton) ≤ Tr/N: compensation should outcompete fluctuations",
    conditions=(
        "∇²F ≻ 0",
        "M independent of ∇²F: ∇F projects equally on its eigenvectors",
        "ground truth: numpy.linalg.solve and the Rayleigh quotient of the explicit H",
    ),
    expected="holds under condition",
    tags=("inequality",),
)
def _newton(profile: Profile) -> Outcome:
    strategy = cs.hessians(cs.dimensions(2, profile.max_dim), max_condition=1e3)

    def evaluate(hess: cs.SymmetricHessian) -> tuple[float, dict[str, Any]]:
        lam = hess.eigvals
        g = hess.eigvecs @ np.full(hess.n, 1.0 / math.sqrt(hess.n))
        dc = -np.linalg.solve(hess.H, g)
        numeric = float(quad_Q(hess.H, dc)[0])
        closed = _f(cf("Q_newton_independent")(lam))
        cond = _cond(lam)
        tol = _rounding_tol(lam.size, cond) * cond  # the solve adds a factor κ(H)
        m_eq = 1.0 - abs(numeric - closed) / abs(closed) / tol
        m_ineq = (hess.trace_over_n - closed) / hess.trace_over_n + tol
        evidence = {"numeric_Q": numeric, "si_newton": closed, "trace_over_n": hess.trace_over_n}
        return min(m_eq, m_ineq), evidence

    return check_property(strategy, evaluate, profile, tolerance="100·N·κ(H)²·ε relative (solve + rounding)")


@claim(
    "zeroth_order",
    "Zeroth-order (random-direction, REINFORCE-like) compensation has E[Q[Δc]] = Tr/N "
    "(si_zeroth_order), so its optimal ratio is 1",
    conditions=(
        "probe direction isotropic, independent of ∇²F",
        "ground truth: Monte Carlo of numerics.rules.zeroth_order's own steps on the explicit H",
    ),
    tags=("closed form", "monte carlo"),
)
def _zeroth_order(profile: Profile) -> Outcome:
    from plasticity.numerics.landscapes import Quadratic
    from plasticity.numerics.rules import zeroth_order

    strategy = st.tuples(cs.quadratic_states(cs.dimensions(2, profile.max_dim)), cs.seeds())

    def evaluate(example: Any) -> tuple[float, dict[str, Any]]:
        state, seed = example
        hess = state.hessian
        land = Quadratic(eigvals=hess.eigvals, eigvecs=hess.eigvecs, w_star=state.w_star)
        W = np.repeat(state.w[None, :], profile.mc_samples, axis=0)
        dc = zeroth_order(land, W, np.random.default_rng(seed), 1.0)
        q = quad_Q(hess.H, dc)
        mean, se = float(q.mean()), float(q.std(ddof=1) / math.sqrt(q.size))
        closed = _f(cf("expected_Q_zeroth_order")(float(np.trace(hess.H)), hess.n))
        tol = Z_MC * se + 100 * hess.n * EPS * float(hess.eigvals.max())
        return 1.0 - abs(mean - closed) / tol, {
            "sampled_mean_Q": mean,
            "si_zeroth_order": closed,
            "standard_error": se,
        }

    return check_property(strategy, evaluate, profile, tolerance=f"{Z_MC:g} standard errors of the mean")


def _noisy_states(profile: Profile) -> st.SearchStrategy[cs.QuadraticState]:
    # equal projections (eq14) and steep-biased ones (ordering condition) both give
    # Q[∇F] ≥ Tr/N = E[Q[ν]], the condition for approaching Q[ν] from above
    dims = cs.dimensions(2, profile.max_dim)
    return st.one_of(cs.quadratic_states(dims, bias="equal"), cs.quadratic_states(dims, bias="steep"))


#: noise-to-signal ratios γ₂/γ₁ at which the interpolation is sampled (plus one drawn level)
NOISE_GRID = (0.0, 0.3, 1.0, 3.0, 30.0)


@claim(
    "noisy_interpolation",
    "Noisy gradient compensation Δc = −γ₁∇̂F + γ₂ν̂ (numerics.rules.noisy_gradient): its sampled "
    "curvature E[ΔcᵀHΔc]/E[‖Δc‖²] matches the ratio of expectations si_noisy at every noise level, "
    "starts at Q[∇F], and falls monotonically towards Q[ν] = Tr/N as γ₂/γ₁ grows",
    conditions=(
        "ν isotropic, independent of ∇²F",
        "Q[∇F] ≥ Tr/N (equal or steep-biased projections)",
        "ground truth: Monte Carlo of the rule's own steps on the explicit H (delta-method errors)",
    ),
    expected="holds under condition",
    tags=("closed form", "monte carlo", "product"),
)
def _noisy_interpolation(profile: Profile) -> Outcome:
    from plasticity.numerics import curvature
    from plasticity.numerics.landscapes import Quadratic
    from plasticity.numerics.rules import gammas, noisy_gradient

    strategy = st.tuples(_noisy_states(profile), cs.noise_levels(0.05, 10.0), cs.seeds())

    def evaluate(example: Any) -> tuple[float, dict[str, Any]]:
        state, rho, seed = example
        hess = state.hessian
        land = Quadratic(H=hess.H, w_star=state.w_star)
        g = land.grad(state.w)
        q_tilde = float(curvature.Q(land, state.w, g))
        q_nu = float(curvature.trace_over_n(land, state.w, exact=True).value)
        rtol = _rounding_tol(hess.n, _cond(hess.eigvals))
        scale = abs(q_tilde) + abs(q_nu)
        rng = np.random.default_rng(seed)
        levels = sorted({*NOISE_GRID, float(rho)})
        sampled, errors, closed = [], [], []
        G = np.repeat(g[None, :], profile.mc_samples, axis=0)
        for r in levels:
            dc = noisy_gradient(G, rng, 1.0, r)
            num = np.einsum("ki,ij,kj->k", dc, hess.H, dc)
            den = np.einsum("ki,ki->k", dc, dc)
            ratio = float(num.mean() / den.mean())
            # delta method: Var(R̂) ≈ Var(num − R·den) / (M · E[den]²); exact 0 without noise
            se = float(np.std(num - ratio * den, ddof=1) / (math.sqrt(num.size) * den.mean()))
            g1, g2 = gammas(1.0, r)
            sampled.append(ratio)
            errors.append(se + rtol * scale)
            closed.append(_f(cf("Q_noisy_expected")(float(g1), float(g2), q_tilde, q_nu)))
        s, e = np.asarray(sampled), np.asarray(errors)
        margins = {
            f"monte_carlo@{r:g}": 1.0 - abs(x - c) / (Z_MC * u)
            for r, x, c, u in zip(levels, s, closed, e, strict=True)
        }
        margins["starts_at_Q_gradient"] = 1.0 - abs(s[0] - q_tilde) / (rtol * scale)
        steps = s[:-1] - s[1:] + Z_MC * np.hypot(e[:-1], e[1:])  # non-increasing within the errors
        margins["monotone"] = float(np.min(steps / (Z_MC * np.hypot(e[:-1], e[1:]))))
        margins["above_Q_nu"] = float(np.min((s - q_nu + Z_MC * e) / (Z_MC * e)))
        worst = min(margins.values())
        return worst, {
            "Q_gradient": q_tilde,
            "Q_nu": q_nu,
            "noise_to_signal": levels,
            "sampled": s,
            "si_noisy": closed,
            "standard_error": e,
            "margins": margins,
        }

    return check_property(
        strategy,
        evaluate,
        profile,
        tolerance=f"{Z_MC:g} delta-method standard errors of the sampled curvature (+ float64 rounding)",
    )


@claim(
    "noisy_large_n",
    "The sampled mean E[Q[Δc]] of noisy gradient compensation approaches the ratio of "
    "expectations (si_noisy) as N grows",
    conditions=(
        "ν isotropic",
        "spectrum geomspace(0.01, 1, N), equal projections",
        "γ₂/γ₁ = 1",
        "ground truth: Monte Carlo of numerics.rules.noisy_gradient's own steps",
    ),
    expected="holds under condition",
    tags=("monte carlo",),
)
def _noisy_large_n(profile: Profile) -> Outcome:
    from plasticity.numerics.rules import gammas, noisy_gradient

    rng = np.random.default_rng(20210)
    sizes = (8, 64, 512)
    g1, g2 = gammas(1.0, 1.0)
    rows = []
    for n in sizes:
        lam = np.geomspace(0.01, 1.0, n)
        # rotation invariance: work in the eigenbasis, H = diag(λ), projections equal
        g = lam * np.full(n, 1.0 / math.sqrt(n))
        dc = noisy_gradient(np.repeat(g[None, :], profile.mc_samples, axis=0), rng, 1.0, 1.0)
        q = np.asarray(cf("curvature_Q")(np.einsum("ki,i,ki->k", dc, lam, dc), np.linalg.norm(dc, axis=1)))
        q_tilde = _f(cf("Q_gradient_equal_projections")(lam))
        q_nu = _f(cf("expected_Q_isotropic")(float(lam.sum()), n))
        roe = _f(cf("Q_noisy_expected")(float(g1), float(g2), q_tilde, q_nu))
        mean, se = float(q.mean()), float(q.std(ddof=1) / math.sqrt(q.size))
        rows.append(
            {
                "n": n,
                "sampled_mean_Q": mean,
                "si_noisy": roe,
                "gap": mean - roe,
                "standard_error": se,
                "relative_gap": (mean - roe) / roe,
            }
        )
    margins = []
    for a, b in zip(rows[:-1], rows[1:], strict=True):
        # |gap| must not grow with N beyond Z_MC combined standard errors
        slack = abs(a["gap"]) - abs(b["gap"]) + Z_MC * math.hypot(a["standard_error"], b["standard_error"])
        margins.append(slack / abs(rows[0]["si_noisy"]))
    # and the largest N is no farther than the smallest (relative to the smallest gap)
    margins.append((abs(rows[0]["gap"]) - abs(rows[-1]["gap"])) / abs(rows[0]["gap"]))
    worst = float(min(margins))
    return Outcome(
        ok=holds(worst),
        examples=len(sizes),
        worst_margin=worst,
        tolerance=f"successive |gap| may not grow by more than {Z_MC:g} combined standard errors",
        evidence={"by_n": rows},
    )
