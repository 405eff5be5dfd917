"""Derived results as SymPy objects that carry their conditions, steps and numeric forms.

A :class:`Result` is what every derivation module produces: the statement, the closed form
(if the result has one), the symbols it is a function of, the side conditions under which
it holds, the derivation steps as SymPy produced them, and the checks the derivation ran
on itself.  :meth:`Result.numeric` is the *only* way the rest of the project evaluates a
closed form: a ``lambdify``'d function that first validates its inputs against the
symbols' assumptions and the result's conditions, so that bad input raises a
``ValueError`` naming the condition instead of returning NaN.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

__all__ = [
    "Check",
    "Condition",
    "Result",
    "Step",
    "ORDER",
    "derivation",
    "get",
    "ids",
    "all_results",
    "numeric",
]


@dataclass(frozen=True)
class Condition:
    """A side condition: human text plus, where it is checkable on numbers, a relation."""

    text: str
    relation: sp.Basic | None = None


@dataclass(frozen=True)
class Step:
    """One step of a derivation: what was done, and the expression SymPy produced."""

    text: str
    expr: sp.Basic | None = None


@dataclass(frozen=True)
class Check:
    """A verification the derivation ran on itself (e.g. ``simplify(lhs - rhs) == 0``)."""

    name: str
    passed: bool
    detail: str = ""

    def __post_init__(self) -> None:
        # SymPy's true/false and numpy's bool_ become Python bools, so that counting and
        # printing checks never trips over a BooleanAtom.
        if isinstance(self.passed, sp.logic.boolalg.BooleanAtom | np.bool_):
            object.__setattr__(self, "passed", bool(self.passed))


@dataclass(frozen=True)
class Result:
    """One derived result of the theory, with a stable id (``eq6``, ``si_noisy``, ...).

    ``closed_form`` is a function of ``args`` (scalars are ``Symbol``; an argument that is
    an array summed over its last axis is an ``IndexedBase`` listed in ``args`` too).
    ``sharper`` lists places where the derived condition is sharper than the paper's words.
    """

    id: str
    title: str
    statement: sp.Basic
    closed_form: sp.Basic | None = None
    args: tuple[sp.Basic, ...] = ()
    conditions: tuple[Condition, ...] = ()
    steps: tuple[Step, ...] = ()
    checks: tuple[Check, ...] = ()
    notes: tuple[str, ...] = ()
    sharper: tuple[str, ...] = ()
    paper: str = ""
    #: optional custom numeric implementation *generated from* closed_form (e.g. a
    #: lambdify with a printer that maps Sum over an IndexedBase to numpy.sum); set by
    #: modules whose closed forms lambdify cannot vectorise directly.
    numeric_impl: Callable[..., object] | None = field(default=None, compare=False, repr=False)

    @property
    def verified(self) -> bool:
        """True when the derivation ran at least one self-check and all passed."""
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def latex(self) -> str:
        """LaTeX of the statement."""
        return sp.latex(self.statement)

    @property
    def arg_names(self) -> tuple[str, ...]:
        return tuple(str(a.label) if isinstance(a, sp.IndexedBase) else str(a) for a in self.args)

    def numeric(self, validate: bool = True) -> Callable[..., np.ndarray]:
        """The closed form as a fast numpy function of ``args`` (by position or name).

        With ``validate`` (the default) inputs are checked first: finite, of the sign the
        symbols' assumptions demand, and satisfying every condition with a relation.
        ``validate=False`` returns the bare lambdified function for hot loops whose inputs
        are already known to be good.
        """
        if self.closed_form is None:
            raise ValueError(f"{self.id} is a statement without a closed form to evaluate")
        return _numeric(self, validate)

    def domain(self) -> Callable[..., np.ndarray]:
        """Elementwise mask of where the closed form applies: the test the validated form makes.

        For a result whose arguments are all scalars, returns a function of the same
        arguments giving a boolean array (broadcast over them) that is True exactly where
        every argument is finite, has the sign its symbol's assumptions demand, and every
        condition with a relation holds.  So "does eqN apply here" has one answer, read off
        the derivation, wherever it is asked.
        """
        if self.closed_form is None:
            raise ValueError(f"{self.id} is a statement without a closed form to evaluate")
        if any(isinstance(a, sp.IndexedBase) for a in self.args):
            raise ValueError(f"{self.id}: domain() is elementwise; this result sums over an array argument")
        return _domain(self)


def _raw_function(result: Result) -> Callable[..., object]:
    if result.numeric_impl is not None:
        return result.numeric_impl
    return sp.lambdify(result.args, result.closed_form, modules="numpy")


def _sign_requirement(arg: sp.Basic) -> tuple[str, Callable[[np.ndarray], np.ndarray]] | None:
    sym = arg.label if isinstance(arg, sp.IndexedBase) else arg
    if sym.is_positive:
        return "positive", lambda x: x > 0
    if sym.is_nonnegative:
        return "non-negative", lambda x: x >= 0
    if sym.is_negative:
        return "negative", lambda x: x < 0
    if sym.is_nonpositive:
        return "non-positive", lambda x: x <= 0
    return None


@functools.cache
def _numeric(result: Result, validate: bool) -> Callable[..., np.ndarray]:
    raw = _raw_function(result)
    if not validate:
        return raw
    names = result.arg_names
    signs = [_sign_requirement(a) for a in result.args]
    rel_fns = [
        (c.text, sp.lambdify(result.args, c.relation, modules="numpy"))
        for c in result.conditions
        if c.relation is not None and c.relation is not sp.true
    ]
    params = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    signature = inspect.Signature(params)

    def evaluate(*args: object, **kwargs: object) -> np.ndarray:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise ValueError(f"{result.id}: expected arguments ({', '.join(names)}): {exc}") from None
        values = []
        for name, sign in zip(names, signs, strict=True):
            try:
                x = np.asarray(bound.arguments[name], dtype=float)
            except (TypeError, ValueError):
                raise ValueError(f"{result.id}: argument {name} must be numeric") from None
            if not np.all(np.isfinite(x)):
                raise ValueError(f"{result.id}: argument {name} must be finite (got NaN or inf)")
            if sign is not None and not np.all(sign[1](x)):
                raise ValueError(f"{result.id}: argument {name} must be {sign[0]}")
            values.append(x)
        with np.errstate(all="ignore"):
            for text, fn in rel_fns:
                ok = np.asarray(fn(*values))
                if not np.all(ok):
                    raise ValueError(f"{result.id}: condition violated: {text}")
            try:
                out = np.asarray(raw(*values))
            except ValueError as exc:  # numpy's broadcasting error, reworded
                shapes = [v.shape for v in values]
                raise ValueError(f"{result.id}: argument shapes {shapes} do not fit: {exc}") from None
        if out.dtype.kind == "f" and not np.all(np.isfinite(out)):
            raise ValueError(f"{result.id}: result is not finite for these inputs")
        return out

    evaluate.__name__ = result.id
    evaluate.__doc__ = f"{result.title}: numeric form of {result.id} (validated)."
    evaluate.__signature__ = signature  # type: ignore[attr-defined]
    return evaluate


@functools.cache
def _domain(result: Result) -> Callable[..., np.ndarray]:
    signs = [_sign_requirement(a) for a in result.args]
    rel_fns = [
        sp.lambdify(result.args, c.relation, modules="numpy")
        for c in result.conditions
        if c.relation is not None and c.relation is not sp.true
    ]

    def mask(*args: object) -> np.ndarray:
        values = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in args))
        ok = np.ones(values[0].shape, dtype=bool) if values else np.ones((), dtype=bool)
        for x, sign in zip(values, signs, strict=True):
            ok &= np.isfinite(x)
            if sign is not None:
                with np.errstate(invalid="ignore"):
                    ok &= sign[1](x)
        with np.errstate(all="ignore"):
            for fn in rel_fns:
                ok &= np.asarray(fn(*values), dtype=bool)
        return ok

    mask.__name__ = f"{result.id}_domain"
    return mask


# --------------------------------------------------------------------------- registry

#: document order of the results; every id here must be registered by some module.
ORDER: tuple[str, ...] = (
    "eq2",
    "eq3",
    "eq4",
    "eq5",
    "eq8",
    "eq6",
    "eq9a",
    "eq9b",
    "eq10",
    "eq11",
    "eq12",
    "eq13",
    "eq14",
    "si_mean_hessian",
    "si_independent_mean",
    "si_newton",
    "si_linear_beeline",
    "si_noisy",
    "si_zeroth_order",
    "app1",
    "si_positivity",
    "si_steady_positivity",
    "lemma_average_case",
    "table2",
    "var_dF",
)

_BUILDERS: dict[str, Callable[[], Result]] = {}


def derivation(result_id: str) -> Callable[[Callable[[], Result]], Callable[[], Result]]:
    """Register a function that derives and returns the :class:`Result` with this id."""

    def register(builder: Callable[[], Result]) -> Callable[[], Result]:
        if result_id in _BUILDERS:
            raise RuntimeError(f"derivation {result_id!r} registered twice")
        _BUILDERS[result_id] = builder
        return builder

    return register


def _load_modules() -> None:
    from plasticity.derivations import MODULES  # noqa: F401  (importing registers the derivations)


@functools.cache
def get(result_id: str) -> Result:
    """The derived result with this id (derived once per process, then cached)."""
    _load_modules()
    if result_id not in _BUILDERS:
        known = ", ".join(ids())
        raise ValueError(f"unknown result id {result_id!r}; known ids: {known}")
    result = _BUILDERS[result_id]()
    if result.id != result_id:
        raise RuntimeError(f"derivation registered as {result_id!r} returned id {result.id!r}")
    return result


def ids() -> list[str]:
    """Ids of every registered result, in document order (unordered extras last)."""
    _load_modules()
    ordered = [i for i in ORDER if i in _BUILDERS]
    return ordered + sorted(set(_BUILDERS) - set(ORDER))


def all_results() -> list[Result]:
    """Every registered result, derived, in document order."""
    return [get(i) for i in ids()]


def numeric(result_id: str, validate: bool = True) -> Callable[..., np.ndarray]:
    """Shorthand for ``get(result_id).numeric(validate)``."""
    return get(result_id).numeric(validate)
