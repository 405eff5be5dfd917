"""The whitelisted expression parser: valid input parses to the right SymPy expression,
anything else is refused with a message naming the problem and nothing is executed."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import plasticity.checks.landscape.expr as expr_module
from plasticity.checks.landscape.expr import MAX_LENGTH, parse_expression, parse_variables

x, y, z = sp.symbols("x y z", real=True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x**2 + 3*y", x**2 + 3 * y),
        ("(1 - x)**2 + 100*(y - x**2)**2", (1 - x) ** 2 + 100 * (y - x**2) ** 2),
        ("exp(-x)*sin(y) + cos(z)", sp.exp(-x) * sp.sin(y) + sp.cos(z)),
        ("tanh(x) + sinh(y) + cosh(z) + tan(x)", sp.tanh(x) + sp.sinh(y) + sp.cosh(z) + sp.tan(x)),
        ("sqrt(x**2 + 1) + log(1 + y**2) + Abs(z)", sp.sqrt(x**2 + 1) + sp.log(1 + y**2) + sp.Abs(z)),
        ("pi*x + E*y", sp.pi * x + sp.E * y),
        ("0.5*x**2 + 1e-3*y", sp.Rational(1, 2) * x**2 + sp.Float("1e-3") * y),
        ("  -x + +y  ", -x + y),
    ],
)
def test_valid_expressions_parse_to_the_sympy_expression(text: str, expected: sp.Expr) -> None:
    got = parse_expression(text, "x,y,z")
    assert sp.simplify(got - expected) == 0


def test_variables_are_real_symbols() -> None:
    got = parse_expression("x*y", ["x", "y"])
    assert all(s.is_real for s in got.free_symbols)
    assert {str(s) for s in got.free_symbols} == {"x", "y"}


MALICIOUS = [
    ("__import__('os').system('echo hi')", "'__import__'"),
    ("().__class__", "'.'"),
    ("x.__dict__", "'.'"),
    ("lambda: 1", "'lambda'"),
    ("open('f')", "'open'"),
    ("eval('1')", "'eval'"),
    ("exec('import os')", "'exec'"),
    ("getattr(x, 'y')", "'getattr'"),
    ("x[0]", "'['"),
    ("Symbol('q')", "'Symbol'"),
    ("Integer(3)", "'Integer'"),
    ("'abc'", "string"),
    ("q + x", "'q'"),
    ("x if y else 1", "'if'"),
    ("[i for i in x]", "'['"),
    ("x # comment", "'#"),
    ("x @ y", "'@'"),
    ("x ^ 2", "use **"),
    ("x == y", "'=='"),
    ("0x1f * x", "'0x1f'"),
    ("2j * x", "'2j'"),
    ("x;y", "single line"),
    ("x\nimport os", "single line"),
]


@pytest.mark.parametrize(("text", "named"), MALICIOUS)
def test_refused_with_a_message_naming_the_token(text: str, named: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_expression(text, "x,y")
    assert named in str(exc.value)


@pytest.mark.parametrize(("text", "_named"), MALICIOUS)
def test_refused_input_never_reaches_sympys_eval(
    text: str, _named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whitelist, not parse_expr, refuses these: parse_expr (which evals) is never called."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"parse_expr called on refused input {text!r}")

    monkeypatch.setattr(expr_module, "parse_expr", boom)
    with pytest.raises(ValueError):
        parse_expression(text, "x,y")


def test_nothing_is_executed(tmp_path) -> None:
    target = tmp_path / "pwned"
    payloads = [
        f"__import__('os').system('touch {target}')",
        f"open('{target}', 'w').write('x')",
        f"(lambda: __import__('os').system('touch {target}'))()",
        f"x.__class__.__base__.__subclasses__()[0]('{target}')",
    ]
    for payload in payloads:
        with pytest.raises(ValueError):
            parse_expression(payload, "x")
    assert not target.exists()


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("1/0", "undefined or infinite"),
        ("log(0) + x", "undefined or infinite"),
        ("sqrt(-1)*x", "complex-valued"),
        ("10**10**10", "too large"),
        ("(10**100)**4", "float64 range"),
        ("x**5000", "too large"),
        ("exp", "must be called"),
        ("sin x", "must be called"),
        ("(x + 1", "unbalanced"),
        ("x, y", "single scalar"),
        ("exp(x, y)", "cannot parse"),
        ("x(2)", "cannot parse"),
        ("1" * 100, "digits"),
    ],
)
def test_bad_expressions_are_refused_clearly(text: str, named: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_expression(text, "x,y")
    assert named in str(exc.value)


def test_overly_long_input_is_refused() -> None:
    text = "+".join(["x"] * (MAX_LENGTH // 2 + 1))
    with pytest.raises(ValueError, match="at most"):
        parse_expression(text, "x")


@pytest.mark.parametrize(
    ("vars_text", "named"),
    [
        ("", "no variables"),
        ("x,,y", "empty variable"),
        ("x,x", "twice"),
        ("__x", "double underscores"),
        ("1x", "not allowed"),
        ("x.y", "not allowed"),
        ("lambda", "not allowed"),
        ("exp", "reserved"),
        ("pi", "reserved"),
        ("Integer", "reserved"),
    ],
)
def test_bad_variable_lists_are_refused(vars_text: str, named: str) -> None:
    with pytest.raises(ValueError) as exc:
        parse_variables(vars_text)
    assert named in str(exc.value)


def test_non_string_expression_is_refused() -> None:
    with pytest.raises(ValueError, match="must be a string"):
        parse_expression(3, "x")  # type: ignore[arg-type]


_alphabet = st.sampled_from(
    ["x", "y", "1", "2", "0.5", "+", "-", "*", "/", "**", "(", ")", ",", " ", "exp", "log", "sqrt", "."]
    + ["Abs", "pi", "_", "'", "[", "]", "9", "e"]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_alphabet, max_size=14).map("".join))
def test_fuzz_only_expressions_or_value_errors(text: str) -> None:
    """Any string gives either a finite real SymPy expression or a ValueError, never another error."""
    try:
        got = parse_expression(text, "x,y")
    except ValueError:
        return
    assert isinstance(got, sp.Expr)
    assert got.free_symbols <= {x, y}
