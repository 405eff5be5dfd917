"""Performance measurements for `plasticity bench`.

Each measurement is a small function returning numbers (a dict of floats), so that it can be
pointed at any implementation and composed by :func:`plasticity.benchmarks.suite.run_suite`:

- :mod:`benchmarks.machine`: what the numbers were measured on (CPU, cores, BLAS, load).
- :mod:`benchmarks.timing`: best-of-several wall-clock timing and two-point extrapolation.
- :mod:`benchmarks.roofline`: float32 / float64 GEMM throughput, the roofline.
- :mod:`benchmarks.flops`: matrix-product FLOP counts per network-step, from the architecture.
- :mod:`benchmarks.sweeps`: Figure 5 / 5-S1 sweeps in this process (set-up, per step, Q window).
- :mod:`plasticity.benchmarks.curvature`: exact Hessian, one Hessian-vector product, Q for 100 directions.
- :mod:`benchmarks.vectorised`: the vectorised numpy reference of the sweep protocol (the yardstick).
- :mod:`benchmarks.yardstick`: the project's sweep against it through the same process pool.
- :mod:`benchmarks.pipeline`: where a sweep's time goes, stage by stage (cProfile by function).
- :mod:`plasticity.benchmarks.commands`: wall times of whole `plasticity` subcommands.
- :mod:`plasticity.benchmarks.suite`: runs them all, writes JSON and a Markdown table.

Performance is measured here, never asserted in tests.
"""
