"""Evaluate any closed form with mpmath at a chosen precision.

For inputs where float64 cancels (Q ratios with nearly flat directions, differences of
nearly equal traces) :func:`evaluate_mp` gives the closed form's value to ``dps`` digits.
Sums over arrays are written out over the concrete length N of the arguments; inputs are
validated with the same rules and messages as :meth:`plasticity.derivations.core.Result.numeric`, with
the conditions evaluated at the working precision.
"""

from __future__ import annotations

import inspect
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
import sympy as sp

from plasticity.derivations.arrays import ArrayShapes
from plasticity.derivations.core import Result, _sign_requirement, get

__all__ = ["evaluate_mp"]


def _to_mpf(x: Any, rid: str, name: str) -> mpmath.mpf:
    if isinstance(x, bool | np.bool_):
        return mpmath.mpf(int(x))
    if isinstance(x, Fraction):
        return mpmath.mpf(x.numerator) / x.denominator
    if isinstance(x, sp.Basic):
        x = sp.N(x, mpmath.mp.dps + 5)
        if not x.is_real:
            raise ValueError(f"{rid}: argument {name} must be numeric")
        return mpmath.mpf(str(x))
    try:
        return mpmath.mpf(x)
    except (TypeError, ValueError):
        raise ValueError(f"{rid}: argument {name} must be numeric") from None


def _as_object_array(value: Any, rid: str, name: str) -> np.ndarray:
    try:
        arr = np.array(value, dtype=object)
    except ValueError:
        raise ValueError(
            f"{rid}: argument {name} must be numeric (a scalar or a rectangular array)"
        ) from None
    flat = [_to_mpf(x, rid, name) for x in arr.reshape(-1)]
    out = np.empty(arr.shape, dtype=object)
    out.reshape(-1)[:] = flat if flat else []
    return out


def _expand_sums(expr: sp.Basic, length: int | None) -> sp.Basic:
    """Write every Sum out over 0..length−1 (the symbols in its upper limit set from length)."""
    sums = list(expr.atoms(sp.Sum))
    if not sums:
        return expr
    if length is None:
        raise ValueError("a Sum needs an array argument to fix its length")
    reps = {}
    for s in sums:
        for _x, _lo, hi in s.limits:
            for sym in hi.free_symbols:
                reps[sym] = sp.solve(sp.Eq(hi, length - 1), sym)[0]
    return expr.subs(reps).doit()


def _flatten_indexed(
    expr: sp.Basic, arrays: list[sp.IndexedBase], length: int | None
) -> tuple[sp.Basic, list]:
    """Replace lam[k] by plain symbols lam__k; return the expression and the symbol grid."""
    grids = []
    reps = {}
    for base in arrays:
        syms = [sp.Dummy(f"{base.label}_{k}") for k in range(length or 0)]
        grids.append(syms)
        for k, s in enumerate(syms):
            reps[base[k]] = s
    return expr.xreplace(reps), grids


def _mp_function(params: list[sp.Basic], expr: sp.Basic):  # noqa: ANN202 (lambdified function)
    return sp.lambdify(params, expr, modules="mpmath")


def evaluate_mp(result_id: str, dps: int = 50, **kwargs: Any) -> mpmath.mpf | list:
    """Evaluate the closed form of ``result_id`` at ``dps`` significant digits with mpmath.

    Arguments go by name (as in :data:`plasticity.derivations.closed_forms.SIGNATURES`); numbers may be
    ints, floats, strings (``"1e-30"``), ``Fraction``, SymPy numbers or mpf.  Array arguments
    have shape ``(..., N)``.  Returns an mpf for a single evaluation, a nested list of mpf for a
    batch.  Raises ``ValueError`` naming the problem, like ``Result.numeric``.
    """
    result: Result = get(result_id)
    if result.closed_form is None:
        raise ValueError(f"{result.id} is a statement without a closed form to evaluate")
    if not isinstance(dps, int) or isinstance(dps, bool) or dps < 1:
        raise ValueError(f"{result.id}: dps must be a positive integer (got {dps!r})")
    names = result.arg_names
    params = [inspect.Parameter(nm, inspect.Parameter.KEYWORD_ONLY) for nm in names]
    try:
        inspect.Signature(params).bind(**kwargs)
    except TypeError as exc:
        raise ValueError(f"{result.id}: expected arguments ({', '.join(names)}): {exc}") from None

    with mpmath.workdps(dps):
        values = {nm: _as_object_array(kwargs[nm], result.id, nm) for nm in names}
        for arg, nm in zip(result.args, names, strict=True):
            vals = values[nm].reshape(-1)
            if not all(mpmath.isfinite(x) for x in vals):
                raise ValueError(f"{result.id}: argument {nm} must be finite (got NaN or inf)")
            sign = _sign_requirement(arg)
            if sign is not None and not all(sign[1](x) for x in vals):
                raise ValueError(f"{result.id}: argument {nm} must be {sign[0]}")
        arrays = [a for a in result.args if isinstance(a, sp.IndexedBase)]
        shapes = {nm: values[nm].shape for nm in names}
        relations = [c for c in result.conditions if c.relation is not None and c.relation is not sp.true]
        for cond in relations:
            for shape_rel in cond.relation.atoms(ArrayShapes):
                if not shape_rel.holds(shapes):
                    raise ValueError(f"{result.id}: condition violated: {cond.text}")
        array_shapes = [shapes[str(a.label)] for a in arrays]
        if any(len(sh) < 1 for sh in array_shapes) or len({sh[-1] for sh in array_shapes}) > 1:
            raise ValueError(f"{result.id}: array arguments need shape (..., N) with one common N")
        length = array_shapes[0][-1] if arrays else None
        lead_shapes = [
            shapes[nm][:-1] if isinstance(a, sp.IndexedBase) else shapes[nm]
            for a, nm in zip(result.args, names, strict=True)
        ]
        try:
            batch = np.broadcast_shapes(*lead_shapes)
        except ValueError:
            raise ValueError(
                f"{result.id}: argument shapes {[shapes[nm] for nm in names]} do not fit"
            ) from None

        scalars = [a for a in result.args if not isinstance(a, sp.IndexedBase)]

        def prepare(expr: sp.Basic):  # noqa: ANN202
            flat, grids = _flatten_indexed(_expand_sums(expr, length), arrays, length)
            flat_params = list(scalars) + [s for g in grids for s in g]
            return _mp_function(flat_params, flat)

        fn = prepare(result.closed_form)
        rel_fns = [
            (c.text, prepare(c.relation.replace(lambda e: isinstance(e, ArrayShapes), lambda e: sp.true)))
            for c in relations
        ]

        def point(index: tuple[int, ...]) -> list:
            args = [np.broadcast_to(values[str(a)], batch)[index] for a in scalars]
            for a in arrays:
                args.extend(np.broadcast_to(values[str(a.label)], batch + (length,))[index])
            return args

        indices = list(np.ndindex(*batch)) if batch else [()]
        for text, rel in rel_fns:
            for index in indices:
                if not bool(rel(*point(index))):
                    raise ValueError(f"{result.id}: condition violated: {text}")
        out = np.empty(batch, dtype=object)
        for index in indices:
            try:
                val = fn(*point(index))
            except ZeroDivisionError:
                raise ValueError(f"{result.id}: result is not finite for these inputs") from None
            if isinstance(val, mpmath.mpf) and not mpmath.isfinite(val):
                raise ValueError(f"{result.id}: result is not finite for these inputs")
            out[index] = val if isinstance(val, mpmath.mpf | mpmath.mpc | bool) else mpmath.mpf(val)
        return out[()] if not batch else out.tolist()
