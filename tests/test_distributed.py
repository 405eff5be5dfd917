"""The sweep runner on a Dask distributed cluster gives the in-process result.

Skips cleanly when Dask is not installed (`pip install -e '.[distributed]'`, which `.ci/run`
does).  Uses the Figure 5 network (nonlinear, bootstrap batches) on a tiny grid, and an
in-process (threads) LocalCluster so that start-up stays around a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from plasticity.numerics import sweep as S  # noqa: E402 - after the skip
from plasticity.numerics.dynamics import SweepProtocol  # noqa: E402
from plasticity.numerics.experiments import SweepExperiment  # noqa: E402

pytestmark = pytest.mark.distributed

#: 2 × 1 × 3 × 2 = 12 nonlinear runs in 4 chunks of 3
TINY_FIG5 = SweepExperiment(
    name="fig5",
    network="nonlinear",
    noise_to_signal=(0.1, 20.0),
    fluct_per_sqrtN=(0.02,),
    ratios=(0.4, 1.0, 2.5),
    reps=2,
    protocol=SweepProtocol(steps=40, window=10, settle_window=10, measure_every=5),
    scale="quick",
    chunk_runs=3,
)
#: every per-run field of the table a sweep returns
FIELDS = (
    "steady_loss",
    "grad_norm",
    "Q_c",
    "Q_eps",
    "predicted_ratio",
    "settled",
    "relative_drift",
    "steps_run",
)


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def client() -> Iterator[object]:
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


@pytest.fixture(scope="module")
def in_process() -> S.SweepResult:
    return S.run_sweep(TINY_FIG5, seed=11, progress=False)


def assert_same(a: S.SweepResult, b: S.SweepResult) -> None:
    # bit-for-bit: each run owns its random stream (seed, run id) and every product is a
    # per-network computation on the same data, whichever worker or chunk runs it
    for key in FIELDS:
        np.testing.assert_array_equal(a.table[key], b.table[key], err_msg=key)


def test_dask_executor_gives_the_in_process_result(client: object, in_process: S.SweepResult) -> None:
    res = S.run_sweep(TINY_FIG5, seed=11, executor=client.get_executor(), progress=False)
    assert res.n_chunks == 4 and res.computed_chunks == [0, 1, 2, 3]
    assert np.all(np.isfinite(res.table["steady_loss"]))
    assert_same(res, in_process)
    # and the seed matters: another seed on the cluster gives another table
    other = S.run_sweep(TINY_FIG5, seed=12, executor=client.get_executor(), progress=False)
    assert not np.array_equal(other.table["steady_loss"], in_process.table["steady_loss"])


def test_sweep_interrupted_in_process_resumes_on_the_cluster(
    client: object, in_process: S.SweepResult, tmp_path: Path
) -> None:
    def stop_after_one(k: int) -> None:
        raise Interrupt

    with pytest.raises(Interrupt):
        S.run_sweep(TINY_FIG5, seed=11, checkpoint_dir=tmp_path, progress=False, on_chunk_done=stop_after_one)
    assert len(list(tmp_path.glob("chunk_*.npz"))) == 1
    resumed = S.run_sweep(
        TINY_FIG5, seed=11, checkpoint_dir=tmp_path, executor=client.get_executor(), progress=False
    )
    assert resumed.computed_chunks == [1, 2, 3]  # the checkpointed chunk is not recomputed
    assert_same(resumed, in_process)
