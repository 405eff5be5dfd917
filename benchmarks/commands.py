"""Wall times of whole `plasticity` subcommands, each run in a fresh subprocess.

A fresh interpreter includes import and start-up cost, which is what a user waits for.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CommandTiming:
    """One subcommand's wall time, exit status and the tail of its stderr if it failed."""

    argv: list[str]
    seconds: float
    returncode: int
    stderr_tail: str

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.returncode == 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def time_command(args: Sequence[str], timeout_s: float = 900.0, cwd: str | None = None) -> CommandTiming:
    """Run ``python -m plasticity.checks <args>`` in a subprocess and time it (wall clock, seconds)."""
    if isinstance(args, str):
        raise ValueError("args must be a sequence of arguments, not one string")
    argv = [sys.executable, "-m", "plasticity.checks", *args]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s, cwd=cwd, check=False)
    except subprocess.TimeoutExpired as exc:
        tail = (exc.stderr or b"")[-2000:]
        tail = tail.decode(errors="replace") if isinstance(tail, bytes) else tail
        return CommandTiming(["plasticity", *args], time.perf_counter() - t0, -1, f"timed out; {tail}")
    seconds = time.perf_counter() - t0
    tail = "" if proc.returncode == 0 else proc.stderr[-2000:]
    return CommandTiming(["plasticity", *args], seconds, proc.returncode, tail)
