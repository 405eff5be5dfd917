"""Smoke tests of the benchmark harness at tiny sizes.

Performance is never asserted here: only that every measurement runs, returns finite
positive numbers, and that the bookkeeping (FLOP counts, phase attribution, JSON keys) is
right.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from plasticity.benchmarks.commands import time_command
from plasticity.benchmarks.flops import flops_per_network_step
from plasticity.benchmarks.machine import machine_info
from plasticity.benchmarks.roofline import gemm_gflops
from plasticity.benchmarks.timing import best_of, step_cost
from plasticity.numerics.networks import LINEAR, NONLINEAR, Architecture


def test_flops_per_network_step_matches_issue_and_hand_count() -> None:
    # 2.16 MFLOP per nonlinear network-step on 1000 samples, counted by hand
    assert flops_per_network_step(NONLINEAR, 1000) == 2_160_000
    # linear 12->10: forward 2*120*1000 plus weight gradient 2*120*1000, no back-propagated error
    assert flops_per_network_step(LINEAR, 1000) == 480_000
    # a three-layer net, counted by hand: layers 4x3, 5x4, 2x5 on 7 samples
    deep = Architecture("deep", (3, 4, 5, 2), "sigmoid")
    fwd = 2 * 7 * (12 + 20 + 10)
    wgrad = 2 * 7 * (12 + 20 + 10)
    backprop = 2 * 7 * (20 + 10)
    assert flops_per_network_step(deep, 7) == fwd + wgrad + backprop
    with pytest.raises(ValueError, match="n_samples"):
        flops_per_network_step(NONLINEAR, 0)


def test_gemm_roofline_runs_at_tiny_size() -> None:
    for dtype in (np.float32, np.float64):
        g = gemm_gflops(dtype, n=64, repeats=2)
        assert math.isfinite(g) and g > 0
    with pytest.raises(ValueError, match="dtype"):
        gemm_gflops(np.int32, n=8)
    with pytest.raises(ValueError, match="size"):
        gemm_gflops(np.float32, n=0)


def test_best_of_and_step_cost() -> None:
    calls: list[int] = []
    assert best_of(lambda: calls.append(1), repeats=3, warmup=1) >= 0
    assert len(calls) == 4  # one warm-up plus three timed runs
    with pytest.raises(ValueError, match="repeats"):
        best_of(lambda: None, repeats=0)

    def run(steps: int) -> None:
        a = np.ones((50, 50))
        for _ in range(steps):
            a = a @ a * 1e-2

    cost = step_cost(run, long_steps=8, short_steps=2)
    assert cost.per_step_s > 0 and cost.overhead_s >= 0
    assert cost.extrapolate(8000) >= cost.extrapolate(8)
    with pytest.raises(ValueError, match="short_steps"):
        step_cost(run, long_steps=4, short_steps=4)
    lengths: list[int] = []
    step_cost(lengths.append, long_steps=6, short_steps=3, repeats=2)
    assert lengths == [3, 6, 3, 6]  # interleaved repeats, minimum of each kept
    with pytest.raises(ValueError, match="repeats"):
        step_cost(run, long_steps=4, repeats=0)


def test_machine_info_names_cpu_cores_and_blas() -> None:
    info = machine_info()
    assert isinstance(info["cpu_model"], str) and info["cpu_model"]
    assert info["cores"] >= 1
    assert "blas" in info and "numpy" in info
    threads = info["openblas_threads"]
    assert threads is None or threads >= 1


def test_pipeline_profile_reads_each_stage_off_its_functions() -> None:
    from plasticity.benchmarks import pipeline, yardstick
    from plasticity.numerics.experiments import experiment

    exp = yardstick.smaller(experiment("fig5", "full"), reps=2, ratios=2)
    prof = pipeline.profile_chunk(exp, steps=40, full_steps=400)
    st = prof["stages"]
    assert set(pipeline.STAGES) | {pipeline.REST, "other (assembly, imports, profiler)"} == set(st)
    # every stage that runs in a sweep chunk was seen (a renamed function would read 0 s here)
    for stage in pipeline.STAGES:
        assert st[stage]["seconds"] > 0, stage
    # per-step stages scale by 400/40, fixed ones do not; shares sum to 1
    for r in st.values():
        assert r["full_seconds"] == pytest.approx(r["seconds"] * (10 if r["per_step"] else 1))
    assert sum(r["full_share"] for r in st.values()) == pytest.approx(1.0, abs=1e-12)
    assert prof["chunk_runs"] == 12  # one γ₂/γ₁, all 3 f rows (each 2 ratios × 2 reps) fit a chunk of 54
    assert "| Q window" in "\n".join(pipeline.stage_table(prof))


def test_yardstick_model_adds_up() -> None:
    from plasticity.benchmarks import yardstick
    from plasticity.numerics.experiments import experiment

    exp = yardstick.smaller(experiment("fig5s1", "full"), reps=1, ratios=1)
    c = yardstick.compare(exp, steps=40, repeats=1, workers=2, gemm_gflops_f32=100.0)
    assert c["runs"] == 9 and c["steps_timed"] == [20, 40]
    assert c["timing_order"] == ["project@20", "reference@20", "project@40", "reference@40", "project@40+Q"]
    for side in ("project", "reference"):
        d = c[side]
        assert d["s_per_step"] > 0 and d["fixed_s"] >= 0
        assert d["full_sweep_s"] == pytest.approx(d["fixed_s"] + d["measure_s"] + 8000 * d["s_per_step"])
    assert c["ratio_full_sweep"] == pytest.approx(
        c["project"]["full_sweep_s"] / c["reference"]["full_sweep_s"]
    )
    with pytest.raises(ValueError, match="steps"):
        yardstick.compare(exp, steps=10)


def test_time_command_runs_a_subcommand() -> None:
    t = time_command(["--help"], timeout_s=120)
    assert t.ok and t.seconds > 0
    bad = time_command(["no-such-subcommand"], timeout_s=120)
    assert not bad.ok and bad.returncode != 0
    with pytest.raises(ValueError, match="sequence"):
        time_command("verify --profile ci")


# ----------------------------------------------------------------------------- the whole suite


def _tiny_suite() -> dict:
    from plasticity.benchmarks.suite import run_suite

    return run_suite(
        steps=40,
        gemm_n=64,
        gemm_repeats=1,
        smoke=True,
        repeats=1,
        n_inputs=50,
        n_directions=4,
        curvature_repeats=1,
        commands={"verify_ci_s": ["--version"], "reproduce_quick_s": ["--help"]},
    )


@pytest.fixture(scope="module")
def tiny_suite() -> dict:
    return _tiny_suite()


def _numbers(obj: object) -> list[float]:
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _numbers(v)]
    if isinstance(obj, list | tuple):
        return [x for v in obj for x in _numbers(v)]
    if isinstance(obj, bool) or obj is None:
        return []
    if isinstance(obj, int | float):
        return [float(obj)]
    return []


def test_suite_json_has_every_key_with_finite_positive_numbers(tiny_suite: dict) -> None:
    import json

    from plasticity.benchmarks.suite import REQUIRED_KEYS

    res = json.loads(json.dumps(tiny_suite, default=float))  # the JSON the command writes
    for key in REQUIRED_KEYS:
        assert key in res, key
    for key in REQUIRED_KEYS:
        if key == "machine":
            continue
        v = res[key]
        assert isinstance(v, float) and math.isfinite(v) and v > 0, (key, v)
    assert res["machine"]["cores"] >= 1
    # the sweeps really ran the requested networks and steps
    for key, network in (("fig5", "nonlinear"), ("fig5s1", "linear")):
        c = res["details"][key]  # the process-pool comparison with the vectorised reference
        assert c["network"] == network and c["runs"] == 9 and c["workers"] == 2
        assert c["steps_timed"] == [20, 40] and c["full_steps"] == 8000
        for side in ("project", "reference"):  # the extrapolation adds up from its reported parts
            d = c[side]
            assert d["full_sweep_s"] == pytest.approx(d["fixed_s"] + d["measure_s"] + 8000 * d["s_per_step"])
        assert res[f"{key}_reference_ratio"] == c["ratio_full_sweep"]
        arch = NONLINEAR if network == "nonlinear" else LINEAR
        flop = flops_per_network_step(arch, 1000) * c["runs"]
        assert c["project"]["gflops"] == pytest.approx(flop / c["project"]["s_per_step"] / 1e9)
        assert sum(r["full_share"] for r in res["details"][f"{key}_stages"]["stages"].values()) == (
            pytest.approx(1.0, abs=1e-12)
        )
    assert all(math.isfinite(x) for x in _numbers(res))


def test_markdown_table_names_every_figure(tiny_suite: dict) -> None:
    from plasticity.benchmarks.suite import to_markdown

    md = to_markdown(tiny_suite)
    for text in (
        "GEMM float32",
        "Figure 5: one step",
        "Figure 5-S1: full sweep",
        "**extrapolated**",
        "Q window",
        "Where a sweep's time goes",
        "exact Hessian",
        "Hessian-vector product",
        "Q for 4 directions",
        "plasticity verify --profile ci",
        "plasticity reproduce --quick",
        "Smoke run",
        tiny_suite["machine"]["cpu_model"],
    ):
        assert text in md, text


def test_suite_skip_commands_and_bad_steps() -> None:
    from plasticity.benchmarks.suite import run_suite, to_markdown

    with pytest.raises(ValueError, match="steps"):
        run_suite(steps=10)
    res = run_suite(
        steps=40,
        gemm_n=32,
        gemm_repeats=1,
        smoke=True,
        repeats=1,
        n_inputs=20,
        n_directions=2,
        curvature_repeats=1,
        profile=False,
        skip_commands=True,
    )
    assert res["verify_ci_s"] is None and res["reproduce_quick_s"] is None
    assert "skipped" in to_markdown(res)


def test_bench_command_writes_json_and_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_suite: dict
) -> None:
    import json

    import plasticity.benchmarks.suite as suite
    from plasticity.checks.cli import main

    seen: dict = {}

    def fake_run_suite(**kwargs: object) -> dict:
        seen.update(kwargs)
        return tiny_suite

    monkeypatch.setattr(suite, "run_suite", fake_run_suite)
    out_json, out_md = tmp_path / "b.json", tmp_path / "b.md"
    argv = ["bench", "--steps", "40", "--skip-commands", "--json", str(out_json), "--markdown", str(out_md)]
    rc = main(argv)
    assert rc == 0
    assert seen["steps"] == 40 and seen["skip_commands"] is True
    assert json.loads(out_json.read_text())["gemm_gflops_f32"] == tiny_suite["gemm_gflops_f32"]
    assert "| measurement |" in out_md.read_text()
    # user errors: one line, exit 2, before any measuring
    assert main(["bench", "--json", str(tmp_path / "missing" / "b.json")]) == 2
    assert main(["bench", "--markdown", str(tmp_path)]) == 2
    with pytest.raises(SystemExit):
        main(["bench", "--steps", "5"])


# ----------------------------------------------------------------------------- regression reference
#
# Results are unchanged by the optimisations: the same seed gives the same steady-state table
# as before them, to float32 rounding.  tests/data/reference_sweep.npz was
# written by the straightforward per-network path (tests/data/make_reference.py).


def _make_reference():  # noqa: ANN202 - the fixture's writer, a script beside the fixture
    spec = importlib.util.spec_from_file_location(
        "make_reference", Path(__file__).parent / "data" / "make_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = Path(__file__).parent / "data" / "reference_sweep.npz"
EPS32 = float(np.finfo(np.float32).eps)


def _load_reference(name: str) -> dict[str, np.ndarray]:
    with np.load(REFERENCE) as z:
        return {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(name + "/")}


def assert_matches_reference(got: dict[str, np.ndarray], ref: dict[str, np.ndarray], steps: int) -> None:
    """Batched (or re-run) results equal the stored reference to accumulated float32 rounding."""
    # Weights: each step adds a handful (<= 4) of float32 roundings of weight-sized quantities
    # (the three updates, and the gradient's products summed in a different order by the
    # batched and per-network paths); at most linearly accumulated over the steps, since the
    # dynamics near the teacher are contractive and do not amplify them in so few steps.
    k = 4 * steps * EPS32
    w_scale = np.abs(ref["weights"]).max()
    np.testing.assert_allclose(got["weights"], ref["weights"], rtol=0, atol=k * w_scale)
    # Task error F = mean r², r = out - y: an output perturbation δo <= k·max|y| changes F by
    # at most 2·√F·δo + δo² (the subtraction out - y cancels, so F's relative error is large
    # where F is tiny, hence a bound in √F rather than a relative tolerance).
    d_out = k * float(ref["output_scale"])
    for field in ("loss", "steady_loss"):
        bound = 2 * np.sqrt(ref[field]) * d_out + d_out**2
        excess = np.abs(got[field] - ref[field]) - bound
        assert np.all(excess <= 0), f"{field} differs beyond float32 rounding by {excess.max():.3g}"
    # Float64 measurements at those float32 weights: smooth, well-conditioned functions of the
    # weights (Q is a ratio of quadratic forms; ‖∇F‖ stays far from 0 at the steady state), so
    # their relative perturbation is that of the weights, k.
    for field in ("grad_norm", "Q_c", "Q_eps"):
        np.testing.assert_allclose(got[field], ref[field], rtol=k, atol=0, err_msg=field)


REFERENCE_CASES = tuple(_make_reference().CASES)  # both input protocols, per_run and shared


def test_regenerating_the_reference_keeps_stored_cases_and_adds_missing_ones(tmp_path: Path) -> None:
    """A new protocol version adds its cases; the stored ones (the old protocol) stay bit for bit."""
    make_reference = _make_reference()
    with np.load(REFERENCE) as z:
        stored = {k: z[k] for k in z.files}
    assert all(f"{name}/weights" in stored for name in make_reference.CASES)
    dropped = "linear_fullbatch_shared"
    out = tmp_path / "ref.npz"
    np.savez_compressed(out, **{k: v for k, v in stored.items() if not k.startswith(dropped + "/")})
    make_reference.make_reference(out)
    with np.load(out) as z:
        again = {k: z[k] for k in z.files}
    assert set(again) == set(stored)
    for k, v in stored.items():
        if not k.startswith(dropped + "/"):
            np.testing.assert_array_equal(again[k], v, err_msg=k)  # kept as stored
    assert_matches_reference(
        {k.split("/", 1)[1]: v for k, v in again.items() if k.startswith(dropped + "/")},
        _load_reference(dropped),
        make_reference.STEPS,
    )


@pytest.mark.parametrize("name", REFERENCE_CASES)
def test_batched_engine_reproduces_straightforward_reference(name: str) -> None:
    make_reference = _make_reference()
    from plasticity.numerics.dynamics import simulate

    ref = _load_reference(name)
    assert int(np.load(REFERENCE)["steps"]) == make_reference.STEPS
    _, runs, _ = make_reference.case_inputs(name)
    np.testing.assert_array_equal(runs.ratio, ref["runs_ratio"])  # the same sweep as stored
    np.testing.assert_array_equal(runs.noise_to_signal, ref["runs_noise_to_signal"])
    got = make_reference.compute(simulate, name)
    assert_matches_reference(got, ref, make_reference.STEPS)


@pytest.mark.parametrize("name", REFERENCE_CASES)
def test_reference_path_still_reproduces_stored_reference(name: str) -> None:
    """If this fails too, the protocol itself (draws, initialisation) changed, not the batching."""
    make_reference = _make_reference()
    from plasticity.numerics.dynamics import simulate_reference

    got = make_reference.compute(simulate_reference, name)
    assert_matches_reference(got, _load_reference(name), make_reference.STEPS)


def test_reference_comparison_catches_a_small_change(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison bites: γ₁ off by 0.1 % (a slipped constant) is detected."""
    import plasticity.numerics.dynamics as dynamics

    make_reference = _make_reference()
    from plasticity.numerics.dynamics import engine

    real = dynamics.compensation_gammas

    def off(magnitude: np.ndarray, noise_to_signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        g1, g2 = real(magnitude, noise_to_signal)
        return g1 * 1.001, g2

    monkeypatch.setattr(engine, "compensation_gammas", off)  # where simulate looks it up
    got = make_reference.compute(dynamics.simulate, "nonlinear_bootstrap")
    with pytest.raises(AssertionError):
        assert_matches_reference(got, _load_reference("nonlinear_bootstrap"), make_reference.STEPS)


@pytest.mark.slow
def test_bench_command_at_paper_scale(tmp_path: Path) -> None:
    """The real `plasticity bench` (paper-sized sweeps, short runs); a few minutes."""
    import json

    from plasticity.benchmarks.suite import REQUIRED_KEYS
    from plasticity.checks.cli import main

    out = tmp_path / "bench.json"
    assert main(["bench", "--steps", "40", "--skip-commands", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["details"]["fig5"]["runs"] == 486 and res["details"]["fig5s1"]["runs"] == 648
    for key in REQUIRED_KEYS:
        if key in ("machine", "verify_ci_s", "reproduce_quick_s"):
            continue
        assert isinstance(res[key], float) and math.isfinite(res[key]) and res[key] > 0, key
