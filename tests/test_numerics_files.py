"""Atomic writes: whole files with ordinary permissions, and the old file kept on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from plasticity.numerics import files
from plasticity.numerics.files import atomic_write_bytes, atomic_write_text


def test_writes_whole_file_with_umask_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "sub" / "a.txt", "ünïcode\n")
    finally:
        os.umask(old)
    assert path.read_text(encoding="utf-8") == "ünïcode\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not mkstemp's private 0o600
    assert [p.name for p in path.parent.iterdir()] == ["a.txt"]  # no temporary left behind


def test_failure_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "b.bin"
    atomic_write_bytes(target, b"old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(files.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.bin"]


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError, match="is a directory"):
        atomic_write_text(tmp_path, "x")


def test_one_json_convention_non_finite_is_null() -> None:
    import json

    import numpy as np

    from plasticity.numerics.files import json_text, jsonable

    x = {
        "a": np.float32(1.5),
        "b": [np.nan, np.inf, -np.inf],
        "c": np.arange(3),
        "d": (np.bool_(True), np.int64(7)),
        1: "key made a string",
    }
    assert jsonable(x) == {
        "a": 1.5,
        "b": [None, None, None],
        "c": [0, 1, 2],
        "d": [True, 7],
        "1": "key made a string",
    }
    assert json.loads(json_text({"p": Path("a/b"), "v": np.nan})) == {"p": "a/b", "v": None}
