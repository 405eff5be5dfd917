"""Sums over a Hessian's eigen-directions, as algebra and as numpy.

Results about spectra are written with ``Sum`` over ``IndexedBase`` arrays; this module holds
the machinery that proves their identities for every N (:func:`canonical`, :func:`double_sum`),
re-checks them by expansion at small N (:func:`at_n`, :func:`identity_check`), and prints them
for numpy as sums over the last axis of batched ``(..., N)`` arrays (:class:`ArraySum`,
:class:`ArrayShapes`, :func:`array_numeric`).
"""

from __future__ import annotations

from collections.abc import Iterable

import sympy as sp

from plasticity.derivations.core import Check, Condition

# --------------------------------------------------------------------------- symbols

N = sp.Symbol("N", integer=True, positive=True)
i, j = sp.symbols("i j", integer=True, nonnegative=True)
_K = sp.Symbol("k", integer=True, nonnegative=True)  # canonical summation index

SMALL_N: tuple[int, ...] = (2, 3, 4)


def total(f: sp.Expr, k: sp.Symbol = i) -> sp.Sum:
    """Σ_{k=0}^{N-1} f : a sum over all N eigen-directions."""
    return sp.Sum(f, (k, 0, N - 1))


# --------------------------------------------------------------------------- numeric forms


class ArraySum(sp.Sum):
    """A ``Sum`` over every index of ``IndexedBase`` arrays, printed for numpy as a sum over the
    last axis, so ``lambdify`` vectorises it across batches of shape ``(..., N)``."""

    def _numpycode(self, printer: sp.printing.numpy.NumPyPrinter) -> str:
        ((k, lo, hi),) = self.limits
        body = self.function
        indexed = body.atoms(sp.Indexed)
        if not indexed or lo != 0 or any(x.indices != (k,) for x in indexed):
            raise NotImplementedError(f"ArraySum can only print full sums of arrays indexed by {k}: {self}")
        body = body.xreplace({x: x.base.label for x in indexed})
        return f"{printer._module_format('numpy.sum')}({printer._print(body)}, axis=-1)"


def array_form(expr: sp.Basic) -> sp.Basic:
    """``expr`` with every ``Sum`` replaced by an :class:`ArraySum` (same mathematics)."""
    return expr.replace(
        lambda e: isinstance(e, sp.Sum) and not isinstance(e, ArraySum), lambda e: ArraySum(*e.args)
    )


def array_numeric(args: tuple[sp.Basic, ...], expr: sp.Basic):  # noqa: ANN201 (lambdified function)
    """Vectorised numpy function generated from ``expr`` (Sums become sums over axis -1)."""
    return sp.lambdify(args, array_form(expr), modules="numpy")


class ArrayShapes(sp.Function):
    """Relation that holds when its array arguments have a non-empty last axis of one common
    length N and broadcastable leading (batch) axes; printed for numpy so that the validation
    in :mod:`plasticity.derivations.core` rejects misshapen input with a named condition."""

    def holds(self, shapes: dict[str, tuple[int, ...]]) -> bool:
        """The same test on the shapes of the named arrays (used by :mod:`derivations.precision`)."""
        ss = [shapes[str(a.label)] for a in self.args]
        if any(len(s) < 1 or s[-1] < 1 for s in ss) or len({s[-1] for s in ss}) != 1:
            return False
        return all(len(set(t) - {1}) <= 1 for t in zip(*(s[-2::-1] for s in ss), strict=False))

    def _numpycode(self, printer: sp.printing.numpy.NumPyPrinter) -> str:
        ndim, shape = printer._module_format("numpy.ndim"), printer._module_format("numpy.shape")
        names = [printer._print(a) for a in self.args]
        nonempty = " and ".join(f"{ndim}({x}) >= 1 and {shape}({x})[-1] >= 1" for x in names)
        same = " == ".join(f"{shape}({x})[-1]" for x in names)
        lead = ", ".join(f"{shape}({x})[-2::-1]" for x in names)
        bcast = f"not [t for t in zip({lead}) if len(set(t) - {{1}}) > 1]"
        return f"({nonempty} and {same} and {bcast})"

    def _latex(self, printer: sp.printing.latex.LatexPrinter) -> str:
        names = ", ".join(printer._print(a) for a in self.args)
        return rf"\operatorname{{shape}}({names}) = (\dots, N)"


def shapes_condition(*arrays: sp.IndexedBase) -> Condition:
    names = ", ".join(str(a.label) for a in arrays)
    text = f"{names}: arrays of shape (..., N) with N >= 1 entries on the last axis"
    if len(arrays) > 1:
        text += ", one common N and broadcastable batch axes"
    return Condition(text, ArrayShapes(*arrays))


# --------------------------------------------------------------------------- sum algebra


def canonical(expr: sp.Basic) -> sp.Expr:
    """Expand ``expr`` with every full sum Σ_{x=0}^{N-1} rewritten over one index k, so that
    equal sums compare equal."""

    def fix(s: sp.Sum) -> sp.Expr:
        ((x, lo, hi),) = s.limits
        f = s.function
        if not f.has(x):
            return (hi - lo + 1) * f
        return sp.Sum(sp.expand(f.subs(x, _K)), (_K, lo, hi))

    out = sp.expand(expr).replace(lambda e: isinstance(e, sp.Sum), fix)
    out = out.replace(
        lambda e: isinstance(e, sp.Sum) and isinstance(e.function, sp.Add),
        lambda e: sp.Add(*[sp.Sum(t, *e.limits) for t in e.function.args]),
    )
    out = out.replace(lambda e: isinstance(e, sp.Sum), _pull_constants)
    return sp.expand(out)


def _pull_constants(s: sp.Sum) -> sp.Expr:
    ((x, lo, hi),) = s.limits
    const, dep = [], []
    for factor in sp.Mul.make_args(s.function):
        (dep if factor.has(x) else const).append(factor)
    return sp.Mul(*const) * (sp.Sum(sp.Mul(*dep), (x, lo, hi)) if dep else (hi - lo + 1))


def double_sum(summand: sp.Expr, a: sp.Symbol = i, b: sp.Symbol = j) -> sp.Expr:
    """Σ_a Σ_b summand over 0..N-1, for a summand that expands into terms f(a)·g(b): each term
    factorises as (Σ_a f)(Σ_b g).  Raises if a term couples a and b inseparably."""
    out = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(summand)):
        fa, fb, const = [], [], []
        for factor in sp.Mul.make_args(term):
            has_a, has_b = factor.has(a), factor.has(b)
            if has_a and has_b:
                raise ValueError(f"double_sum: term {term} is not separable in {a}, {b}")
            (fa if has_a else fb if has_b else const).append(factor)
        out += sp.Mul(*const) * canonical(total(sp.Mul(*fa), a)) * canonical(total(sp.Mul(*fb), b))
    return canonical(out)


def at_n(expr: sp.Basic, size: int) -> sp.Expr:
    """``expr`` with N = size and every sum written out term by term."""
    return expr.subs(N, size).doit()


def identity_check(name: str, lhs: sp.Expr, rhs: sp.Expr, sizes: Iterable[int] = SMALL_N) -> Check:
    """Check lhs == rhs by full expansion at each concrete N in ``sizes``."""
    bad = [m for m in sizes if not _is_zero_rational(at_n(lhs, m) - at_n(rhs, m))]
    detail = f"expanded and simplified at N = {tuple(sizes)}" + (f"; fails at N = {bad}" if bad else "")
    return Check(name, not bad, detail)


def general_check(name: str, lhs: sp.Expr, rhs: sp.Expr) -> Check:
    """Check lhs == rhs for symbolic N (both sides reduced to canonical single sums)."""
    diff = sp.simplify(canonical(lhs) - canonical(rhs))
    return Check(name, diff == 0, f"difference for general N reduces to {diff}")


def _is_zero_rational(expr: sp.Expr) -> bool:
    """expr == 0, by ``cancel`` (decisive for rational functions), then ``simplify``."""
    diff = sp.cancel(expr)
    return diff == 0 or sp.simplify(diff) == 0


def _is_zero(expr: sp.Expr) -> bool:
    return sp.simplify(expr) == 0
