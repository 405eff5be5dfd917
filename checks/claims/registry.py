"""The claims registry: :class:`Claim`, :class:`Verdict`, :class:`Outcome`, the ``@claim``
decorator, and the two Hypothesis drivers every check runs through."""

from __future__ import annotations

import contextlib
import math
import random
import time
import traceback
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import find, given, seed
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from plasticity.checks.profiles import Profile, get_profile, hypothesis_settings
from plasticity.numerics.files import jsonable

__all__ = [
    "CLAIMS",
    "EXPECTATIONS",
    "VERDICTS",
    "Claim",
    "Verdict",
    "claim",
    "get_claim",
    "holds",
    "ids",
]

EXPECTATIONS = ("holds", "holds under condition", "counterexample expected")
VERDICTS = ("holds", "holds under condition", "counterexample found", "FAILED")


# --------------------------------------------------------------------------- the one rule


def holds(margin: float | None) -> bool:
    """Whether a claim holds at an example whose margin is ``margin``: the one rule for all.

    Every claim builds its margin with its allowance inside (a rounding bound, a number of
    standard errors), scaled so that the claim holds at an example exactly when the margin is
    a finite number ≥ 0.  A margin of exactly 0 sits on the edge of the allowance and holds; a
    failure is a margin < 0, decided beyond the allowance.  NaN, ±inf and a missing margin
    never hold.  The property driver, the counterexample search and :meth:`Claim.check` all
    decide through this function, so a verdict, a margin and a test cannot disagree.
    """
    return margin is not None and math.isfinite(margin) and margin >= 0


# --------------------------------------------------------------------------- verdicts


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one claim, with the numbers that back it."""

    id: str
    statement: str
    conditions: tuple[str, ...]
    expected: str
    verdict: str
    examples: int
    worst_margin: float | None
    tolerance: str
    evidence: dict[str, Any] = field(default_factory=dict)
    counterexample: str | None = None
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.verdict == "FAILED"

    def to_json(self) -> dict[str, Any]:
        """The JSON object of this verdict (keys fixed by ARCHITECTURE.md, plus extras; non-finite
        numbers are null, as in every JSON file the toolkit writes)."""
        return {
            "id": self.id,
            "statement": self.statement,
            "conditions": list(self.conditions),
            "expected": self.expected,
            "verdict": self.verdict,
            "examples": self.examples,
            "worst_margin": jsonable(self.worst_margin),
            "tolerance": self.tolerance,
            "evidence": jsonable(self.evidence),
            "counterexample": self.counterexample,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Outcome:
    """What a check function returns; :meth:`Claim.check` turns it into a :class:`Verdict`."""

    ok: bool
    examples: int
    worst_margin: float | None
    tolerance: str
    evidence: dict[str, Any] = field(default_factory=dict)
    counterexample: str | None = None


@dataclass(frozen=True)
class Claim:
    """One claim of the theory: statement, conditions, expectation, and its check."""

    id: str
    statement: str
    conditions: tuple[str, ...]
    expected: str
    run: Callable[[Profile], Outcome]
    tags: tuple[str, ...] = ()

    @property
    def seed(self) -> int:
        """The Hypothesis seed of this claim: the crc32 of its id."""
        return zlib.crc32(self.id.encode())

    def check(self, profile: str | Profile = "ci") -> Verdict:
        """Run the check under ``profile`` and classify the outcome.

        An exception inside a check (a closed form missing, a simulation refusing its
        input) is a FAILED verdict carrying the error, never a crash of the whole run.  So is
        an outcome whose ``ok`` contradicts its own margin under :func:`holds`.
        """
        prof = replace(get_profile(profile), seed=self.seed)
        start = time.perf_counter()
        try:
            with _only_hypothesis_constants():
                out = self.run(prof)
        except Exception as exc:  # noqa: BLE001 - reported as the verdict's evidence
            tb = traceback.extract_tb(exc.__traceback__)
            where = f"{tb[-1].filename.rsplit('/', 1)[-1]}:{tb[-1].lineno}" if tb else ""
            out = Outcome(
                ok=False,
                examples=0,
                worst_margin=None,
                tolerance="n/a",
                evidence={"error": f"{type(exc).__name__}: {exc}", "where": where},
            )
        out = self._consistent(out)
        if self.expected == "counterexample expected":
            verdict = "counterexample found" if out.ok and out.counterexample else "FAILED"
        else:
            verdict = self.expected if out.ok else "FAILED"
        return Verdict(
            id=self.id,
            statement=self.statement,
            conditions=self.conditions,
            expected=self.expected,
            verdict=verdict,
            examples=out.examples,
            worst_margin=out.worst_margin,
            tolerance=out.tolerance,
            evidence=out.evidence,
            counterexample=out.counterexample,
            seconds=time.perf_counter() - start,
        )

    def _consistent(self, out: Outcome) -> Outcome:
        """``out``, or a failed outcome if its ``ok`` contradicts its margin under :func:`holds`.

        A property claim is ok exactly when its worst margin holds.  An expected counterexample
        is ok only with a margin that fails (a check may still refuse one for another reason,
        e.g. a closed form that evaluated outside its conditions).
        """
        if out.worst_margin is None:
            return out
        if self.expected == "counterexample expected":
            agrees = not out.ok or not holds(out.worst_margin)
        else:
            agrees = out.ok == holds(out.worst_margin)
        if agrees:
            return out
        note = f"ok={out.ok} contradicts worst margin {out.worst_margin!r} (a claim holds iff margin >= 0)"
        return replace(out, ok=False, evidence={**out.evidence, "inconsistent": note})


CLAIMS: dict[str, Claim] = {}


@contextlib.contextmanager
def _only_hypothesis_constants() -> Iterator[None]:
    """Run the body with Hypothesis's pool of *local* constants empty.

    Newer Hypothesis releases sometimes draw a literal constant scanned from the source of
    every local module already imported.  Which modules those are depends on how the
    toolkit was started (the command, pytest, a library call) and installed (editable or
    not), so a claim's examples would too: the same claim gave different examples after
    ``import checks.cli``.  With the pool empty a claim's examples depend only on its seed
    and the Hypothesis release.  Releases without the pool are left as they are.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a release without the module
        yield
        return
    getter = getattr(providers, "_get_local_constants", None)
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    pool = getattr(providers, "_local_constants", None)
    if getter is None or cache is None or pool is None:
        yield
        return
    empty = type(pool)()
    providers._get_local_constants = lambda: empty
    providers.CONSTANTS_CACHE = type(cache)(1024)  # a fresh cache: none of its pools seen
    try:
        yield
    finally:
        providers._get_local_constants = getter
        providers.CONSTANTS_CACHE = cache


def claim(
    claim_id: str,
    statement: str,
    *,
    conditions: Iterable[str] = (),
    expected: str = "holds",
    tags: Iterable[str] = (),
) -> Callable[[Callable[[Profile], Outcome]], Callable[[Profile], Outcome]]:
    """Register the decorated check function as the claim ``claim_id``."""
    if expected not in EXPECTATIONS:
        raise ValueError(f"expected must be one of {EXPECTATIONS}; got {expected!r}")

    def register(fn: Callable[[Profile], Outcome]) -> Callable[[Profile], Outcome]:
        if claim_id in CLAIMS:
            raise RuntimeError(f"claim {claim_id!r} registered twice")
        CLAIMS[claim_id] = Claim(claim_id, statement, tuple(conditions), expected, fn, tuple(tags))
        return fn

    return register


def ids() -> list[str]:
    """Ids of every registered claim, in registration (document) order."""
    return list(CLAIMS)


def get_claim(claim_id: str) -> Claim:
    """The claim with this id; an unknown id is a ValueError listing the known ones."""
    if claim_id not in CLAIMS:
        raise ValueError(f"unknown claim id {claim_id!r}; known claims: {', '.join(CLAIMS)}")
    return CLAIMS[claim_id]


class _Violation(Exception):
    def __init__(self, example: Any, margin: float, evidence: dict[str, Any]):
        super().__init__(f"margin {margin:.3g}")
        self.example = example
        self.margin = margin
        self.evidence = evidence


def check_property(
    strategy: st.SearchStrategy[Any],
    evaluate: Callable[[Any], tuple[float, dict[str, Any]]],
    profile: Profile,
    *,
    tolerance: str,
    max_examples: int | None = None,
) -> Outcome:
    """Run ``evaluate`` (example → (margin, evidence)) over Hypothesis examples.

    An example where the margin does not :func:`holds` is a violation (a non-finite margin
    is reported as −inf): Hypothesis shrinks it and the shrunk example and its
    evidence are returned as the counterexample.  Otherwise the worst (smallest) margin
    seen and that example's evidence are reported.
    """
    state: dict[str, Any] = {"n": 0, "worst": math.inf, "evidence": {}}

    @seed(profile.seed)
    @hypothesis_settings(profile, max_examples=max_examples, derandomize=False)
    @given(strategy)
    def prop(example: Any) -> None:
        margin, evidence = evaluate(example)
        state["n"] += 1
        if not math.isfinite(margin):
            raise _Violation(example, -math.inf, {**evidence, "note": "non-finite margin"})
        if margin < state["worst"]:
            state["worst"], state["evidence"] = margin, evidence
        if not holds(margin):
            raise _Violation(example, margin, evidence)

    try:
        prop()
    except _Violation as v:
        return Outcome(
            ok=False,
            examples=state["n"],
            worst_margin=v.margin,
            tolerance=tolerance,
            evidence=v.evidence,
            counterexample=repr(v.example),
        )
    return Outcome(
        ok=True,
        examples=state["n"],
        worst_margin=state["worst"],
        tolerance=tolerance,
        evidence=state["evidence"],
    )


def search_counterexample(
    strategy: st.SearchStrategy[Any],
    margin: Callable[[Any], float],
    describe: Callable[[Any], dict[str, Any]],
    profile: Profile,
    *,
    tolerance: str,
) -> Outcome:
    """Let Hypothesis find and shrink an example where a non-universal claim fails.

    A counterexample is an example whose ``margin`` does not :func:`holds` (the same rule as
    every property claim), so the search, the reported margin and any test of it agree.
    ``ok`` is True when one is found (the expected outcome); the shrunk example, its
    evidence and its margin (negative: by how much the claim fails there) are reported.
    """
    count = [0]

    def condition(example: Any) -> bool:
        count[0] += 1
        return not holds(margin(example))

    try:
        found = find(
            strategy,
            condition,
            settings=hypothesis_settings(profile, search=True, derandomize=False),
            random=random.Random(profile.seed),
        )
    except NoSuchExample:
        return Outcome(
            ok=False,
            examples=count[0],
            worst_margin=None,
            tolerance=tolerance,
            evidence={"note": f"no counterexample in {count[0]} examples"},
        )
    return Outcome(
        ok=True,
        examples=count[0],
        worst_margin=margin(found),
        tolerance=tolerance,
        evidence=describe(found),
        counterexample=repr(found),
    )
