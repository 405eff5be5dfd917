"""One import namespace: every subpackage is installed under plasticity.*, and no module of
the toolkit or its tests imports the bare folder names (checks, numerics, derivations,
benchmarks), which would shadow, or be shadowed by, a user's modules of the same name."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("derivations", "numerics", "checks", "benchmarks")
BARE = re.compile(
    r"^\s*(from|import)\s+(checks|numerics|derivations|benchmarks)\b"
    r"|import_module\(f?[\"'](checks|numerics|derivations|benchmarks)\.",
    re.M,
)


def test_every_subpackage_is_declared_under_the_namespace() -> None:
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(tool["packages"])
    mapping = tool["package-dir"]
    found = {"plasticity"}
    for folder in FOLDERS:
        assert mapping[f"plasticity.{folder}"] == folder
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT).as_posix().replace("/", ".")
            found.add(f"plasticity.{rel}")
    assert declared == found


def test_no_module_imports_a_bare_folder_name() -> None:
    offenders = []
    for folder in (*FOLDERS, "tests", "plasticity"):
        for path in (ROOT / folder).rglob("*.py"):
            for m in BARE.finditer(path.read_text(encoding="utf-8")):
                offenders.append(f"{path.relative_to(ROOT)}: {m.group(0).strip()}")
    assert offenders == []


def test_the_namespace_resolves_to_this_source() -> None:
    import plasticity.checks.cli
    import plasticity.derivations.closed_forms

    assert Path(plasticity.checks.cli.__file__).resolve().parent == ROOT / "checks"
    assert Path(plasticity.derivations.closed_forms.__file__).resolve().parent == ROOT / "derivations"
