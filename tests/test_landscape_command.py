"""`plasticity landscape` end to end on each SPEC kind, its JSON, its errors, and its verdicts
checked against independent computations on quadratics with a known spectrum."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from plasticity.checks.cli import main
from plasticity.checks.landscape.analysis import NOISE_TO_SIGNAL, analyse
from plasticity.checks.landscape.simulate import simulate_best_ratios
from plasticity.checks.landscape.spec import load
from plasticity.checks.landscape.text import format_text
from plasticity.numerics.landscapes import Quadratic

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
REQUIRED_KEYS = {
    "n_params",
    "trace_over_n",
    "q_gradient",
    "q_newton",
    "q_beeline",
    "predicted_ratio",
    "claims",
}
RULE_KEYS = {"gradient", "newton", "beeline", "zeroth_order", "noisy_gradient"}


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
    assert data["q_beeline"] is not None and claim(data, "main_claim.beeline")


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
    no_min = analyse(_NoMinimum(user_like), w)  # ... so there is no beeline, only −H⁻¹∇F
    assert no_min.q_beeline is None and "main_claim.beeline" not in {cl.id for cl in no_min.claims}
    # on a quadratic −H⁻¹∇F = w* − w exactly; the linear solve adds error ~cond(H)·eps ≈ 1e-14
    assert no_min.q_newton == pytest.approx(with_min.q_beeline, rel=1e-9)
    assert with_min.q_newton == pytest.approx(with_min.q_beeline, rel=1e-9)
    assert with_min.q_beeline == pytest.approx(independent(lam, c)["q_newton"], rel=1e-10)


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
    # The paper's qualitative claim: gradient compensation's best ratio is at most 1.
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
    assert set(data["simulation"]["rules"]) == RULE_KEYS - {"beeline"}  # no --minimum: no beeline
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


# --------------------------------------------------------------------------- a real landscape

LOGISTIC = ROOT / "tests" / "data" / "logistic.py"


def _load_logistic() -> ModuleType:
    spec = importlib.util.spec_from_file_location("logistic_landscape_for_tests", LOGISTIC)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOG = _load_logistic()
#: a fixed direction away from the minimum, not an eigenvector of the Hessian there
AWAY = np.array([1.0, 0.0, 1.0, 0.0]) / np.sqrt(2.0)


def save_point(tmp_path: Path, name: str, w: np.ndarray) -> str:
    np.save(tmp_path / f"{name}.npy", w)
    return str(tmp_path / f"{name}.npy")


def hand_q(H: np.ndarray, v: np.ndarray) -> float:
    return float(v @ H @ v / (v @ v))


@pytest.mark.parametrize("function", ["loss", "value"])  # exact ∇F and ∇²F / F only
def test_a_trained_minimum_is_stationary_and_gets_no_gradient_verdict(
    function: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    at = save_point(tmp_path, "w_star", LOG.trained())
    data = run_json([f"{LOGISTIC}:{function}", "--at", at], capsys)
    # ‖∇F‖ there is rounding (exact) or finite-difference noise: no verdict may rest on it
    for rule in ("gradient", "newton", "noisy_gradient"):
        c = claim(data, f"main_claim.{rule}")
        assert c["holds"] is None and c["detail"].startswith("undefined at a stationary point")
        assert data["predicted_ratio"][rule] is None
    assert data["q_gradient"] is None and data["q_newton"] is None
    assert data["stationary"] is True and data["grad_norm"] <= data["grad_error_bound"]
    check_schema(data)
    assert claim(data, "table2.noisy_gradient")["holds"] is None
    assert claim(data, "main_claim.zeroth_order")["holds"] is True  # needs only Tr/N > 0
    assert any("stationary to working precision" in note for note in data["notes"])
    assert main(["landscape", f"{LOGISTIC}:{function}", "--at", at]) == 0
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("gradient "))
    assert row.endswith("undefined at a stationary point")
    assert "HOLDS  main_claim.gradient" not in text and "FAILS  main_claim.gradient" not in text


def test_the_gradient_error_bound_covers_rounding_and_is_not_loose(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w_star = LOG.trained()
    data = run_json([f"{LOGISTIC}:loss", "--at", save_point(tmp_path, "w_star", w_star)], capsys)
    # the same ∇F summed over the samples in other orders: its spread is rounding, and the
    # bound must cover it (20 seeded random orders)
    rng = np.random.default_rng(7)
    g0 = LOG.loss_grad(w_star)
    spread = 0.0
    for _ in range(20):
        order = rng.permutation(LOG.N_SAMPLES)
        X, Y = LOG.X[order], LOG.Y[order]
        s = 0.5 * (1.0 + np.tanh(0.5 * (X @ w_star)))
        spread = max(spread, float(np.linalg.norm(X.T @ (s - Y) / LOG.N_SAMPLES + LOG.LAMBDA * w_star - g0)))
    assert 0 < spread <= data["grad_error_bound"]
    # 1e-4 from the minimum ‖∇F‖ ≥ 1e-4·λ_min ≈ 1.5e-6, far above both bounds (~1e-15 exact,
    # ~2e-11 F only): the point is not stationary and Q[∇F] is measured
    w = w_star + 1e-4 * AWAY
    at = save_point(tmp_path, "near", w)
    H, g = LOG.loss_hess(w), LOG.loss_grad(w)
    exact = run_json([f"{LOGISTIC}:loss", "--at", at], capsys)
    assert exact["stationary"] is False
    # same float64 Hessian and gradient as the tool: Q agrees to rounding (N·eps ≈ 1e-15)
    assert exact["q_gradient"] == pytest.approx(hand_q(H, g), rel=1e-10)
    f_only = run_json([f"{LOGISTIC}:value", "--at", at], capsys)
    assert f_only["stationary"] is False
    # F only: the gradient's direction is off by ≤ bound/‖∇F‖ ≈ 2e-11/1.5e-6 ≈ 1.5e-5 and the
    # second-difference Hessian by ~eps^(1/2) ≈ 1e-8, so Q moves by ≤ 2‖H‖·1.5e-5 ≈ 8e-6
    assert f_only["q_gradient"] == pytest.approx(hand_q(H, g), abs=1e-5)


@pytest.mark.parametrize("function", ["loss", "value"])
def test_minimum_note_compares_against_the_error_bound(
    function: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w_star = LOG.trained()
    at = save_point(tmp_path, "w_star", w_star)
    data = run_json([f"{LOGISTIC}:{function}", "--at", at, "--minimum", at], capsys)
    assert not any("--minimum" in note for note in data["notes"])
    # a claimed minimum 1e-3 away has ‖∇F‖ ≥ 1e-3·λ_min ≈ 1.5e-5, far above its error bound
    off = save_point(tmp_path, "off", w_star + 1e-3 * AWAY)
    data = run_json([f"{LOGISTIC}:{function}", "--at", at, "--minimum", off], capsys)
    assert any("is --minimum really a minimum?" in note for note in data["notes"])


def test_newton_and_beeline_rows_match_the_simulated_rules(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w_star = LOG.trained()
    w = w_star + AWAY
    args = [f"{LOGISTIC}:loss", "--at", save_point(tmp_path, "w", w), "--minimum"]
    args += [save_point(tmp_path, "w_star", w_star), "--simulate", "--steps", "2", "--reps", "1"]
    data = run_json(args, capsys)
    H, g = LOG.loss_hess(w), LOG.loss_grad(w)
    tr_n = np.trace(H) / H.shape[0]
    q_newton = hand_q(H, -np.linalg.solve(H, g))
    q_beeline = hand_q(H, w_star - w)
    assert abs(q_newton - q_beeline) > 0.01 * q_beeline  # F is not quadratic: two different steps
    # the same float64 Hessian as the tool; cond(H) ≈ 9, so the solve adds ~10·eps relative
    assert data["q_newton"] == pytest.approx(q_newton, rel=1e-10)
    assert data["q_beeline"] == pytest.approx(q_beeline, rel=1e-10)
    for rule, q in (("newton", q_newton), ("beeline", q_beeline)):
        ratio = np.sqrt(tr_n / q)  # eq9a by hand
        assert data["predicted_ratio"][rule] == pytest.approx(ratio, rel=1e-10)
        # the simulated rule is compared with the prediction for the step it takes
        assert data["simulation"]["rules"][rule]["predicted_ratio"] == pytest.approx(ratio, rel=1e-10)
    assert main(["landscape", *args]) == 0
    text = capsys.readouterr().out
    assert "newton (−(∇²F)⁻¹∇F)" in text and "beeline (w* − w)" in text


def test_an_indefinite_point_with_positive_curvatures_is_still_a_prediction() -> None:
    lam = np.array([2.0, 1.0, -1.5])
    landscape, w, _ = quadratic(lam, np.ones(3), seed=5)
    tr_n = lam.mean()
    q_g = np.sum(lam**3) / np.sum(lam**2)  # ∇F = H w has projections λ·1
    assert q_g > tr_n > 0  # eq9a's conditions hold; Chebyshev-like: the claim holds
    rep = analyse(landscape, w)
    assert rep.training_state == "partially trained"
    verdict = {cl.id: cl for cl in rep.claims}
    for cid in ("main_claim.gradient", "main_claim.noisy_gradient", "table2.noisy_gradient"):
        assert verdict[cid].holds is True and verdict[cid].applies
    assert rep.predicted_ratio["gradient"] == pytest.approx(np.sqrt(tr_n / q_g), rel=1e-10)
    assert any("not guaranteed" in note for note in rep.notes)
    assert not any("not expected to hold" in note for note in rep.notes)
    text = format_text(rep)
    row = next(line for line in text.splitlines() if line.startswith("gradient "))
    assert row.endswith("holds")
    assert "HOLDS  main_claim.gradient" in text
    # where Q[∇F] < 0 eq9a's conditions fail: no verdict, and the reason says so
    _, w_neg, _ = quadratic(lam, np.array([0.01, 0.01, 1.0]), seed=5)
    neg = {cl.id: cl for cl in analyse(landscape, w_neg).claims}["main_claim.gradient"]
    assert neg.holds is None and not neg.applies and "not guaranteed" in neg.detail
