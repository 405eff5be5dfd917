"""Print pip constraints pinning every direct dependency to the lower bound pyproject.toml declares.

CI installs the project under these constraints in a separate venv and runs the fast suite,
so the bounds in pyproject.toml are tested, not just written.  Usage:

    python .ci/oldest.py [EXTRA ...] > oldest.txt

Runtime dependencies are always included; each EXTRA adds that optional-dependency group.
A dependency without a ``>=`` lower bound is an error: an untested bound is not a bound.
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$")


def lower_bound(requirement: str) -> tuple[str, str]:
    """(name, version) of the ``>=`` bound in a requirement string like ``numpy>=1.26``."""
    m = REQUIREMENT.match(requirement)
    if not m:
        raise SystemExit(f"oldest.py: cannot parse requirement {requirement!r}")
    name, _, spec = m.groups()
    bounds = re.findall(r">=\s*([0-9][^,;\s]*)", spec)
    if len(bounds) != 1:
        raise SystemExit(f"oldest.py: {requirement!r} needs exactly one '>=' lower bound")
    return name.lower(), bounds[0]


def main(extras: list[str]) -> int:
    """Print one ``name==version`` line per direct dependency (runtime plus the given extras)."""
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())[
        "project"
    ]
    requirements = list(project["dependencies"])
    for extra in extras:
        if extra not in project["optional-dependencies"]:
            raise SystemExit(f"oldest.py: no optional-dependency group {extra!r} in pyproject.toml")
        requirements += project["optional-dependencies"][extra]
    pins: dict[str, str] = {}
    for req in requirements:
        name, version = lower_bound(req)
        if pins.setdefault(name, version) != version:
            raise SystemExit(f"oldest.py: {name} has two different lower bounds")
    for name, version in sorted(pins.items()):
        print(f"{name}=={version}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
