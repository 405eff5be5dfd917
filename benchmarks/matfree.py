"""The matrix-free landscape report at large N: time at N ≈ 10⁵ and peak memory at N = 10⁶.

The landscape is a numpy one with exact, batched HVPs and a Hessian that is indefinite,
neither diagonal nor low rank: F(w) = Σⱼ cⱼ cos(wⱼ) + (λ/2)‖w‖² + ½‖A(w − w₀)‖² with A of
shape (r, N), so ∇²F = diag(λ − c ⊙ cos w) + AᵀA.  Its HVP costs O(rN), like a gradient,
and nothing of size N² exists.  The report's time is given beside the time of one gradient
(the in-run reference: the report costs that many gradients), and peak memory is measured
in a fresh subprocess (``ru_maxrss``), beside the memory of one N-vector.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any

import numpy as np

__all__ = ["CosineLowRank", "matrix_free_report_timing", "peak_memory"]


class CosineLowRank:
    """F(w) = Σ cⱼ cos wⱼ + (λ/2)‖w‖² + ½‖A(w − w₀)‖², exact derivatives, O(rN) per product."""

    def __init__(self, n: int, rank: int = 8, lam: float = 1.0, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.n, self.w_star = n, None
        self.c = rng.uniform(0.5, 1.5, n)
        self.lam = lam
        self.A = rng.standard_normal((rank, n)) / np.sqrt(n) * 10.0
        self.w0 = rng.standard_normal(n)

    def loss(self, w: np.ndarray) -> float:
        r = self.A @ (w - self.w0)
        return float(self.c @ np.cos(w) + 0.5 * self.lam * w @ w + 0.5 * r @ r)

    def grad(self, w: np.ndarray) -> np.ndarray:
        return -self.c * np.sin(w) + self.lam * w + self.A.T @ (self.A @ (w - self.w0))

    def grad_batch(self, W: np.ndarray) -> np.ndarray:
        return np.stack([self.grad(w) for w in W])

    def loss_batch(self, W: np.ndarray) -> np.ndarray:
        return np.array([self.loss(w) for w in W])

    def hvp(self, w: np.ndarray, V: np.ndarray) -> np.ndarray:
        V = np.asarray(V, dtype=np.float64)
        d = self.lam - self.c * np.cos(w)
        return V * d + (V @ self.A.T) @ self.A

    def hessian(self, w: np.ndarray) -> np.ndarray:
        raise ValueError("CosineLowRank has no dense Hessian: it exists for the matrix-free path")


def matrix_free_report_timing(
    n: int = 100_000, rel_stderr: float = 0.02 / 5, seed: int = 0
) -> dict[str, Any]:
    """Seconds for the whole matrix-free report at N = ``n`` (Tr/N until its standard error is
    ``rel_stderr`` of it, so that z = 5 standard errors are ±2 %), with the time of one
    gradient at the same point as the reference."""
    from plasticity.checks.landscape.analysis import analyse

    land = CosineLowRank(n, seed=seed)
    w = np.random.default_rng(seed + 1).uniform(-2.0, 2.0, n)
    start = time.perf_counter()
    for _ in range(5):
        land.grad(w)
    grad_s = (time.perf_counter() - start) / 5
    start = time.perf_counter()
    rep = analyse(land, w, matrix_free=True, rel_stderr=rel_stderr, max_probes=4096, seed=seed)
    seconds = time.perf_counter() - start
    tr = rep.uncertainty["trace_over_n"]
    return {
        "n": n,
        "seconds": seconds,
        "gradient_seconds": grad_s,
        "report_in_gradients": seconds / grad_s,
        "hvp_products": rep.matrix_free["hvp_products"],
        "trace_over_n": rep.trace_over_n,
        "trace_relative_halfwidth": (tr["bound"] + 5 * tr["stderr"]) / abs(rep.trace_over_n),
        "trace_probes": rep.matrix_free["trace_probes"],
        "lambda_min": [rep.lambda_min, rep.uncertainty["lambda_min"]["bound"]],
        "lambda_max": [rep.lambda_max, rep.uncertainty["lambda_max"]["bound"]],
    }


def peak_memory(n: int = 1_000_000, seed: int = 0) -> dict[str, Any]:
    """Peak resident memory (MiB) of a fresh process that runs the matrix-free report at N = ``n``,
    beside the size of one float64 N-vector."""
    code = (
        "import json, resource, sys\n"
        "from plasticity.benchmarks.matfree import matrix_free_report_timing\n"
        f"out = matrix_free_report_timing({n}, seed={seed})\n"
        "out['maxrss_mib'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["vector_mib"] = n * 8 / 2**20
    return out


def main() -> None:
    """Print both measurements as JSON."""
    print(json.dumps({"n_1e5": matrix_free_report_timing(), "n_1e6_memory": peak_memory()}, indent=2))
    print("(this process' own peak:", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "MiB)")


if __name__ == "__main__":
    main()
