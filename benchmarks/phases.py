"""Where an engine step's time goes: a line-level timer grouped into phases.

cProfile cannot see numpy ufuncs or ``@`` (they are not Python-level calls), so instead a
``sys.settrace`` tracer times every line executed in the chosen source files (time from one
line event to the next, callees in other files included in the calling line).  Each line
is then assigned a phase by its source text: random numbers, sigmoid, matrix products,
other elementwise work, or bookkeeping (see :data:`PHASE_PATTERNS`).  The tracer adds about a
microsecond per line event, small against the engine's lines at paper batch sizes (hundreds
of microseconds each); shares of very cheap lines are slightly inflated.
"""

from __future__ import annotations

import linecache
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: phase -> pattern matched against a line's source, first match wins (random draws often
#: feed products, and a sigmoid line often contains its product, so the order matters).
#: "elementwise" is any remaining line doing arithmetic or calling numpy (residuals, the
#: sigmoid's affine parts and derivative, norms, weight updates); "bookkeeping" is the rest
#: (control flow, indexing, slicing, dispatch).
PHASE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "random numbers",
        re.compile(
            r"\brng\w*\.\w+\(|\.standard_normal|\.multinomial|\.integers\(|\.choice\(|\.normal\(|"
            r"\.uniform\(|\.binomial\(|\.permutation\(|\.random\(|bincount"
        ),
    ),
    ("sigmoid", re.compile(r"expit|tanh|sigmoid|\bexp\(|logistic")),
    ("matrix products", re.compile(r"@|matmul|\bdot\(|tensordot|\binner\(")),
    ("elementwise", re.compile(r"[-+*/]|\bnp\.\w+\(|\.sum\(|einsum")),
)
BOOKKEEPING = "bookkeeping"


@dataclass(frozen=True)
class LineTime:
    """Total time and hit count of one source line."""

    path: str
    lineno: int
    function: str
    source: str
    seconds: float
    hits: int
    phase: str


def classify(source: str) -> str:
    """The phase a source line belongs to (see :data:`PHASE_PATTERNS`)."""
    code = source.split("#", 1)[0]
    for phase, pattern in PHASE_PATTERNS:
        if pattern.search(code):
            return phase
    return BOOKKEEPING


def line_times(fn: Callable[[], Any], paths: Iterable[str]) -> tuple[list[LineTime], float]:
    """Run ``fn()`` with every line in the files ``paths`` timed; returns (lines, total wall seconds)."""
    wanted = {os.path.realpath(p) for p in paths}
    if not wanted:
        raise ValueError("line_times needs at least one source file to trace")
    totals: dict[tuple[str, int], list[float]] = {}
    functions: dict[tuple[str, int], str] = {}
    lock = threading.Lock()
    state = threading.local()
    clock = time.perf_counter
    real: dict[str, bool] = {}

    def traced(filename: str) -> bool:
        hit = real.get(filename)
        if hit is None:
            hit = real[filename] = os.path.realpath(filename) in wanted
        return hit

    def close_last(now: float) -> None:
        last = getattr(state, "last", None)
        if last is not None:
            with lock:
                entry = totals.setdefault(last[0], [0.0, 0])
                entry[0] += now - last[1]
                entry[1] += 1
        state.last = None

    def local_trace(frame, event, arg):  # noqa: ANN001 - sys.settrace signature
        now = clock()
        if event == "line":
            close_last(now)
            key = (frame.f_code.co_filename, frame.f_lineno)
            functions[key] = frame.f_code.co_name
            state.last = (key, clock())
        elif event == "return":
            close_last(now)
            caller = frame.f_back  # the calling line resumes: charge the rest of it there
            if caller is not None and traced(caller.f_code.co_filename):
                state.last = ((caller.f_code.co_filename, caller.f_lineno), clock())
        return local_trace

    def global_trace(frame, event, arg):  # noqa: ANN001
        if event == "call" and traced(frame.f_code.co_filename):
            close_last(clock())
            return local_trace
        return None

    t0 = clock()
    threading.settrace(global_trace)
    sys.settrace(global_trace)
    try:
        fn()
    finally:
        sys.settrace(None)
        threading.settrace(None)  # type: ignore[arg-type]
    total = clock() - t0
    lines = []
    for (path, lineno), (seconds, hits) in totals.items():
        source = linecache.getline(path, lineno).strip()
        function = functions.get((path, lineno), "?")
        lines.append(LineTime(path, lineno, function, source, seconds, hits, classify(source)))
    lines.sort(key=lambda lt: lt.seconds, reverse=True)
    return lines, total


def phase_shares(lines: list[LineTime]) -> dict[str, float]:
    """Fraction of the traced time spent in each phase (sums to 1 over the traced lines)."""
    traced = sum(lt.seconds for lt in lines)
    phases = [p for p, _ in PHASE_PATTERNS] + [BOOKKEEPING]
    if traced <= 0:
        return dict.fromkeys(phases, 0.0)
    return {p: sum(lt.seconds for lt in lines if lt.phase == p) / traced for p in phases}


def profile_phases(fn: Callable[[], Any], paths: Iterable[str], top: int = 12) -> dict[str, Any]:
    """Phase shares and the ``top`` most expensive lines of ``fn()`` restricted to ``paths``."""
    lines, total = line_times(fn, paths)
    traced = sum(lt.seconds for lt in lines)
    return {
        "shares": phase_shares(lines),
        "traced_s": traced,
        "wall_s": total,
        "top_lines": [
            {
                "where": f"{os.path.basename(lt.path)}:{lt.lineno} ({lt.function})",
                "source": lt.source[:100],
                "phase": lt.phase,
                "share": lt.seconds / traced if traced > 0 else 0.0,
                "hits": lt.hits,
            }
            for lt in lines[:top]
        ],
    }
