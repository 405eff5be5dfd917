"""`--simulate` at scale: the batched dynamics against the row-by-row reference, batched user
callables against their per-point versions, the batched Newton rule, the bootstrap error of a
simulated best ratio, the agreement verdict, the progress bar and determinism."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from plasticity.checks.cli import main
from plasticity.checks.landscape import simulate as sim_mod
from plasticity.checks.landscape.diagnostics import MAX_DENSE_N
from plasticity.checks.landscape.simulate import agreement, simulate_best_ratios
from plasticity.checks.landscape.spec import from_module
from plasticity.numerics import rules
from plasticity.numerics.landscape_dynamics import simulate, simulate_reference
from plasticity.numerics.landscapes import FunctionLandscape, Quadratic
from plasticity.numerics.ratios import bootstrap_se, refined_minimiser

ROOT = Path(__file__).resolve().parents[1]
LOGISTIC = ROOT / "tests" / "data" / "logistic.py"
EPS = np.finfo(np.float64).eps


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("logistic_for_simulate_tests", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LOG = _load(LOGISTIC)
W0 = np.array([0.5, -0.5, 0.2, 0.1])


def batched_logistic(**overrides: object) -> FunctionLandscape:
    """The N = 4 logistic regression with its per-point and batched derivatives."""
    kw = dict(
        grad=LOG.loss_grad,
        hess=LOG.loss_hess,
        w_star=LOG.trained(),
        f_batch=LOG.loss_batch,
        grad_batch=LOG.loss_grad_batch,
        hvp_batch=LOG.loss_hvp_batch,
    )
    kw.update(overrides)
    return FunctionLandscape(LOG.loss, 4, **kw)


# --------------------------------------------------------------------------- batched = row by row


@pytest.mark.parametrize(
    ("rule", "nts"),
    [
        ("gradient", None),
        ("noisy_gradient", 1.0),
        ("zeroth_order", None),
        ("newton", None),
        ("beeline", None),
    ],
)
def test_batched_simulation_equals_the_row_by_row_reference(rule: str, nts: float | None) -> None:
    """The batched run (one call of the module's batched functions per step) and the reference
    (per-point functions, one row at a time) take the same steps from the same draws.

    The batched and per-point functions differ by rounding (another order of operations), a
    few eps per step; the dynamics contract (descent plus bounded noise), so after 40 steps
    the records agree to 1e-11 relative, far below any difference a wrong draw, a mixed-up
    row or a wrong record would make (O(1))."""
    kw = dict(rule=rule, eps_norm=0.05, ratios=[0.0, 0.5, 2.0], steps=40, reps=3, window=10, record_q=True)
    kw["noise_to_signal"] = nts
    fast = simulate(batched_logistic(), W0, rng=np.random.default_rng(11), record_from=20, **kw)
    ref = simulate_reference(
        FunctionLandscape(LOG.loss, 4, grad=LOG.loss_grad, hess=LOG.loss_hess, w_star=LOG.trained()),
        W0,
        rng=np.random.default_rng(11),
        record_from=20,
        **kw,
    )
    for name in ("final_w", "loss", "grad_norm", "q_c", "q_eps", "c_norm", "grad_dot_chat"):
        a, b = getattr(fast, name), getattr(ref, name)
        np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=name)
        ok = ~np.isnan(a)
        np.testing.assert_allclose(a[ok], b[ok], rtol=1e-11, atol=1e-14, err_msg=name)
    # the loss and Q's are recorded from step 20 on, ‖∇F‖ on every step
    assert np.all(np.isnan(fast.loss[..., :20])) and np.all(np.isfinite(fast.loss[..., 20:]))
    assert np.all(np.isfinite(fast.grad_norm))


def test_batched_equals_reference_on_a_quadratic_with_the_same_functions() -> None:
    """On a Quadratic both paths use the same arithmetic row by row: equal to the last bit."""
    rng = np.random.default_rng(3)
    U, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    q = Quadratic(eigvals=np.linspace(0.5, 2.0, 6), eigvecs=U, w_star=rng.standard_normal(6))
    kw = dict(rule="noisy_gradient", noise_to_signal=1.0, eps_norm=0.1, ratios=[0.0, 1.0], steps=25)
    kw.update(reps=2, window=5, record_q=True)
    a = simulate(q, q.center + 0.3, rng=np.random.default_rng(5), **kw)
    b = simulate_reference(q, q.center + 0.3, rng=np.random.default_rng(5), **kw)
    np.testing.assert_allclose(a.final_w, b.final_w, rtol=1e-13)
    np.testing.assert_allclose(a.q_eps, b.q_eps, rtol=1e-12)


def test_record_from_must_leave_the_window_recorded() -> None:
    kw = dict(rule="gradient", eps_norm=0.1, ratios=[1.0], steps=10, reps=1, window=5)
    with pytest.raises(ValueError, match="record_from must be a non-negative integer"):
        simulate(batched_logistic(), W0, rng=np.random.default_rng(0), record_from=-1, **kw)
    with pytest.raises(ValueError, match="must not start after the steady-state window"):
        simulate(batched_logistic(), W0, rng=np.random.default_rng(0), record_from=6, **kw)
    run = simulate(batched_logistic(), W0, rng=np.random.default_rng(0), record_from=5, **kw)
    assert np.all(np.isfinite(run.steady_loss[0]))


# --------------------------------------------------------------------------- batched user callables


def test_batched_callables_equal_the_per_point_ones() -> None:
    """Each batched method against its per-point reference (rounding: a few eps relative)."""
    L = batched_logistic()
    per_point = FunctionLandscape(LOG.loss, 4, grad=LOG.loss_grad, hess=LOG.loss_hess)
    rng = np.random.default_rng(7)
    W, V = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    np.testing.assert_allclose(L.loss_batch(W), [per_point.loss(w) for w in W], rtol=1e-13)
    np.testing.assert_allclose(L.grad_batch(W), [per_point.grad(w) for w in W], rtol=1e-12, atol=1e-15)
    hv = np.stack([per_point.hvp(w, v) for w, v in zip(W, V, strict=True)])
    np.testing.assert_allclose(L.hvp_batch(W, V), hv, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(L.quad_form_batch(W, V), np.einsum("ki,ki->k", V, hv), rtol=1e-12)
    # Hessians from batched HVPs on the identity (no per-point hess supplied) and from hess_batch
    from_hvps = batched_logistic(hess=None)
    H = np.stack([LOG.loss_hess(w) for w in W])
    np.testing.assert_allclose(from_hvps.hessian_batch(W), H, rtol=1e-12, atol=1e-15)
    hess_batch = batched_logistic(hess_batch=lambda X: np.stack([LOG.loss_hess(x) for x in X]))
    np.testing.assert_allclose(hess_batch.hessian_batch(W), H, rtol=0, atol=0)
    L.check_batched(W, V)  # consistent: no error
    hess_batch.check_batched(W, V)


def test_a_batched_callable_alone_serves_single_points() -> None:
    L = FunctionLandscape(LOG.loss, 4, grad_batch=LOG.loss_grad_batch, hvp_batch=LOG.loss_hvp_batch)
    assert L.has_grad and L.has_hessian
    np.testing.assert_allclose(L.grad(W0), LOG.loss_grad(W0), rtol=1e-12)
    np.testing.assert_allclose(L.hessian(W0), LOG.loss_hess(W0), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("name", "wrong"),
    [
        ("f_batch", lambda W: LOG.loss_batch(W[::-1])),  # rows mixed up
        ("grad_batch", lambda W: LOG.loss_grad_batch(W) * 1.01),
        ("hvp_batch", lambda W, V: LOG.loss_hvp_batch(W, V[::-1])),
        ("hess_batch", lambda W: np.stack([LOG.loss_hess(w) for w in W[::-1]])),
    ],
)
def test_check_batched_catches_a_batched_callable_that_disagrees(name: str, wrong: object) -> None:
    L = batched_logistic(**{name: wrong})
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=f"{name} disagrees with its per-point version"):
        L.check_batched(rng.standard_normal((3, 4)), rng.standard_normal((3, 4)))


def test_a_module_spec_supplies_batched_functions(tmp_path: Path) -> None:
    user = from_module(f"{LOGISTIC}:loss", 4)
    assert "loss_batch" in user.notes[0] and "loss_hvp_batch" in user.notes[0]
    rng = np.random.default_rng(1)
    W = rng.standard_normal((3, 4))
    np.testing.assert_allclose(user.landscape.grad_batch(W), LOG.loss_grad_batch(W), rtol=0)
    # F only: nothing batched, nothing exact
    assert from_module(f"{LOGISTIC}:value", 4).exact == ()
    bad = tmp_path / "bad.py"
    bad.write_text("import numpy as np\ndef f(w): return float(w @ w)\ndef f_batch(W): return np.zeros(3)\n")
    with pytest.raises(ValueError, match="f_batch returned an array of shape"):
        from_module(f"{bad}:f", 2).landscape.loss_batch(np.ones((2, 2)))


# --------------------------------------------------------------------------- the batched Newton rule


def test_newton_rule_for_all_rows_equals_the_solve_row_by_row() -> None:
    L = batched_logistic()
    rng = np.random.default_rng(2)
    W = 0.3 * rng.standard_normal((6, 4))
    dc = rules.newton(L, W, 0.2)
    for w, d in zip(W, dc, strict=True):
        step = -np.linalg.solve(LOG.loss_hess(w), LOG.loss_grad(w))  # by hand: −(∇²F)⁻¹∇F
        # cond(∇²F) ≈ 40 here: the two solves differ by ~cond·eps relative
        np.testing.assert_allclose(d, 0.2 * step / np.linalg.norm(step), rtol=1e-12, atol=1e-15)


def test_newton_by_minres_above_the_dense_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    assert rules.DENSE_MAX_N == MAX_DENSE_N  # the rule and the report switch at the same N
    L = batched_logistic()
    W = 0.3 * np.random.default_rng(4).standard_normal((3, 4))
    dense = rules.newton(L, W, 1.0)
    monkeypatch.setattr(rules, "DENSE_MAX_N", 0)
    iterative = rules.newton(L, W, 1.0)
    # residual ≤ 1e-8·‖∇F‖ bounds the direction's relative error by cond(∇²F)·1e-8 ≈ 4e-7
    np.testing.assert_allclose(iterative, dense, atol=1e-6)
    saddle = FunctionLandscape(lambda w: w[0] ** 2 - w[1] ** 2, 2, hvp=lambda w, v: np.array([2, -2]) * v)
    with pytest.raises(ValueError, match="not positive definite"):
        rules.newton(saddle, np.array([0.1, 1.0]), 1.0)


def test_newton_refuses_an_indefinite_or_singular_user_hessian() -> None:
    saddle = FunctionLandscape(lambda w: w[0] ** 2 - w[1] ** 2, 2, hess=lambda w: np.diag([2.0, -2.0]))
    with pytest.raises(ValueError, match="indefinite"):
        rules.newton(saddle, np.ones(2), 1.0)
    flat = FunctionLandscape(lambda w: w[0] ** 2, 2, hess=lambda w: np.diag([2.0, 0.0]))
    with pytest.raises(ValueError, match="singular"):
        rules.newton(flat, np.ones(2), 1.0)


# --------------------------------------------------------------------------- bootstrap error, agreement


def test_bootstrap_error_of_a_minimiser_on_a_known_case() -> None:
    """Repetition j's curve is (r − m_j)², so the mean curve of any resample is a parabola
    with its minimum at the resample's mean of m_j, which the parabolic refinement recovers
    exactly.  The bootstrap standard error of the minimiser is then that of a mean:
    sd(m, ddof=0)/√reps.  With B resamples its own relative error is ≈ 1/√(2B); 4 of those."""
    rng = np.random.default_rng(9)
    grid = np.round(np.arange(0.1, 2.51, 0.1), 10)
    m = rng.uniform(0.8, 1.4, size=8)
    per_run = (grid[:, None] - m[None, :]) ** 2
    assert refined_minimiser(grid, per_run.mean(1)) == pytest.approx(m.mean(), abs=1e-12)
    B = 4000
    se = bootstrap_se(refined_minimiser, grid, per_run, np.random.default_rng(0), resamples=B)
    exact = np.std(m) / np.sqrt(m.size)
    assert se == pytest.approx(exact, rel=4 / np.sqrt(2 * B))


def test_agreement_verdicts() -> None:
    grid = [0.1, 0.2, 0.3]
    assert agreement(0.2, 0.01, 0.215, grid)["verdict"] == "agrees"  # 1.5 s.e.
    assert agreement(0.2, 0.01, 0.23, grid)["verdict"] == "differs"  # 3 s.e.
    assert agreement(0.2, 0.01, 0.23, grid)["z"] == pytest.approx(3.0)
    assert agreement(0.1, 0.01, 0.1, grid)["verdict"] == "undecided"  # at the grid's end
    assert agreement(0.2, float("nan"), 0.2, grid)["verdict"] == "undecided"  # one repetition
    assert agreement(0.2, 0.01, None, grid)["verdict"] == "undecided"  # no prediction


def test_simulated_best_ratios_carry_bootstrap_errors_and_are_reproducible() -> None:
    L = batched_logistic()
    predicted = {"gradient": 0.6, "noisy_gradient": 0.7, "zeroth_order": 1.0, "newton": 0.9, "beeline": 1.0}
    kw = dict(steps=60, reps=3, window=20, progress=False)
    a = simulate_best_ratios(L, W0, predicted, seed=5, **kw)
    b = simulate_best_ratios(L, W0, predicted, seed=5, **kw)
    c = simulate_best_ratios(L, W0, predicted, seed=6, **kw)
    assert json.dumps(a) == json.dumps(b)  # same seed: the same report, to the last digit
    assert json.dumps(a) != json.dumps(c)
    for r in a["rules"].values():
        assert r["grad_norm_minimiser_se"] is None or r["grad_norm_minimiser_se"] >= 0
        assert r["agreement"]["verdict"] in {"agrees", "differs", "undecided"}


# --------------------------------------------------------------------------- progress bar


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_goes_to_a_terminal_stderr_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sim_mod, "PROGRESS_DELAY_S", 0.0)
    predicted = {"gradient": 0.6}
    fake = _Terminal()
    monkeypatch.setattr(sys, "stderr", fake)
    simulate_best_ratios(Quadratic(np.eye(2)), np.ones(2), predicted, steps=6, reps=2, window=2)
    assert "simulating" in fake.getvalue()
    quiet = _Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    simulate_best_ratios(
        Quadratic(np.eye(2)), np.ones(2), predicted, steps=6, reps=2, window=2, progress=False
    )
    assert quiet.getvalue() == ""


def test_progress_bar_leaves_non_tty_output_clean(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sim_mod, "PROGRESS_DELAY_S", 0.0)
    args = ["landscape", "--expr", "x**2 + 4*y**2", "--vars", "x,y", "--at", "1,1", "--simulate"]
    assert main([*args, "--steps", "30", "--reps", "2", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["simulation"]["steps"] == 30  # stdout is exactly the JSON
    assert "simulating" not in err and "\r" not in err  # stderr is not a terminal: no bar
    assert main([*args, "--steps", "30", "--reps", "2", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "simulated (min ‖∇F‖)" in out and err == ""


@pytest.mark.parametrize("rule", ["gradient", "noisy_gradient", "zeroth_order", "newton", "beeline"])
def test_a_supplied_hessian_is_evaluated_at_most_once_per_row_per_step(rule: str) -> None:
    """A module with per-point F, ∇F and ∇²F only (the usual user module): the dynamics,
    including the Q window, need at most one Hessian per row per step (the Newton rule's solve
    and the Q's share it); they once built about three."""
    calls = {"hess": 0}

    def counted_hess(w: np.ndarray) -> np.ndarray:
        calls["hess"] += 1
        return LOG.loss_hess(w)

    L = FunctionLandscape(LOG.loss, 4, grad=LOG.loss_grad, hess=counted_hess, w_star=LOG.trained())
    steps, reps, ratios = 12, 2, [0.5, 1.0, 1.5]
    simulate(
        L,
        W0,
        rule=rule,
        eps_norm=0.02,
        ratios=ratios,
        steps=steps,
        reps=reps,
        rng=np.random.default_rng(0),
        window=steps,
        record_q=True,
        noise_to_signal=1.0 if rule == "noisy_gradient" else None,
    )
    rows = reps * len(ratios)
    assert calls["hess"] <= rows * steps
