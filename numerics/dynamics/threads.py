"""BLAS thread control for the engine: its small products run on one BLAS thread."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from threadpoolctl import threadpool_limits


@contextlib.contextmanager
def blas_single_threaded() -> Iterator[None]:
    """Run the body with every BLAS library numpy and scipy loaded on one thread.

    The engine's products are small (20×12 by 12×1000); OpenBLAS threading them while the
    engine's own worker threads run measured 1.3× slower here.  It also makes results
    independent of the BLAS thread count, so a sweep split over processes is bit-identical to
    the in-process one.  threadpoolctl finds the libraries whatever their build names them
    (numpy 1.26 bundles ``libopenblas64_p``, numpy 2 ``libscipy_openblas64_``).
    """
    with threadpool_limits(limits=1, user_api="blas"):
        yield
