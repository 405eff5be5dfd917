"""The staged main job behind `plasticity reproduce`, and the files it writes.

* :mod:`~checks.pipeline.runner` -- :class:`Stage`, the manifest, the process-pool runner;
* :mod:`~checks.pipeline.stages` -- the stage list, each stage a direct library call;
* :mod:`~checks.pipeline.figures` -- figures 1, 5, 5s1: run, write CSV/JSON
  (:mod:`~checks.pipeline.plots` draws them);
* :mod:`~checks.pipeline.predictions` -- predicted against simulated best ratios, eq9a rechecked;
* ``examples/`` -- the built-in landscape example (package data).

:func:`plasticity.checks.reproduce.reproduce` runs the stages and writes the report.
"""
