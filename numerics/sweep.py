"""Run a grid sweep in chunks: progress bar, atomic checkpoints, resume, any executor.

The sweep's runs are cut into chunks of ``chunk_runs`` consecutive run ids.  Each chunk is one
batched :func:`plasticity.numerics.dynamics.simulate` call; because every run owns its random stream
(keyed by seed and run id), results do not depend on the chunk size, on which worker ran a
chunk, or on whether the sweep was interrupted and resumed (with ``SweepProtocol(inputs="shared")``
the chunk size and thread split enter through float32 rounding only).  Finished chunks are written to
``checkpoint_dir/chunk_XXXXX.npz`` atomically (temporary file + ``os.replace``) next to a
``manifest.json`` fingerprint of the sweep; a rerun with the same fingerprint loads them instead
of recomputing.  ``executor`` is anything with ``submit(fn, *args)`` returning futures (a
``concurrent.futures.ProcessPoolExecutor``, or a Dask ``Client.get_executor()``).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from concurrent.futures import Executor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from plasticity.numerics.dynamics import Runs, SweepProtocol, predicted_ratio, simulate
from plasticity.numerics.experiments import SweepExperiment
from plasticity.numerics.files import atomic_write_bytes
from plasticity.numerics.ratios import fixed_point

#: per-run summary fields a chunk returns (arrays over the chunk's runs)
CHUNK_FIELDS = ("steady_loss", "grad_norm", "Q_c", "Q_eps", "settled", "relative_drift", "steps_run")


def compute_chunk(network: str, runs: Runs, protocol: SweepProtocol, seed: int, workers: int = 1) -> dict:
    """Simulate one chunk of runs and return its per-run summaries (picklable, for executors)."""
    res = simulate(network, runs, protocol, seed, workers=workers)
    return {k: np.asarray(getattr(res, k)) for k in CHUNK_FIELDS}


def _fingerprint(exp: SweepExperiment, seed: int) -> str:
    blob = json.dumps({"experiment": asdict(exp), "seed": seed}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _save_chunk(path: Path, result: dict) -> None:
    import io

    buf = io.BytesIO()
    np.savez(buf, **result)
    atomic_write_bytes(path, buf.getvalue())


def _load_chunk(path: Path) -> dict:
    with np.load(path) as z:
        return {k: z[k] for k in CHUNK_FIELDS}


@dataclass
class SweepResult:
    """Per-run table of a finished sweep (every array has one entry per run, in run_id order)."""

    experiment: SweepExperiment
    seed: int
    table: dict[str, np.ndarray]
    computed_chunks: list[int]  # chunks computed in this call (the rest came from checkpoints)
    n_chunks: int


def run_sweep(
    exp: SweepExperiment,
    seed: int,
    *,
    checkpoint_dir: str | Path | None = None,
    executor: Executor | None = None,
    chunk_runs: int | None = None,
    workers: int = 2,
    progress: bool = True,
    on_chunk_done: Callable[[int], None] | None = None,
) -> SweepResult:
    """Run every chunk of ``exp`` not already checkpointed, then assemble the per-run table.

    ``on_chunk_done(k)`` is called after chunk k is saved (used by tests to interrupt a sweep).
    ``workers`` threads per chunk when running in-process; executor workers use one each.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    chunk_runs = int(chunk_runs or exp.chunk_runs)
    if chunk_runs < 1:
        raise ValueError(f"chunk_runs must be >= 1, got {chunk_runs}")
    runs = exp.runs()
    n = len(runs)
    bounds = [(s, min(s + chunk_runs, n)) for s in range(0, n, chunk_runs)]
    ckdir = None
    results: dict[int, dict] = {}
    if checkpoint_dir is not None:
        ckdir = Path(checkpoint_dir)
        ckdir.mkdir(parents=True, exist_ok=True)
        fp = _fingerprint(exp, int(seed))
        manifest = ckdir / "manifest.json"
        meta = {"fingerprint": fp, "chunk_runs": chunk_runs, "n_runs": n}
        if manifest.exists():
            old = json.loads(manifest.read_text())
            if old.get("fingerprint") != fp or old.get("chunk_runs") != chunk_runs:
                raise ValueError(
                    f"checkpoint directory {ckdir} holds a different sweep or chunking "
                    f"({old}); use another directory or delete it"
                )
        else:
            atomic_write_bytes(manifest, json.dumps(meta).encode())
        for k in range(len(bounds)):
            path = ckdir / f"chunk_{k:05d}.npz"
            if path.exists():
                results[k] = _load_chunk(path)
    pending = [k for k in range(len(bounds)) if k not in results]
    bar = _progress(len(bounds), len(bounds) - len(pending), exp.name, progress)
    computed: list[int] = []

    def finish(k: int, res: dict) -> None:
        results[k] = res
        if ckdir is not None:
            _save_chunk(ckdir / f"chunk_{k:05d}.npz", res)
        computed.append(k)
        bar.update(1)
        if on_chunk_done is not None:
            on_chunk_done(k)

    try:
        if executor is None:
            for k in pending:
                s, e = bounds[k]
                finish(k, compute_chunk(exp.network, runs.take(np.arange(s, e)), exp.protocol, seed, workers))
        else:
            futures = {
                executor.submit(
                    compute_chunk, exp.network, runs.take(np.arange(*bounds[k])), exp.protocol, int(seed), 1
                ): k
                for k in pending
            }
            for fut in as_completed(futures):
                finish(futures[fut], fut.result())
    finally:
        bar.close()
    table = exp.table()
    for key in CHUNK_FIELDS:
        table[key] = np.concatenate([results[k][key] for k in range(len(bounds))])
    table["settled"] = table["settled"].astype(bool)
    table["predicted_ratio"] = predicted_ratio(table["Q_eps"], table["Q_c"])
    return SweepResult(exp, int(seed), table, sorted(computed), len(bounds))


def _progress(total: int, initial: int, name: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        desc=f"{name} chunks",
        unit="chunk",
        file=sys.stderr,
        disable=not enabled,
    )


# ----------------------------------------------------------------------------- per-panel summaries


def _sd_of_grid_values(x: np.ndarray) -> float:
    """Sample s.d. of grid ratios (exactly 0 when all reps pick the same grid point)."""
    x = x[np.isfinite(x)]
    if len(x) < 2:
        return float("nan")
    return 0.0 if np.all(x == x[0]) else float(np.std(x, ddof=1))


def panel_summary(result: SweepResult) -> list[dict]:
    """Per (noise_to_signal, f) panel: predicted, loss-minimising and gradient-norm-minimising ratios.

    ``predicted_ratio``: the self-consistent eq9a prediction, the fixed point of
    r = √(Q[Δε]/Q[Δc](r)) with Q measured at each swept ratio (linear interpolation), per rep,
    then mean and s.d. over reps.  ``best_loss_ratio`` / ``best_grad_ratio``: the swept ratio
    minimising the rep-mean steady error / gradient norm; their spreads are the s.d. over reps of
    each rep's own minimiser.
    """
    t = result.table
    rows = []
    for nts in result.experiment.noise_to_signal:
        for f in result.experiment.fluct_per_sqrtN:
            sel = (t["noise_to_signal"] == nts) & (t["fluct_per_sqrtN"] == f)
            ratios = np.unique(t["ratio"][sel])
            reps = np.unique(t["rep"][sel])

            def grid(key: str, sel=sel, ratios=ratios, reps=reps) -> np.ndarray:
                g = np.full((len(reps), len(ratios)), np.nan)
                for i, rep in enumerate(reps):
                    for j, r in enumerate(ratios):
                        m = sel & (t["rep"] == rep) & (t["ratio"] == r)
                        g[i, j] = t[key][m][0]
                return g

            loss, gn, pred = grid("steady_loss"), grid("grad_norm"), grid("predicted_ratio")
            fp = np.array([fixed_point(ratios, pred[i]) for i in range(len(reps))])
            mean_loss = loss.mean(axis=0)
            jbest = int(np.nanargmin(mean_loss))
            gmean = np.nanmean(gn, axis=0) if np.isfinite(gn).any() else np.full(len(ratios), np.nan)
            best_grad = float(ratios[int(np.nanargmin(gmean))]) if np.isfinite(gmean).any() else float("nan")
            per_rep_loss = ratios[np.nanargmin(loss, axis=1)]
            per_rep_grad = (
                ratios[np.nanargmin(np.where(np.isfinite(gn), gn, np.inf), axis=1)]
                if np.isfinite(gn).any()
                else np.full(len(reps), np.nan)
            )
            rows.append(
                {
                    "network": result.experiment.network,
                    "noise_to_signal": float(nts),
                    "fluct_per_sqrtN": float(f),
                    "predicted_ratio": float(np.nanmean(fp)) if np.isfinite(fp).any() else float("nan"),
                    "predicted_ratio_sd": float(np.nanstd(fp, ddof=1))
                    if np.isfinite(fp).sum() > 1
                    else float("nan"),
                    "predicted_at_best": float(np.nanmean(pred[:, jbest])),
                    "best_loss_ratio": float(ratios[jbest]),
                    "best_loss_ratio_sd": _sd_of_grid_values(per_rep_loss) if len(reps) > 1 else float("nan"),
                    "best_grad_ratio": best_grad,
                    "best_grad_ratio_sd": _sd_of_grid_values(per_rep_grad) if len(reps) > 1 else float("nan"),
                    "n_reps": int(len(reps)),
                    "n_unsettled": int((~t["settled"][sel]).sum()),
                }
            )
    return rows
