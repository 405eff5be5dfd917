"""`plasticity derive`: every id in ORDER is derived and verified; reruns are byte-identical."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sympy as sp

import plasticity.checks.derive as derive_lib
from plasticity.checks.cli import main
from plasticity.derivations import core
from plasticity.derivations.core import Check, Result

FILES = ("derivations.md", "derivations.tex", "closed_forms.json")


@pytest.fixture(scope="module")
def derived(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, str]:
    out = tmp_path_factory.mktemp("derive")
    capture = out / "stderr.txt"
    with capture.open("w") as err, contextlib.redirect_stderr(err):
        code = main(["derive", "--out", str(out / "docs")])
    return out / "docs", code, capture.read_text()


def test_every_id_in_order_is_registered_and_verified(derived: tuple[Path, int, str]) -> None:
    out, code, stderr = derived
    # Fails, naming each missing or failing id, until every module of ORDER has landed.
    assert code == 0, stderr
    for result_id in core.ORDER:
        assert f"derive: {result_id} " in stderr  # one progress line per result
    data = json.loads((out / "closed_forms.json").read_text(encoding="utf-8"))
    assert set(data) == set(core.ORDER)
    md = (out / "derivations.md").read_text(encoding="utf-8")
    for result_id in core.ORDER:
        assert f'<a id="{result_id}"></a>' in md


def test_outputs_exist_and_parse(derived: tuple[Path, int, str]) -> None:
    out, _, _ = derived
    for name in FILES:
        assert (out / name).stat().st_size > 0
    tex = (out / "derivations.tex").read_text(encoding="ascii")
    assert tex.startswith("\\documentclass") and tex.rstrip().endswith("\\end{document}")
    data = json.loads((out / "closed_forms.json").read_text(encoding="utf-8"))
    assert sp.sympify(data["eq9a"]["srepr"]) == core.get("eq9a").closed_form


def test_rerun_in_a_fresh_process_is_byte_identical(derived: tuple[Path, int, str], tmp_path: Path) -> None:
    out, _, _ = derived
    env = dict(os.environ, PYTHONHASHSEED="12345")  # a different hash seed must not matter
    proc = subprocess.run(
        [sys.executable, "-m", "plasticity.checks", "derive", "--out", str(tmp_path), "--quiet"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode in (0, 1), proc.stderr
    for name in FILES:
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def _failing(result_id: str) -> Result:
    return Result(
        id=result_id,
        title="broken",
        statement=sp.Symbol("x"),
        checks=(Check("a check that fails", False, "by construction"),),
    )


def test_exits_nonzero_naming_failed_missing_and_crashing_results(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    real_get = core.get

    def fake_get(result_id: str) -> Result:
        if result_id == "eq5":
            return _failing("eq5")
        if result_id == "eq6":
            raise ZeroDivisionError("boom")
        return real_get(result_id)

    monkeypatch.setattr(derive_lib, "get", fake_get)
    monkeypatch.setattr(core, "ids", lambda: [i for i in core.ORDER if i != "var_dF"])
    code = main(["derive", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "eq5: failed check: a check that fails (by construction)" in err
    assert "eq6: derivation raised ZeroDivisionError: boom" in err
    assert "var_dF: not registered" in err
    assert "NOT VERIFIED" in (tmp_path / "derivations.md").read_text(encoding="utf-8")


def test_out_that_is_a_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["derive", "--out", str(target), "--quiet"]) == 2
    assert "is not a directory" in capsys.readouterr().err
