"""The theory's claims on a user's own landscape at a point: `plasticity landscape`.

* :mod:`~checks.landscape.spec` -- a landscape from a SPEC (module file, expression, ``.npy``
  Hessian) and a point from a POINT;
* :mod:`~checks.landscape.expr` -- the whitelisted expression parser (never ``eval``);
* :mod:`~checks.landscape.diagnostics` -- is F usable at the point, how precise is ∇F there;
* :mod:`~checks.landscape.analysis` -- the theory's quantities at the point
  (:func:`~checks.landscape.analysis.analyse`);
* :mod:`~checks.landscape.verdicts` -- each claim's outcome at the point;
* :mod:`~checks.landscape.simulate` -- simulated best ratios beside the predicted ones;
* :mod:`~checks.landscape.text` -- the printed table;
* :mod:`~checks.landscape.run` -- load, analyse, simulate and write, in one call.
"""
