"""The registry and the validated numeric forms of derivations.core."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from plasticity.derivations import closed_forms, core
from plasticity.derivations.core import Check, Condition, Result


def _result(**kw: object) -> Result:
    x = sp.Symbol("x", positive=True)
    y = sp.Symbol("y", real=True)
    base = dict(
        id="t_core",
        title="test",
        statement=sp.Symbol("s"),
        closed_form=y / (x - 1),
        args=(x, y),
        conditions=(Condition("y below 10", y < 10),),
        checks=(Check("c", True),),
    )
    base.update(kw)
    return Result(**base)  # type: ignore[arg-type]


def test_validation_names_each_problem() -> None:
    f = _result().numeric()
    assert f(2.0, 3.0) == pytest.approx(3.0)
    assert f(y=3.0, x=2.0) == pytest.approx(3.0)
    cases = [
        ((-1.0, 1.0), "t_core: argument x must be positive"),
        ((np.nan, 1.0), "t_core: argument x must be finite"),
        ((2.0, 11.0), "t_core: condition violated: y below 10"),
        (("a", 1.0), "t_core: argument x must be numeric"),
        (([2.0, 3.0], [1.0, 2.0, 3.0]), "t_core: argument shapes"),
        ((1.0, 1.0), "t_core: result is not finite"),  # 1/(x − 1) at x = 1: no silent inf/NaN
        ((1.0,), "t_core: expected arguments (x, y)"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError) as exc:
            f(*args)
        assert str(exc.value).startswith(message), str(exc.value)


def test_unvalidated_form_skips_checks() -> None:
    raw = _result().numeric(validate=False)
    with np.errstate(all="ignore"):
        assert np.isnan(raw(-1.0, np.nan))


def test_statement_without_closed_form_cannot_be_evaluated() -> None:
    with pytest.raises(ValueError, match="without a closed form"):
        _result(closed_form=None).numeric()


def test_verified_needs_at_least_one_passing_check_and_no_failures() -> None:
    assert _result().verified
    assert not _result(checks=()).verified
    assert not _result(checks=(Check("a", True), Check("b", False))).verified
    assert _result(checks=(Check("a", True), Check("b", False))).failed_checks[0].name == "b"


def test_check_coerces_sympy_and_numpy_booleans() -> None:
    assert Check("a", sp.true).passed is True
    assert Check("a", sp.false).passed is False
    assert Check("a", np.bool_(True)).passed is True


def test_unknown_id_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown result id 'nope'; known ids: eq2"):
        core.get("nope")


def test_registering_an_id_twice_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(core._BUILDERS, "t_dup", lambda: _result(id="t_dup"))
    with pytest.raises(RuntimeError, match="registered twice"):
        core.derivation("t_dup")(lambda: _result(id="t_dup"))


def test_ids_follow_document_order() -> None:
    ids = core.ids()
    ordered = [i for i in ids if i in core.ORDER]
    assert ordered == [i for i in core.ORDER if i in ids]


@pytest.mark.parametrize("name", sorted(closed_forms.SIGNATURES))
def test_every_public_closed_form_resolves_with_the_contract_arguments(name: str) -> None:
    result_id, expected = closed_forms.SIGNATURES[name]
    fn = getattr(closed_forms, name)  # raises RuntimeError if argument names drift
    assert tuple(fn.__signature__.parameters) == expected
    assert core.get(result_id).arg_names == expected


def test_eq9a_applies_exactly_where_its_validated_form_accepts() -> None:
    # the one test of "does eq9a apply": the derived domain agrees with the validated form
    from plasticity.derivations import closed_forms

    q = np.array([2.0, 1e-300, 0.0, -1.0, np.nan, np.inf])
    for q_eps in q:
        for q_c in q:
            try:
                closed_forms.steady_state_ratio(Q_eps=q_eps, Q_c=q_c)
                accepted = True
            except ValueError:
                accepted = False
            assert bool(closed_forms.applies("steady_state_ratio", q_eps, q_c)) == accepted, (q_eps, q_c)
    q_eps, q_c = np.array([4.0, 4.0, -1.0]), np.array([1.0, 0.0, 1.0])
    out = closed_forms.where_applies("steady_state_ratio", q_eps, q_c)
    assert out[0] == 2.0 and np.isnan(out[1:]).all()
    with pytest.raises(ValueError, match="unknown closed form"):
        closed_forms.applies("steady_state_ration", 1.0, 1.0)
    with pytest.raises(ValueError, match="elementwise"):
        closed_forms.applies("Q_gradient_equal_projections", np.ones(3))
