"""The claims registry under the ci profile, and proof that it bites: mutated closed forms
make the claims that rest on them FAILED."""

from __future__ import annotations

import json

import numpy as np
import pytest

from checks.claims import CLAIMS, VERDICTS, Claim, Outcome, Verdict, get_claim
from checks.profiles import get_profile, with_overrides

# what each expectation must produce when the theory and the code are right
GOOD = {
    "holds": "holds",
    "holds under condition": "holds under condition",
    "counterexample expected": "counterexample found",
}


@pytest.mark.parametrize("claim_id", list(CLAIMS))
def test_claim_under_ci_profile(claim_id: str) -> None:
    c = get_claim(claim_id)
    v = c.check("ci")
    assert v.verdict in VERDICTS
    assert v.verdict == GOOD[c.expected], json.dumps(v.to_json(), default=str)[:2000]
    assert v.examples > 0
    assert v.tolerance and v.tolerance != "n/a"
    assert v.worst_margin is not None and np.isfinite(v.worst_margin)
    if c.expected == "counterexample expected":
        assert v.counterexample and v.worst_margin < 0  # the claim fails there, by this much
    else:
        assert v.counterexample is None and v.worst_margin >= 0
    json.dumps(v.to_json(), allow_nan=False)  # the verdict serialises as strict JSON


def test_counterexamples_are_shrunk_to_two_dimensions() -> None:
    # Hypothesis shrinks towards small N: the simplest counterexamples live in 2-D
    for claim_id in ("counterexample_flat_projections", "counterexample_indefinite"):
        v = get_claim(claim_id).check("ci")
        assert len(v.evidence["eigvals"]) == 2, v.counterexample
    v = get_claim("counterexample_flat_projections").check("ci")
    assert v.evidence["Q_gradient"] < v.evidence["trace_over_n"]
    assert v.evidence["eq9a_ratio"] > 1  # compensation should then outcompete fluctuations
    v = get_claim("counterexample_indefinite").check("ci")
    assert "eq9a" in v.evidence["eq9a_refused"]


def test_verdicts_are_deterministic() -> None:
    a = get_claim("eq8_monte_carlo").check("ci")
    b = get_claim("eq8_monte_carlo").check("ci")
    assert a.to_json() | {"seconds": 0} == b.to_json() | {"seconds": 0}


def test_check_error_is_a_failed_verdict_not_a_crash() -> None:
    def broken(profile):  # noqa: ANN001, ARG001
        raise ValueError("eq99: no such closed form")

    c = Claim("broken", "a claim whose check raises", (), "holds", broken)
    v = c.check("ci")
    assert v.verdict == "FAILED" and "eq99" in v.evidence["error"]


def test_expectation_mapping() -> None:
    ok = Outcome(ok=True, examples=1, worst_margin=0.5, tolerance="t")
    bad = Outcome(ok=False, examples=1, worst_margin=-1.0, tolerance="t", counterexample="x")
    assert Claim("a", "s", (), "holds", lambda p: ok).check().verdict == "holds"
    assert (
        Claim("a", "s", (), "holds under condition", lambda p: ok).check().verdict == "holds under condition"
    )
    assert Claim("a", "s", (), "holds", lambda p: bad).check().verdict == "FAILED"
    found = Outcome(ok=True, examples=3, worst_margin=-1.0, tolerance="t", counterexample="x")
    assert Claim("a", "s", (), "counterexample expected", lambda p: found).check().verdict == (
        "counterexample found"
    )
    missing = Outcome(ok=False, examples=3, worst_margin=None, tolerance="t")
    assert Claim("a", "s", (), "counterexample expected", lambda p: missing).check().verdict == "FAILED"
    assert isinstance(Claim("a", "s", (), "holds", lambda p: ok).check(), Verdict)


def test_unknown_claim_and_profile_are_value_errors() -> None:
    with pytest.raises(ValueError, match="unknown claim id 'nope'"):
        get_claim("nope")
    with pytest.raises(ValueError, match="unknown profile 'fast'"):
        get_profile("fast")


# --------------------------------------------------------------------------- mutations must bite

SMALL = with_overrides(get_profile("ci"), max_examples=25, sim_steps=1500)


def _wrap(name: str, fn):  # noqa: ANN001, ANN202
    from derivations import closed_forms

    original = getattr(closed_forms, name)

    def mutated(*args):  # noqa: ANN002, ANN202
        return fn(original, *args)

    return mutated


MUTATIONS = [
    # (closed form, mutation, claim that must go red)
    ("expected_dF", lambda f, c, g, e, qc, qe: f(c, g, e, qc, qe) + 0.5 * e**2 * qe, "eq8_monte_carlo"),
    ("expected_dF", lambda f, c, g, e, qc, qe: f(c, g, e, qc, qe) + 0.5 * c**2 * qc, "eq6_numeric_minimum"),
    ("expected_dF", lambda f, c, g, e, qc, qe: f(c, g, e, qc, qe) - 2 * c * g, "eq8_monte_carlo"),
    ("var_dF", lambda f, *a: 2.0 * f(*a), "var_dF_monte_carlo"),
    ("var_dF", lambda f, *a: 0.5 * f(*a), "var_dF_monte_carlo"),
    ("optimal_c_norm", lambda f, g, qc: 2.0 * f(g, qc), "eq6_numeric_minimum"),
    ("steady_state_ratio", lambda f, qe, qc: f(qe, qc) ** 2, "eq9a_steady_state"),
    ("steady_state_rate_ratio", lambda f, qe, qc: f(qe, qc) ** 2, "eq9a_steady_state"),
    ("learning_c_norm", lambda f, e, qe, qc, dF: f(e, qe, qc, dF / 2), "eq10_learning_raises"),
    (
        "expected_Q_isotropic",
        lambda f, tr, n: f(tr, n - 1 if n > 1 else n) if n > 1 else f(tr, n),
        "eq12_isotropic_Q",
    ),
    ("Q_gradient_quadratic", lambda f, lam, c: f(lam, c * np.sqrt(np.abs(lam))), "eq13_quadratic_gradient"),
    ("Q_gradient_equal_projections", lambda f, lam: 0.9 * f(lam), "eq14_equal_projections"),
    ("Q_gradient_mean_hessian", lambda f, lam, d: 1.05 * f(lam, d), "ordering_condition"),
    ("Q_newton_independent", lambda f, lam: 1.1 * f(lam), "newton_independent"),
    ("Q_noisy_expected", lambda f, a, b, qt, qn: f(np.sqrt(a), np.sqrt(b), qt, qn), "noisy_interpolation"),
    ("expected_Q_zeroth_order", lambda f, tr, n: 1.1 * f(tr, n), "zeroth_order"),
    # eq5 with the square dropped from ‖v‖² (only visible on vectors of non-unit norm)
    ("curvature_Q", lambda f, vhv, vn: f(vhv, vn) * vn, "eq13_quadratic_gradient"),
    # the simulations: eq8's ½ on the fluctuation term doubled breaks the steady-state balance
    # (gradient and noisy rules); eq9a without its square root (or with a halved ratio) moves
    # the network predictions off the simulated minimisers.  The network sweeps are cached,
    # so these cost only the closed-form evaluations after the ci run.
    ("expected_dF", lambda f, c, g, e, qc, qe: f(c, g, e, qc, qe) + 0.5 * e**2 * qe, "sim_quadratic_theory"),
    ("steady_state_ratio", lambda f, qe, qc: f(qe, qc) ** 2, "sim_network_theory"),
    ("steady_state_ratio", lambda f, qe, qc: f(qe, qc) ** 2, "sim_confined_fluctuations"),
    ("steady_state_ratio", lambda f, qe, qc: f(qe, qc) ** 2, "sim_network_noise"),
    ("steady_state_ratio", lambda f, qe, qc: 0.5 * f(qe, qc), "sim_network_noise"),
]


@pytest.mark.parametrize(
    ("name", "mutation", "claim_id"),
    MUTATIONS,
    ids=[f"{n}->{c}-{k}" for k, (n, _, c) in enumerate(MUTATIONS)],
)
def test_mutated_closed_form_is_caught(monkeypatch: pytest.MonkeyPatch, name, mutation, claim_id) -> None:  # noqa: ANN001
    from derivations import closed_forms

    monkeypatch.setattr(closed_forms, name, _wrap(name, mutation), raising=False)
    v = get_claim(claim_id).check(SMALL)
    assert v.verdict == "FAILED", f"{name} mutated but {claim_id} says {v.verdict}: {v.evidence}"


def test_mutated_eq8_symbolically_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Change the ½ in front of ‖Δε‖²Q[Δε] in eq8's SymPy closed form to 1."""
    import dataclasses

    import sympy as sp

    from derivations import closed_forms
    from derivations.core import get

    r = get("eq8")
    args = dict(zip(r.arg_names, r.args, strict=True))
    mutated_expr = r.closed_form + sp.Rational(1, 2) * args["eps_norm"] ** 2 * args["Q_eps"]
    mutated = dataclasses.replace(r, closed_form=mutated_expr, numeric_impl=None)
    monkeypatch.setattr(closed_forms, "expected_dF", mutated.numeric(True), raising=False)
    assert get_claim("eq8_monte_carlo").check(SMALL).verdict == "FAILED"


# --------------------------------------------------------------------------- the simulation checks can fail


def _fake_summary(g_min: float, fp: float, se: float = 0.01, h: float = 0.05, q_eps: float = 0.03) -> dict:
    return {
        "noise_to_signal": 0.0,
        "fluct_mask": "all",
        "ratios": np.arange(1, 11) * h,
        "grid_step": h,
        "steps": 1,
        "reps": 3,
        "predicted_ratio": np.full(10, fp),
        "self_consistent_eq9a": fp,
        "self_consistent_eq9a_se": se,
        "grad_norm_minimiser": g_min,
        "grad_norm_minimiser_se": se,
        "grad_norm_minimiser_tol": max(h, 3 * se),
        "loss_minimiser": g_min,
        "loss_minimiser_se": se,
        "steady_loss": np.ones(10),
        "steady_grad_norm": np.ones(10),
        "Q_eps_mean": q_eps,
        "Q_eps_se": 1e-4,
        "realised_c_norm_over_nominal": 1.0,
        "settled_fraction": 1.0,
    }


def test_noise_claim_fails_when_the_simulated_best_ratio_does_not_rise(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import checks.claims.simulation as C  # the module whose global the claims call

    def flat(nts, ratios, reps, steps, fluct_mask=None):  # noqa: ANN001, ANN202, ARG001
        s = _fake_summary(g_min=0.2, fp=0.2 if nts < 5 else 0.97)  # prediction rises, simulation not
        s["noise_to_signal"] = nts
        return s

    monkeypatch.setattr(C, "_network_summary", flat)
    v = get_claim("sim_network_noise").check("ci")
    assert v.verdict == "FAILED"
    assert v.evidence["margins"]["simulated_rises"] < 0
    assert v.evidence["margins"]["prediction_rises"] > 0


def test_noise_claim_fails_when_the_prediction_exceeds_1(monkeypatch: pytest.MonkeyPatch) -> None:
    import checks.claims.simulation as C  # the module whose global the claims call

    def above(nts, ratios, reps, steps, fluct_mask=None):  # noqa: ANN001, ANN202, ARG001
        s = _fake_summary(
            g_min=0.2 if nts < 5 else 1.2, fp=0.2 if nts < 5 else 1.2, h=0.05 if nts < 5 else 0.3
        )
        s["noise_to_signal"] = nts
        return s

    monkeypatch.setattr(C, "_network_summary", above)
    v = get_claim("sim_network_noise").check("ci")
    assert v.verdict == "FAILED" and v.evidence["margins"]["prediction_at_most_1"] < 0


def test_confined_claim_fails_when_the_best_ratio_does_not_drop(monkeypatch: pytest.MonkeyPatch) -> None:
    import checks.claims.simulation as C  # the module whose global the claims call

    def same(nts, ratios, reps, steps, fluct_mask=None):  # noqa: ANN001, ANN202, ARG001
        # Q[Δε] and the prediction drop under confinement, the simulated minimiser does not;
        # grids and spreads as measured under ci (confined: step 0.02, SE 0.004; all: 0.05, 0.024)
        if fluct_mask is not None:
            s = _fake_summary(g_min=0.2, fp=0.07, se=0.004, h=0.02, q_eps=0.0025)
        else:
            s = _fake_summary(g_min=0.2, fp=0.2, se=0.024, h=0.05, q_eps=0.03)
        s["self_consistent_eq9a_se"] = 0.002
        return s

    monkeypatch.setattr(C, "_network_summary", same)
    v = get_claim("sim_confined_fluctuations").check("ci")
    assert v.verdict == "FAILED"
    assert v.evidence["margins"]["best_ratio_drops"] < 0 and v.evidence["margins"]["in_proportion"] < 0
    assert v.evidence["margins"]["Q_eps_drops"] > 0


def test_network_sweeps_are_cached_read_only() -> None:
    from checks.claims import NETWORK_RATIOS, _network_sweep

    p = get_profile("ci")
    a = _network_sweep(0.1, NETWORK_RATIOS, p.net_reps, p.net_steps, None)
    b = _network_sweep(0.1, NETWORK_RATIOS, p.net_reps, p.net_steps, None)
    assert a is b and a["grad_norm"].shape == (len(NETWORK_RATIOS), p.net_reps)
    with pytest.raises(ValueError, match="read-only"):
        a["grad_norm"][0, 0] = 0.0


def test_quadratic_balance_is_checked_for_every_rule() -> None:
    v = get_claim("sim_quadratic_theory").check("ci")
    for nts in ("0", "1", "5"):
        assert v.evidence["margins"][f"eq8_balance@{nts}"] >= 0
    noisy = v.evidence["by_noise"][1]
    # the noisy rule's realised ‖Δc‖ is not ratio·‖Δε‖ exactly (E‖Δc‖ < √E‖Δc‖² = m)
    assert not np.allclose(noisy["realised_c_norm_over_nominal"], 1.0, rtol=1e-6, atol=0)


def test_profiles_sweep_the_papers_noise_levels() -> None:
    for name in ("ci", "dev", "thorough"):
        p = get_profile(name)
        assert 20.0 in p.net_noise_levels and min(p.net_noise_levels) == 0.1
        assert p.net_noisy_steps >= p.net_steps
    assert 50.0 in get_profile("dev").net_noise_levels
