"""Writes the example Hessians and points used in examples/README.md (run from the repository root).

* ``hessian.npy``: N = 50, spectrum geomspace(0.01, 1) in a random orthonormal basis (seed 0);
* ``point_equal.npy``: w − w* with equal projections on every eigenvector (Chebyshev: the
  main claim holds for gradient compensation);
* ``point_flat.npy``: w − w* projecting mostly on the flattest eigenvectors (the main claim
  fails for gradient compensation: Q[∇F] < Tr/N);
* ``saddle.npy``: the same basis with the smallest eigenvalue made negative (indefinite).

``hessian.npy`` and ``point_equal.npy`` here are symbolic links to ``checks/pipeline/examples/``,
where they ship as package data (the built-in example of `plasticity reproduce`); saving
through the links writes those files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def main() -> None:
    n = 50
    rng = np.random.default_rng(0)
    U, _ = np.linalg.qr(rng.standard_normal((n, n)))
    lam = np.geomspace(0.01, 1.0, n)
    H = (U * lam) @ U.T
    np.save(HERE / "hessian.npy", 0.5 * (H + H.T))
    np.save(HERE / "point_equal.npy", U @ np.ones(n))
    flat = np.where(np.arange(n) < n // 2, 1.0, 0.01)  # large projections on the flattest half
    np.save(HERE / "point_flat.npy", U @ flat)
    lam_saddle = lam.copy()
    lam_saddle[0] = -0.5
    S = (U * lam_saddle) @ U.T
    np.save(HERE / "saddle.npy", 0.5 * (S + S.T))


if __name__ == "__main__":
    main()
