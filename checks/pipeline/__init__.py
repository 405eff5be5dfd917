"""The files `plasticity reproduce` collects, and the work behind them.

* :mod:`~checks.pipeline.figures` -- figures 1, 5, 5s1: run, write CSV/JSON
  (:mod:`~checks.pipeline.plots` draws them).
"""
