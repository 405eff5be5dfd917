"""The roofline: this machine's dense matrix-multiply (GEMM) throughput in float32 and float64.

A large square product is the best case for the BLAS, so its GFLOP/s is the ceiling every
other figure in the benchmark is compared with.
"""

from __future__ import annotations

import numpy as np

from plasticity.benchmarks.timing import best_of


def gemm_gflops(dtype: type = np.float32, n: int = 4096, repeats: int = 3, seed: int = 0) -> float:
    """GFLOP/s of an ``n``×``n`` by ``n``×``n`` product (2n³ FLOP), best of ``repeats``."""
    if n < 1:
        raise ValueError(f"GEMM size n must be >= 1, got {n}")
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"GEMM dtype must be float32 or float64, got {dt}")
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n)).astype(dt)
    b = rng.standard_normal((n, n)).astype(dt)
    c = np.empty((n, n), dtype=dt)
    seconds = best_of(lambda: np.matmul(a, b, out=c), repeats=repeats, warmup=1)
    return 2.0 * n**3 / seconds / 1e9
