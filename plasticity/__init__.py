"""plasticity: the theory of optimal compensatory plasticity (Raman & O'Leary, eLife 2021),
derived by machine, checked by simulation, and tested on your own landscapes.

One import namespace with four subpackages, each in its own top-level folder of the source:

- :mod:`plasticity.derivations`: SymPy derives every result; its closed forms are the single
  source of truth (``plasticity.derivations.closed_forms``);
- :mod:`plasticity.numerics`: networks, landscapes, curvature, rules and the batched engine;
- :mod:`plasticity.checks`: the claims registry, the checks on a user's landscape, the
  pipeline and the ``plasticity`` command;
- :mod:`plasticity.benchmarks`: speed measured against strong references.

An installed package holds them as subfolders (setuptools ``package-dir``).  A source
checkout run in place (the tests, or a copy of the source) keeps them beside this folder, so
the repository root is then added to this package's search path.
"""

from __future__ import annotations

from pathlib import Path as _Path

_root = _Path(__file__).resolve().parent.parent
if (_root / "pyproject.toml").is_file() and (_root / "derivations" / "__init__.py").is_file():
    __path__.append(str(_root))  # a source checkout: the subpackages sit beside this folder

__all__: list[str] = []
