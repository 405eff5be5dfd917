"""`plasticity landscape` end to end on each SPEC kind, its JSON, its errors, and its verdicts
checked against independent computations on quadratics with a known spectrum."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from checks.cli import main
from checks.landscape_report import NOISE_TO_SIGNAL, analyse, simulate_best_ratios
from checks.user_landscape import load
from numerics.landscapes import Quadratic

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
REQUIRED_KEYS = {"n_params", "trace_over_n", "q_gradient", "q_newton", "predicted_ratio", "claims"}
RULE_KEYS = {"gradient", "newton", "zeroth_order", "noisy_gradient"}


def run_json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    assert main(["landscape", *args, "--json", "-"]) == 0
    return json.loads(capsys.readouterr().out)


def check_schema(data: dict) -> None:
    assert REQUIRED_KEYS <= set(data)
    assert set(data["predicted_ratio"]) == RULE_KEYS
    assert data["claims"] and all({"id", "holds", "detail"} <= set(c) for c in data["claims"])


def claim(data: dict, cid: str) -> dict:
    return next(c for c in data["claims"] if c["id"] == cid)


# --------------------------------------------------------------------------- each SPEC kind


def test_expression_spec_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(["--expr", "(1 - x)**2 + 100*(y - x**2)**2", "--vars", "x,y", "--at", "0.9,0.8"], capsys)
    check_schema(data)
    x, y = 0.9, 0.8
    H = np.array([[2 - 400 * (y - x**2) + 800 * x**2, -400 * x], [-400 * x, 200.0]])  # by hand
    assert data["n_params"] == 2
    assert data["trace_over_n"] == pytest.approx(np.trace(H) / 2, rel=1e-12)


def test_module_spec_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    teacher = "1,-0.5,0.3,0.8,-0.7,0.2,0.9,-1.1,0.6"
    at = ",".join(str(1.01 * float(t)) for t in teacher.split(","))
    data = run_json([f"{EXAMPLES / 'tiny_network.py'}:loss", "--at", at, "--minimum", teacher], capsys)
    check_schema(data)
    assert data["n_params"] == 9
    assert data["newton_step"] == "w* − w"


def test_hessian_spec_end_to_end(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = run_json([str(EXAMPLES / "hessian.npy"), "--at", str(EXAMPLES / "point_equal.npy")], capsys)
    check_schema(data)
    lam = np.geomspace(0.01, 1.0, 50)  # how examples/make_hessian.py builds it
    assert data["n_params"] == 50
    assert data["trace_over_n"] == pytest.approx(lam.mean(), rel=1e-12)
    assert data["lambda_min"] == pytest.approx(0.01, rel=1e-10)
    assert claim(data, "main_claim.gradient")["holds"] is True


def test_text_output_and_json_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "sub" / "report.json"
    code = main(["landscape", "--expr", "x**2 + 3*y**2", "--vars", "x,y", "--at", "1,1", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "Tr(∇²F)/N" in text and "main claim" in text and "highly trained" in text
    check_schema(json.loads(out.read_text()))


def test_examples_shell_script_names_a_working_command(capsys: pytest.CaptureFixture[str]) -> None:
    script = (EXAMPLES / "rosenbrock.sh").read_text()
    line = next(ln for ln in script.splitlines() if ln.startswith("plasticity landscape"))
    assert '--expr "(1 - x)**2 + 100*(y - x**2)**2" --vars x,y --at 0.9,0.8 --minimum 1' in line
    data = run_json(
        ["--expr", "(1 - x)**2 + 100*(y - x**2)**2", "--vars", "x,y", "--at", "0.9,0.8", "--minimum", "1"],
        capsys,
    )
    check_schema(data)


# --------------------------------------------------------------------------- errors: one line, exit 2


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--expr", "__import__('os').system('echo hi')", "--vars", "x", "--at", "1"], "__import__"),
        (["--expr", "().__class__", "--vars", "x", "--at", "1"], "'.'"),
        (["--expr", "x.__dict__", "--vars", "x", "--at", "1"], "'.'"),
        (["--expr", "lambda: 1", "--vars", "x", "--at", "1"], "lambda"),
        (["--expr", "open('f')", "--vars", "x", "--at", "1"], "open"),
        (["--expr", "x + q", "--vars", "x", "--at", "1"], "'q'"),
        (["--expr", "x**2 + y**2", "--vars", "x,y", "--at", "1,2,3"], "N=2"),
        (["--expr", "x**2", "--at", "1"], "--vars"),
        (["no/such/file.npy", "--at", "1"], "not found"),
        (["no/such/module.py:F", "--at", "1"], "not found"),
        (["--expr", "Abs(x) + y**2", "--vars", "x,y", "--at", "0,1"], "not differentiable"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    args: list[str], named: str, capfd: pytest.CaptureFixture[str]
) -> None:
    assert main(["landscape", *args]) == 2
    captured = capfd.readouterr()  # file-descriptor level: a shell command's output would show here
    err = captured.err
    assert err.startswith("plasticity landscape: error:") and err.count("\n") == 1
    assert named in err
    assert captured.out == ""  # nothing printed: the os.system payload never ran


def test_nan_returning_module_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "bad.py").write_text("def F(w):\n    return float('nan')\n")
    assert main(["landscape", f"{tmp_path / 'bad.py'}:F", "--at", "1,2"]) == 2
    err = capsys.readouterr().err
    assert "nan" in err and "Traceback" not in err


def test_indefinite_hessian_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    np.save(tmp_path / "s.npy", np.diag([2.0, 1.0, -4.0]))  # Tr < 0: not even partially trained
    data = run_json([str(tmp_path / "s.npy"), "--at", "1,1,1"], capsys)
    check_schema(data)
    assert data["training_state"] == "neither"
    assert claim(data, "si_positivity.trained")["holds"] is False
    main_claims = [c for c in data["claims"] if c["id"].startswith("main_claim")]
    assert all(c["holds"] is None and not c["applies"] for c in main_claims)  # eq9a needs Q > 0
    assert all("cannot be evaluated" in c["detail"] for c in main_claims)
    assert any("indefinite" in n for n in data["notes"])
    assert any("cannot be evaluated here: " in n and "main_claim.gradient" in n for n in data["notes"])


# --------------------------------------------------------------------------- verdicts vs independent numbers


def quadratic(lam: np.ndarray, c: np.ndarray, seed: int = 0) -> tuple[Quadratic, np.ndarray, np.ndarray]:
    """H = U diag(lam) Uᵀ in a random basis, w* = 0 and w = U c (projections c on the eigenvectors)."""
    n = lam.size
    U, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return Quadratic(eigvals=lam, eigvecs=U, w_star=np.zeros(n)), U @ c, U


def independent(lam: np.ndarray, c: np.ndarray) -> dict[str, float]:
    """Q's and ratios written out by hand from the spectrum (not via derivations)."""
    tr_n = lam.mean()
    q_g = np.sum(lam**3 * c**2) / np.sum(lam**2 * c**2)  # ∇F = H(w − w*) has projections λc
    q_newton = np.sum(lam * c**2) / np.sum(c**2)  # the step w* − w
    return {"tr_n": tr_n, "q_g": q_g, "q_newton": q_newton, "r_g": np.sqrt(tr_n / q_g)}


def test_equal_projections_gradient_claim_holds() -> None:
    lam, c = np.geomspace(0.01, 1.0, 30), np.ones(30)
    landscape, w, _ = quadratic(lam, c)
    rep = analyse(landscape, w)
    ind = independent(lam, c)
    # dense eigen-decomposition and Q's in float64: relative error ~N·eps ≈ 1e-14; 1e-10 is safe
    assert rep.trace_over_n == pytest.approx(ind["tr_n"], rel=1e-10)
    assert rep.q_gradient == pytest.approx(ind["q_g"], rel=1e-10)
    assert rep.q_newton == pytest.approx(ind["q_newton"], rel=1e-10)
    assert rep.predicted_ratio["gradient"] == pytest.approx(ind["r_g"], rel=1e-10)
    assert rep.predicted_ratio["zeroth_order"] == pytest.approx(1.0, rel=1e-12)
    assert ind["q_g"] > ind["tr_n"]  # Chebyshev, so the verdict below is the right one
    verdict = {cl.id: cl for cl in rep.claims}
    assert verdict["main_claim.gradient"].holds is True and verdict["main_claim.gradient"].applies
    assert verdict["main_claim.zeroth_order"].holds is True
    assert verdict["table2.noisy_gradient"].holds is True
    assert rep.training_state == "highly trained"
    # Newton along w* − w with equal projections: Q = Σλ/N = Tr/N exactly, the ratio-1 boundary
    assert ind["q_newton"] == pytest.approx(ind["tr_n"], rel=1e-14)
    assert (
        verdict["main_claim.newton"].holds is True
        and "within the curvature error" in verdict["main_claim.newton"].detail
    )


def test_projections_biased_to_flat_directions_gradient_claim_fails() -> None:
    lam = np.geomspace(0.01, 1.0, 30)
    c = np.where(np.arange(30) < 15, 1.0, 0.01)
    landscape, w, _ = quadratic(lam, c, seed=3)
    rep = analyse(landscape, w)
    ind = independent(lam, c)
    assert ind["q_g"] < ind["tr_n"]
    assert rep.q_gradient == pytest.approx(ind["q_g"], rel=1e-10)
    assert rep.predicted_ratio["gradient"] == pytest.approx(ind["r_g"], rel=1e-10)
    assert rep.predicted_ratio["gradient"] > 1
    verdict = {cl.id: cl for cl in rep.claims}
    assert verdict["main_claim.gradient"].holds is False and verdict["main_claim.gradient"].applies
    # noisy ratios still lie between the gradient's (> 1 here) and 1, approaching 1
    assert verdict["table2.noisy_gradient"].holds is True


def test_noisy_gradient_matches_the_ratio_of_expectations_by_hand() -> None:
    lam, c = np.linspace(0.1, 2.0, 12), np.ones(12)
    landscape, w, _ = quadratic(lam, c, seed=1)
    rep = analyse(landscape, w)
    ind = independent(lam, c)
    assert [e["noise_to_signal"] for e in rep.noisy_gradient] == list(NOISE_TO_SIGNAL)
    for entry in rep.noisy_gradient:
        k = entry["noise_to_signal"]  # γ₂/γ₁; only the ratio of the norms matters
        q = (ind["q_g"] + k**2 * ind["tr_n"]) / (1 + k**2)
        assert entry["expected_Q"] == pytest.approx(q, rel=1e-10)
        assert entry["predicted_ratio"] == pytest.approx(np.sqrt(ind["tr_n"] / q), rel=1e-10)
    q_ref = (ind["q_g"] + ind["tr_n"]) / 2  # the reference level γ₂/γ₁ = 1
    assert rep.predicted_ratio["noisy_gradient"] == pytest.approx(np.sqrt(ind["tr_n"] / q_ref), rel=1e-10)


def test_newton_step_from_the_hessian_without_a_minimum() -> None:
    lam, c = np.geomspace(0.05, 3.0, 10), np.linspace(1.0, 2.0, 10)
    landscape, w, _ = quadratic(lam, c, seed=2)
    with_min = analyse(landscape, w, minimum=np.zeros(10))
    user_like = Quadratic(landscape.H)  # same H; report told nothing about w* ...
    no_min = analyse(_NoMinimum(user_like), w)  # ... so the Newton step is −H⁻¹∇F
    assert with_min.newton_step == "w* − w" and no_min.newton_step == "−(∇²F)⁻¹∇F"
    # on a quadratic −H⁻¹∇F = w* − w exactly; the linear solve adds error ~cond(H)·eps ≈ 1e-14
    assert no_min.q_newton == pytest.approx(with_min.q_newton, rel=1e-9)
    assert with_min.q_newton == pytest.approx(independent(lam, c)["q_newton"], rel=1e-10)


class _NoMinimum:
    """A landscape wrapper that hides w* (like a user's function with no --minimum)."""

    def __init__(self, inner: Quadratic) -> None:
        self._inner, self.n, self.w_star = inner, inner.n, None

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)


def test_zero_gradient_point_reports_undefined_claims() -> None:
    landscape, _, _ = quadratic(np.array([1.0, 2.0]), np.zeros(2))
    rep = analyse(landscape, np.zeros(2))
    assert rep.q_gradient is None and rep.predicted_ratio["gradient"] is None
    verdict = {cl.id: cl for cl in rep.claims}
    assert verdict["main_claim.gradient"].holds is None
    assert verdict["main_claim.zeroth_order"].holds is True  # needs only Tr/N


def test_same_seed_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    args = [str(EXAMPLES / "hessian.npy"), "--at", str(EXAMPLES / "point_flat.npy"), "--seed", "3"]
    assert run_json(args, capsys) == run_json(args, capsys)


# --------------------------------------------------------------------------- simulation


def test_simulation_reports_best_ratios_beside_predictions() -> None:
    lam, c = np.geomspace(0.05, 1.0, 16), np.ones(16)
    landscape, w, _ = quadratic(lam, c, seed=4)
    rep = analyse(landscape, w)
    sim = simulate_best_ratios(landscape, w, rep.predicted_ratio, seed=1, steps=600, reps=3, window=200)
    assert set(sim["rules"]) == RULE_KEYS
    for rule, r in sim["rules"].items():
        assert r["predicted_ratio"] == rep.predicted_ratio[rule]
        assert 0.1 <= r["grad_norm_minimiser"] <= 2.5 and 0.1 <= r["loss_minimiser"] <= 2.5
    # The qualitative claim: gradient compensation's best ratio is at most 1.
    assert sim["rules"]["gradient"]["grad_norm_minimiser"] <= 1.0
    # Random-direction compensation: E[Q[Δc]] = E[Q[Δε]], so the measured eq9a fixed point is
    # 1 up to the sampling error of the mean Q's (1200 draws of each per ratio; relative s.e.
    # of a Q on N = 16 is ≈ 0.35/√1200 ≈ 1%) and the 0.1 interpolation grid: 0.1 covers both.
    assert sim["rules"]["zeroth_order"]["self_consistent_ratio"] == pytest.approx(1.0, abs=0.1)


def test_simulate_flag_through_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        ["--expr", "x**2 + 4*y**2 + 0.5*z**2", "--vars", "x,y,z", "--at", "1,1,1", "--simulate"]
        + ["--steps", "100", "--reps", "2"],
        capsys,
    )
    assert set(data["simulation"]["rules"]) == RULE_KEYS
    assert data["simulation"]["steps"] == 100


def test_load_returns_the_same_landscape_the_command_uses() -> None:
    user, w = load(expr="x**2 + y**2", variables="x,y", at="1,2")
    rep = analyse(user, w)
    assert rep.kind == "expression" and rep.n_params == 2
    assert rep.trace_over_n == pytest.approx(2.0, rel=1e-14)


def test_a_minimum_that_is_not_stationary_is_flagged() -> None:
    lam, c = np.array([1.0, 2.0, 3.0]), np.ones(3)
    landscape, w, _ = quadratic(lam, c)
    rep = analyse(landscape, w, minimum=np.full(3, 5.0))  # the true minimum is 0
    assert any("is --minimum really a minimum?" in note for note in rep.notes)
    rep = analyse(landscape, w, minimum=np.zeros(3))
    assert not any("--minimum" in note for note in rep.notes)
