"""What a benchmark ran on: CPU model, cores, numpy and its BLAS, load average.

Benchmarks are only comparable on the same machine under the same load, so every run
records both.
"""

from __future__ import annotations

import ctypes
import glob
import os
import platform
from typing import Any

import numpy as np


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
    """numpy's BLAS: name, version and configuration; thread pools via threadpoolctl if installed."""
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
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        info["threadpools"] = None
    else:
        info["threadpools"] = [
            {k: p.get(k) for k in ("internal_api", "version", "num_threads", "threading_layer")}
            for p in threadpool_info()
        ]
    return info


def openblas_threads() -> int | None:
    """Threads numpy's bundled OpenBLAS uses now (None if numpy does not bundle OpenBLAS).

    Read through the library's own ``openblas_get_num_threads`` so that a runtime change
    (for example the engine pinning BLAS to one thread) is seen, not just the environment.
    """
    libdir = os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs")
    for path in glob.glob(os.path.join(libdir, "libscipy_openblas*.so*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_openblas_get_num_threads64_", "scipy_openblas_get_num_threads"):
            fn = getattr(lib, name, None)
            if fn is not None:
                return int(fn())
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
