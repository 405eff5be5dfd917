"""Smoke tests of the benchmark harness at tiny sizes.

Performance is never asserted here: only that every measurement runs, returns finite
positive numbers, and that the bookkeeping (FLOP counts, phase attribution, JSON keys) is
right.
"""

from __future__ import annotations

import importlib.util
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

from benchmarks.commands import time_command
from benchmarks.flops import flops_per_network_step
from benchmarks.machine import machine_info
from benchmarks.phases import BOOKKEEPING, classify, profile_phases
from benchmarks.roofline import gemm_gflops
from benchmarks.timing import best_of, step_cost
from numerics.networks import LINEAR, NONLINEAR, Architecture


def test_flops_per_network_step_matches_issue_and_hand_count() -> None:
    # issue 6 quotes 2.16 MFLOP per nonlinear network-step on 1000 samples
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


def test_machine_info_names_cpu_cores_and_blas() -> None:
    info = machine_info()
    assert isinstance(info["cpu_model"], str) and info["cpu_model"]
    assert info["cores"] >= 1
    assert "blas" in info and "numpy" in info


def test_classify_lines_into_phases() -> None:
    assert classify("nu = rng.standard_normal((B, n), dtype=np.float32)") == "random numbers"
    assert classify("counts = self.rng.multinomial(1000, p)") == "random numbers"
    assert classify("h = expit(W1 @ X)") == "sigmoid"
    assert classify("g = delta @ h.T") == "matrix products"
    assert classify("step(rng, W, X)") == BOOKKEEPING  # passing a generator draws nothing
    assert classify("w += eps  # rng.standard_normal(...) earlier") == BOOKKEEPING


def test_profile_phases_attributes_lines(tmp_path: Path) -> None:
    src = textwrap.dedent(
        """
        import numpy as np

        def step(rng, W, X):
            h = W @ X
            n = rng.standard_normal(W.shape)
            k = 0
            for i in range(3):
                k += i
            return h, n, k
        """
    )
    path = tmp_path / "toy_engine.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("toy_engine", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rng = np.random.default_rng(0)
    W, X = rng.standard_normal((40, 40)), rng.standard_normal((40, 40))
    prof = profile_phases(lambda: [mod.step(rng, W, X) for _ in range(5)], [str(path)])
    shares = prof["shares"]
    assert set(shares) == {"random numbers", "sigmoid", "matrix products", BOOKKEEPING}
    # shares are fractions of the traced time: they sum to 1 up to float rounding
    assert sum(shares.values()) == pytest.approx(1.0, abs=1e-12)
    assert shares["matrix products"] > 0 and shares["random numbers"] > 0
    assert shares["sigmoid"] == 0.0  # no sigmoid line exists in the toy
    by_source = {line["source"]: line for line in prof["top_lines"]}
    assert by_source["h = W @ X"]["hits"] == 5
    assert by_source["k += i"]["hits"] == 15
    with pytest.raises(ValueError, match="source file"):
        profile_phases(lambda: None, [])


def test_time_command_runs_a_subcommand() -> None:
    t = time_command(["--help"], timeout_s=120)
    assert t.ok and t.seconds > 0
    bad = time_command(["no-such-subcommand"], timeout_s=120)
    assert not bad.ok and bad.returncode != 0
    with pytest.raises(ValueError, match="sequence"):
        time_command("verify --profile ci")
