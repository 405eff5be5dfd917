"""One input set shared by a sweep's runs (SweepProtocol(inputs="shared")) against per-run sets.

The paper's statistics do not need each run to own its inputs: the steady-state errors and
every panel's best ratio must come out the same in distribution.  Compared across seeds, the
seed being the independent unit (under "shared" the runs of one seed share their inputs, so
repetitions within a seed are not independent).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from plasticity.numerics.dynamics import Runs, SweepProtocol, init_state, simulate
from plasticity.numerics.experiments import PAPER_FLUCT, SweepExperiment, experiment
from plasticity.numerics.sweep import panel_summary, run_sweep

SEEDS = range(6)


def _small(network: str, inputs: str) -> SweepExperiment:
    """Two panels (γ₂/γ₁ 0.1 and 20 at f = 0.02), four ratios, two repetitions, 800 steps."""
    proto = SweepProtocol(steps=800, window=100, measure_every=10, settle_window=200, inputs=inputs)
    return SweepExperiment(
        "small", network, (0.1, 20.0), (PAPER_FLUCT[1],), (0.4, 1.0, 1.6, 2.5), 2, proto, "quick"
    )


def _across_seeds(network: str, inputs: str) -> tuple[np.ndarray, np.ndarray]:
    """Per seed: rep-mean steady error per (panel, ratio), and each panel's best ratio."""
    exp = _small(network, inputs)
    loss, best = [], []
    for seed in SEEDS:
        res = run_sweep(exp, seed, progress=False, workers=1)
        t = res.table
        grid = t["steady_loss"].reshape(len(exp.noise_to_signal), len(exp.ratios), exp.reps)
        loss.append(grid.mean(axis=2))
        best.append([row["best_loss_ratio"] for row in panel_summary(res)])
    return np.array(loss), np.array(best)


def _z(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two-sample z of the means over seeds (axis 0); 0 where both are constant and equal."""
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    diff = a.mean(axis=0) - b.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0, diff / se, np.where(diff == 0, 0.0, np.inf))


@pytest.mark.parametrize("network", ["nonlinear", "linear"])
def test_shared_inputs_are_statistically_equivalent_to_per_run_inputs(network: str) -> None:
    loss_run, best_run = _across_seeds(network, "per_run")
    loss_sh, best_sh = _across_seeds(network, "shared")
    # |z| < 4 per (panel, ratio): two-sided 6e-5 each, 8 comparisons fail by chance < 5e-4
    z = _z(loss_sh, loss_run)
    assert np.all(np.abs(z) < 4), (z, loss_sh.mean(axis=0), loss_run.mean(axis=0))
    # every panel's best ratio, its spread over seeds the yardstick
    zb = _z(best_sh, best_run)
    assert np.all(np.abs(zb) < 4), (zb, best_sh, best_run)
    # power: across the ratios the steady errors differ by many standard errors
    se = np.sqrt(loss_run.var(axis=0, ddof=1) / len(loss_run))
    assert np.all(np.ptp(loss_run.mean(axis=0), axis=1) > 6 * se.max(axis=1))


def test_shared_inputs_are_one_set_and_leave_the_rest_of_each_stream() -> None:
    runs = Runs(np.full(3, 0.4), np.full(3, 1.0), np.full(3, 0.1), np.array([0, 5, 9]))
    proto = SweepProtocol(steps=40, window=10, settle_window=10, inputs="shared")
    shared = init_state("nonlinear", runs, proto, seed=4)
    per_run = init_state("nonlinear", runs, dataclasses.replace(proto, inputs="per_run"), seed=4)
    assert shared.shared_x is not None and per_run.shared_x is None
    assert np.all(shared.inputs == shared.inputs[0])  # one set for every run
    assert not np.array_equal(per_run.inputs[0], per_run.inputs[1])
    # the teachers and starts come first in each run's stream: unchanged by the protocol
    np.testing.assert_array_equal(shared.teacher, per_run.teacher)
    np.testing.assert_array_equal(shared.weights, per_run.weights)
    # a subset of runs (run extension) keeps the shared set
    sub = shared.take(np.array([2]))
    np.testing.assert_array_equal(sub.inputs[0], shared.shared_x)
    # a run's trajectory depends on which runs share its batch only through float32 rounding
    # (the first layer's one matrix product rounds by its row blocking): per step at most a few
    # roundings of weight-sized numbers, accumulated linearly over 40 steps (as the stored
    # reference sweep's bound, tests/test_bench.py)
    both = simulate("nonlinear", runs, proto, seed=4, workers=1)
    alone = simulate("nonlinear", runs.take(np.array([1])), proto, seed=4, workers=1)
    eps32 = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(
        both.weights[1], alone.weights[0], rtol=0, atol=4 * 40 * eps32 * np.abs(alone.weights).max()
    )


def test_input_protocol_is_validated_and_versioned() -> None:
    with pytest.raises(ValueError, match="inputs"):
        SweepProtocol(inputs="per_chunk")
    for name in ("fig5", "fig5s1"):
        assert experiment(name, "full").protocol.inputs == "per_run"  # the stored results' protocol
        new = experiment(name, "full", inputs="shared")
        assert new.protocol.inputs == "shared"
        assert dataclasses.replace(new.protocol, inputs="per_run") == experiment(name, "full").protocol
    with pytest.raises(ValueError, match="input protocol 'nope'"):
        experiment("fig5", "full", inputs="nope")
