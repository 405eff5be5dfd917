"""The claims registry under the ci profile, and proof that it bites: mutated closed forms
make the claims that rest on them FAILED."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import strategies as st

from plasticity.checks.claims import (
    CLAIMS,
    VERDICTS,
    Claim,
    Outcome,
    Verdict,
    check_property,
    get_claim,
    holds,
    search_counterexample,
)
from plasticity.checks.profiles import get_profile, with_overrides

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
    # the verdict and the margin obey the one rule, whatever example the search settled on
    if c.expected == "counterexample expected":
        assert v.counterexample and not holds(v.worst_margin)  # the claim fails there, by this much
    else:
        assert v.counterexample is None and holds(v.worst_margin)
    json.dumps(v.to_json(), allow_nan=False)  # the verdict serialises as strict JSON


def _rounding(lam: list[float]) -> float:
    """100·N·κ·ε: the rounding allowance the counterexample claims state, recomputed here."""
    a = np.abs(np.asarray(lam))
    return 100 * a.size * max(a.max() / a[a > 0].min(), 1.0) * np.finfo(float).eps


def test_flat_projection_counterexample_is_decided() -> None:
    # properties of whatever counterexample the search found, not where shrinking put it
    v = get_claim("counterexample_flat_projections").check("ci")
    e = v.evidence
    lam, c = np.asarray(e["eigvals"]), np.asarray(e["c"])
    assert np.all(lam > 0)  # a positive-definite Hessian: eq9a applies, and still fails ≤ 1
    # Q[∇F] and Tr/N recomputed from the eigen-decomposition (∇F has coordinates λᵢcᵢ)
    q = float(np.sum(lam**3 * c**2) / np.sum(lam**2 * c**2))
    assert q == pytest.approx(e["Q_gradient"], rel=_rounding(lam))  # agree to the stated rounding
    assert float(lam.mean()) == pytest.approx(e["trace_over_n"], rel=_rounding(lam))
    assert q < lam.mean() * (1 - _rounding(lam))  # decidedly below, not within rounding
    assert e["eq9a_ratio"] > 1  # compensation should then outcompete fluctuations


def test_indefinite_counterexample_is_decided_and_refused() -> None:
    v = get_claim("counterexample_indefinite").check("ci")
    e = v.evidence
    lam, c = np.asarray(e["eigvals"]), np.asarray(e["c"])
    assert lam.min() < 0 < lam.max()
    q = float(np.sum(lam**3 * c**2) / np.sum(lam**2 * c**2))
    assert q == pytest.approx(e["Q_gradient"], rel=0, abs=_rounding(lam) * np.abs(lam).max())
    # decidedly outside eq9a's domain: Q[∇F] or Tr/N below 0 by more than the rounding allowance,
    # so a boundary state (Q = 0 up to rounding) can never be the one reported
    assert min(q, lam.mean()) < -_rounding(lam) * np.abs(lam).max()
    assert e["eq9a_value"] is None and "eq9a" in e["eq9a_refused"]


def test_a_margin_of_zero_means_the_same_everywhere() -> None:
    # the one rule: a claim holds at an example iff its margin is finite and >= 0
    assert holds(0.0) and holds(1e-300) and holds(2.0)
    for bad in (-1e-300, -0.0 - 1e-12, -np.inf, np.inf, np.nan, None):
        assert not holds(bad)
    # a property claim whose only example has margin 0 holds; one at -1e-12 fails
    profile = get_profile("ci")
    on_edge = check_property(st.just(0.0), lambda m: (m, {}), profile, tolerance="t", max_examples=1)
    assert on_edge.ok and on_edge.worst_margin == 0.0
    below = check_property(st.just(-1e-12), lambda m: (m, {}), profile, tolerance="t", max_examples=1)
    assert not below.ok and below.counterexample
    # a counterexample search counts exactly the examples a property check would reject
    edge = search_counterexample(st.just(0.0), lambda m: m, lambda m: {}, profile, tolerance="t")
    assert not edge.ok  # margin 0 holds: no counterexample
    found = search_counterexample(st.just(-1e-12), lambda m: m, lambda m: {}, profile, tolerance="t")
    assert found.ok and found.worst_margin == -1e-12
    nan = search_counterexample(st.just(np.nan), lambda m: m, lambda m: {}, profile, tolerance="t")
    assert nan.ok  # a non-finite margin never holds


def test_an_outcome_that_contradicts_its_margin_fails() -> None:
    says_ok = Outcome(ok=True, examples=1, worst_margin=-0.5, tolerance="t")
    v = Claim("a", "s", (), "holds", lambda p: says_ok).check()
    assert v.verdict == "FAILED" and "contradicts" in v.evidence["inconsistent"]
    says_bad = Outcome(ok=False, examples=1, worst_margin=0.5, tolerance="t")
    assert Claim("a", "s", (), "holds", lambda p: says_bad).check().verdict == "FAILED"
    nan_ok = Outcome(ok=True, examples=1, worst_margin=float("nan"), tolerance="t")
    assert Claim("a", "s", (), "holds", lambda p: nan_ok).check().verdict == "FAILED"
    cex_holds = Outcome(ok=True, examples=1, worst_margin=0.0, tolerance="t", counterexample="x")
    assert Claim("a", "s", (), "counterexample expected", lambda p: cex_holds).check().verdict == "FAILED"


def test_verdicts_are_deterministic() -> None:
    a = get_claim("eq8_monte_carlo").check("ci")
    b = get_claim("eq8_monte_carlo").check("ci")
    assert a.to_json() | {"seconds": 0} == b.to_json() | {"seconds": 0}


def test_examples_do_not_depend_on_which_modules_are_loaded(tmp_path) -> None:  # noqa: ANN001
    # newer Hypothesis releases draw constants scanned from the source of loaded local modules;
    # a claim's examples must not depend on that: importing a module full of literals first
    # (as a user's own code would be) leaves the verdicts, margins and examples unchanged
    literals = ", ".join([str(k) for k in range(0, 3000, 7)] + [f"{k / 13:.6f}" for k in range(1, 300)])
    (tmp_path / "user_constants.py").write_text(f"VALUES = [{literals}]\n")
    code = (
        "import sys; sys.path.insert(0, {path!r})\n{pre}\nimport json\n"
        "from checks.verify import run_claims\n"
        "v = run_claims('ci', ids=['lyapunov_exact', 'counterexample_indefinite', 'eq8_monte_carlo'], "
        "progress=False)\n"
        "print(json.dumps([x.to_json() | {{'seconds': 0}} for x in v], sort_keys=True))"
    )
    outs = []
    for pre in ("", "import user_constants"):
        cmd = [sys.executable, "-c", code.format(path=str(tmp_path), pre=pre)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-2000:]
        outs.append(proc.stdout)
    assert outs[0] == outs[1]


def test_counterexamples_are_the_same_in_two_processes(tmp_path) -> None:  # noqa: ANN001
    # `plasticity verify` run twice, in fresh interpreters: same verdicts, same shrunk examples
    ids_ = ["counterexample_flat_projections", "counterexample_indefinite", "eq14_equal_projections"]
    runs = []
    for k in range(2):
        out = tmp_path / f"v{k}.json"
        cmd = [
            sys.executable,
            "-m",
            "plasticity.checks.cli",
            "verify",
            "--quiet",
            "--only",
            *ids_,
            "--json",
            str(out),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        runs.append([c | {"seconds": 0} for c in json.loads(out.read_text())["claims"]])
    assert runs[0] == runs[1]
    assert [c["verdict"] for c in runs[0]][:2] == ["counterexample found"] * 2


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
    from plasticity.derivations import closed_forms

    original = getattr(closed_forms, name)

    def mutated(*args):  # noqa: ANN002, ANN202
        return fn(original, *args)

    return mutated


MUTATIONS = [
    # (closed form, mutation, claim that must go red)
    ("expected_dF", lambda f, c, g, e, qc, qe: f(c, g, e, qc, qe) + 0.5 * e**2 * qe, "eq8_monte_carlo"),
    ("expected_dF", lambda f, c, g, e, qc, qe: f(c, g, e, qc, qe) + 0.5 * c**2 * qc, "eq8_monte_carlo"),
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
    # the derived SI results: a wrong steady-state Q[Δc], a variance with N for N+2 or scaled, and
    # the Newton curvature replaced by a gradient-like weighting
    ("steady_state_Q_c", lambda f, g, e, qe: 1.1 * f(g, e, qe), "steady_positivity_minimiser"),
    ("Q_independent_variance", lambda f, t, t2, n: 1.5 * f(t, t2, n), "independent_orientation_monte_carlo"),
    (
        "Q_independent_variance",
        lambda f, t, t2, n: f(t, t2, n) * (n + 2) / n,
        "independent_orientation_monte_carlo",
    ),
    ("Q_newton_linear", lambda f, lam, c: f(lam, c * np.sqrt(lam)), "linear_beeline_newton"),
    ("Q_newton_linear", lambda f, lam, c: 1.05 * f(lam, c), "linear_beeline_newton"),
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
    from plasticity.derivations import closed_forms

    monkeypatch.setattr(closed_forms, name, _wrap(name, mutation), raising=False)
    v = get_claim(claim_id).check(SMALL)
    assert v.verdict == "FAILED", f"{name} mutated but {claim_id} says {v.verdict}: {v.evidence}"


def test_mutated_eq8_symbolically_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Change the ½ in front of ‖Δε‖²Q[Δε] in eq8's SymPy closed form to 1."""
    import dataclasses

    import sympy as sp

    from plasticity.derivations import closed_forms
    from plasticity.derivations.core import get

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
    import plasticity.checks.claims.simulation as C  # the module whose global the claims call

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
    import plasticity.checks.claims.simulation as C  # the module whose global the claims call

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
    import plasticity.checks.claims.simulation as C  # the module whose global the claims call

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
    from plasticity.checks.claims import NETWORK_RATIOS, _network_sweep

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


def test_every_claim_names_its_independent_ground_truth() -> None:
    # no claim compares a closed form with itself: each says what it is checked against
    missing = [c.id for c in CLAIMS.values() if not any("ground truth" in x for x in c.conditions)]
    assert missing == []
