"""Output files: atomic writes (readers see the old file or the new one, never a partial
write) and the one JSON convention (strict JSON, non-finite numbers as null)."""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``.

    The file gets the permissions an ordinary ``open(path, "w")`` would give it (``0o666`` less
    the umask), not ``mkstemp``'s private ``0o600``.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory; give a file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """:func:`atomic_write_bytes` for UTF-8 text."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def jsonable(x: object) -> object:
    """``x`` with numpy scalars and arrays made Python, ready for strict JSON.

    The one convention for every JSON file the toolkit writes: JSON has no NaN or infinity,
    so a non-finite float (an undefined quantity, a failed margin) is written as ``null``.
    Dicts, lists and tuples are converted recursively (dict keys become strings).
    """
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, float | np.floating):
        v = float(x)
        return v if math.isfinite(v) else None
    return x


def json_text(x: object, **kwargs: object) -> str:
    """Strict JSON text of ``jsonable(x)``: any other object (a path, say) is written as its
    ``str``; ``kwargs`` go to ``json.dumps`` (indent, sort_keys, ...)."""
    return json.dumps(jsonable(x), allow_nan=False, default=str, **kwargs)
