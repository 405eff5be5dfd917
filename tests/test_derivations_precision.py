"""evaluate_mp: agrees with float64 where float64 is fine, stays exact where float64 cancels,
and rejects bad input with the same messages as the float64 numeric forms."""

from __future__ import annotations

from fractions import Fraction

import mpmath
import numpy as np
import pytest
import sympy as sp

from plasticity.derivations import get, ids
from plasticity.derivations.precision import evaluate_mp


def exact_value(result_id: str, **kwargs: object) -> sp.Rational:
    """The closed form evaluated in exact rational arithmetic by SymPy (independent of mpmath)."""
    res = get(result_id)
    expr = res.closed_form
    size = None
    for arg in res.args:
        if isinstance(arg, sp.IndexedBase):
            size = len(kwargs[str(arg.label)])
    if size is not None:
        (n_sym,) = {s for x in expr.atoms(sp.Sum) for s in x.limits[0][2].free_symbols}
        expr = expr.subs(n_sym, size).doit()
    reps = {}
    for arg in res.args:
        v = kwargs[str(arg.label) if isinstance(arg, sp.IndexedBase) else str(arg)]
        if isinstance(arg, sp.IndexedBase):
            reps.update({arg[k]: sp.Rational(str(x)) for k, x in enumerate(v)})
        else:
            reps[arg] = sp.Rational(str(v))
    return sp.nsimplify(expr.xreplace(reps))


def _rel_err(approx: object, exact: sp.Expr) -> mpmath.mpf:
    with mpmath.workdps(80):
        e = mpmath.mpf(sp.N(exact, 80))
        return abs((mpmath.mpf(approx) - e) / e)


def test_matches_float64_on_benign_inputs_for_every_closed_form() -> None:
    rng = np.random.default_rng(40)
    evaluated = 0
    for rid in ids():
        res = get(rid)
        if res.closed_form is None:
            continue
        fn = res.numeric()
        for _ in range(40):
            kw = {}
            for arg, name in zip(res.args, res.arg_names, strict=True):
                if isinstance(arg, sp.IndexedBase):
                    kw[name] = rng.uniform(0.5, 2.0, 4)
                elif arg.is_integer:
                    kw[name] = int(rng.integers(1, 20))
                elif arg.is_nonpositive:
                    kw[name] = -float(rng.uniform(0.1, 2.0))
                elif arg.is_nonnegative:
                    kw[name] = float(rng.uniform(0.1, 2.0))
                else:  # a real argument whose sign a condition may fix: draw either sign
                    kw[name] = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 2.0))
            try:
                ref = fn(**kw)
            except ValueError:
                continue  # a condition of this result rejects the draw; try another
            got = evaluate_mp(rid, dps=40, **kw)
            if isinstance(got, bool) or np.asarray(ref).dtype == bool:
                assert bool(got) == bool(ref), rid
            else:
                # float64 rounding of a short formula: a few ε
                assert float(got) == pytest.approx(float(ref), rel=1e-12), rid
            evaluated += 1
            break
        else:
            pytest.fail(f"{rid}: no valid random input found in 40 draws")
    assert evaluated >= 15


def test_nearly_flat_direction_Q_where_float64_cancels() -> None:
    # λ = (1, −1): Q = (d₁² − d₂²)/(d₁² + d₂²) ≈ −1e-12 along a nearly flat direction
    kw = {"lam": ["1", "-1"], "d": ["1", "1.000000000001"]}
    exact = exact_value("si_mean_hessian", **kw)
    float64 = get("si_mean_hessian").numeric()(lam=[1.0, -1.0], d=[1.0, 1.000000000001])
    mp = evaluate_mp("si_mean_hessian", dps=50, **kw)
    # d₁² − d₂² cancels 12 digits at any precision: 50 − 12 leaves ~38 correct digits
    assert _rel_err(mp, exact) < mpmath.mpf(10) ** -35
    assert _rel_err(float(float64), exact) > 1e-6  # float64 keeps only ~4 of its 16 digits


def test_var_dF_nearly_isotropic_Hessian_where_float64_cancels() -> None:
    lam = [Fraction(1) + Fraction(k, 10**9) for k in range(5)]
    trace_H, trace_H2 = sum(lam), sum(x * x for x in lam)
    kw = {"eps_norm": 1, "a_norm": 0, "trace_H": trace_H, "trace_H2": trace_H2, "n": 5}
    exact = get("var_dF").closed_form.subs(
        {
            s: sp.Rational(Fraction(v).numerator, Fraction(v).denominator)
            for s, v in zip(get("var_dF").args, kw.values(), strict=True)
        }
    )
    mp = evaluate_mp("var_dF", dps=60, **kw)
    float64 = get("var_dF").numeric()(1.0, 0.0, float(trace_H), float(trace_H2), 5)
    # n·Tr(H²) − (Tr H)² cancels 17 digits at any precision: 60 − 17 leaves ~43 correct digits
    assert _rel_err(mp, exact) < mpmath.mpf(10) ** -40
    assert _rel_err(float(float64), exact) > 1e-2  # float64 has none left


def test_precision_follows_dps() -> None:
    with mpmath.workdps(120):
        root2 = mpmath.sqrt(2)
        v60 = evaluate_mp("eq9a", dps=60, Q_eps=2, Q_c=1)
        assert abs(v60 - root2) < mpmath.mpf(10) ** -58
        v20 = evaluate_mp("eq9a", dps=20, Q_eps=2, Q_c=1)
        assert mpmath.mpf(10) ** -40 < abs(v20 - root2) < mpmath.mpf(10) ** -18


def test_batched_arrays_return_lists() -> None:
    lam = [[1, 2, 3], [1, 1, 1]]
    out = evaluate_mp("eq13", lam=lam, c=[1, -1, 2])
    assert isinstance(out, list) and len(out) == 2
    with mpmath.workdps(50):  # the default dps of evaluate_mp
        assert out[0] == mpmath.mpf(117) / 41 and out[1] == 1
    assert isinstance(evaluate_mp("eq14", lam=[1, 2, 3]), mpmath.mpf)
    grid = evaluate_mp("var_dF", eps_norm=[[1], [2]], a_norm=[1, 2, 3], trace_H=1, trace_H2=1, n=1)
    assert grid == [[1, 4, 9], [4, 16, 36]]  # n = 1: Var = ‖Δε‖²‖a‖², broadcast over a 2×3 grid


@pytest.mark.parametrize(
    ("rid", "kwargs"),
    [
        ("eq13", {"lam": [1.0, 2.0], "c": [1.0, 2.0, 3.0]}),
        ("eq13", {"lam": [1.0, 2.0], "c": [0.0, 0.0]}),
        ("eq13", {"lam": 1.0, "c": 2.0}),
        ("eq13", {"lam": [1.0, np.nan], "c": [1.0, 1.0]}),
        ("eq13", {"lam": [1.0, 2.0]}),
        ("si_newton", {"lam": [1.0, -1.0]}),
        ("si_noisy", {"tilde_norm": 0.0, "nu_norm": 0.0, "Q_tilde": 1.0, "Q_nu": 1.0}),
        ("var_dF", {"eps_norm": 1.0, "a_norm": 1.0, "trace_H": 3.0, "trace_H2": 1.0, "n": 2}),
        ("var_dF", {"eps_norm": -1.0, "a_norm": 1.0, "trace_H": 3.0, "trace_H2": 9.0, "n": 2}),
        ("eq9a", {"Q_eps": 1.0, "Q_c": -1.0}),
    ],
)
def test_same_validation_messages_as_float64(rid: str, kwargs: dict) -> None:
    with pytest.raises(ValueError) as float_err:
        get(rid).numeric()(**kwargs)
    with pytest.raises(ValueError) as mp_err:
        evaluate_mp(rid, **kwargs)
    assert str(mp_err.value) == str(float_err.value)


def test_bad_calls() -> None:
    with pytest.raises(ValueError, match="unknown result id"):
        evaluate_mp("nope")
    with pytest.raises(ValueError, match="without a closed form"):
        evaluate_mp("table2")
    with pytest.raises(ValueError, match="dps must be a positive integer"):
        evaluate_mp("eq9a", dps=0, Q_eps=1, Q_c=1)
    with pytest.raises(ValueError, match="must be numeric"):
        evaluate_mp("eq9a", Q_eps="abc", Q_c=1)
