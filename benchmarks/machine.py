"""What a benchmark ran on: CPU model, cores, numpy and its BLAS, load average.

Benchmarks are only comparable on the same machine under the same load, so every run
records both.
"""

from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np
from threadpoolctl import threadpool_info


def cpu_model(cpuinfo: str = "/proc/cpuinfo") -> str:
    """The CPU's model name from /proc/cpuinfo, or ``platform.processor()`` where there is none."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cores() -> int:
    """Cores this process may run on (affinity mask where available, else ``os.cpu_count``)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def blas_info() -> dict[str, Any]:
    """numpy's BLAS: name, version and configuration, and the thread pools threadpoolctl sees."""
    info: dict[str, Any] = {}
    try:
        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        info = {
            "name": blas.get("name"),
            "version": blas.get("version"),
            "config": blas.get("openblas configuration"),
        }
        simd = config.get("SIMD Extensions", {})
        info["simd_found"] = list(simd.get("found", []))
    except Exception as exc:  # noqa: BLE001 - show_config's format varies across numpy versions
        info = {"name": None, "error": f"numpy.show_config failed: {exc}"}
    info["threadpools"] = [
        {k: p.get(k) for k in ("internal_api", "version", "num_threads", "threading_layer")}
        for p in threadpool_info()
    ]
    return info


def openblas_threads() -> int | None:
    """Threads numpy's bundled BLAS uses now (None if numpy bundles none that threadpoolctl sees).

    Read at run time through threadpoolctl, so that a runtime change (for example the engine
    pinning BLAS to one thread) is seen, not just the environment.
    """
    for pool in threadpool_info():
        if pool.get("user_api") == "blas" and os.path.basename(os.path.dirname(pool["filepath"])) == (
            "numpy.libs"
        ):
            return int(pool["num_threads"])
    return None


def load_average() -> list[float] | None:
    """1, 5 and 15 minute load averages (None where the OS does not provide them)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def machine_info() -> dict[str, Any]:
    """Everything needed to say what the numbers were measured on."""
    return {
        "cpu_model": cpu_model(),
        "cores": usable_cores(),
        "logical_cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "openblas_threads": openblas_threads(),
        "thread_env": {
            k: os.environ[k]
            for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
            if k in os.environ
        },
        "load_average": load_average(),
    }
