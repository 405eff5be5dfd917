"""A whitelisted parser for a user's loss expression: a string becomes a SymPy expression
without ever reaching ``eval`` unchecked.

SymPy's ``parse_expr`` evaluates Python code internally, so it is never handed raw user
text.  The text is first split by Python's :mod:`tokenize` and every token is checked
against a whitelist: numbers (decimal, not complex), the declared variable names, the
operators ``+ - * / **``, parentheses and commas, the functions in :data:`FUNCTIONS` and
the constants ``pi`` and ``E``.  Anything else (attribute access ``.``, subscripts,
strings, ``lambda``, unknown names, double underscores, ...) is refused with a
``ValueError`` naming the offending token.  Only then is the text parsed, with a global
namespace holding exactly the whitelisted names (and empty builtins), first unevaluated so
that constant powers too large to compute (``10**10**10``) are refused before SymPy tries.
"""

from __future__ import annotations

import io
import keyword
import math
import re
import tokenize
from collections.abc import Sequence

import sympy as sp
from sympy.parsing.sympy_parser import auto_number, parse_expr

__all__ = [
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_VARIABLES",
    "MAX_EXPONENT",
    "parse_variables",
    "parse_expression",
]

#: the only functions an expression may call
FUNCTIONS: dict[str, sp.Basic] = {
    "exp": sp.exp,
    "log": sp.log,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "tanh": sp.tanh,
    "sinh": sp.sinh,
    "cosh": sp.cosh,
    "sqrt": sp.sqrt,
    "Abs": sp.Abs,
}
#: the only named constants an expression may use
CONSTANTS: dict[str, sp.Basic] = {"pi": sp.pi, "E": sp.E}
#: operators allowed between tokens
OPERATORS = frozenset({"+", "-", "*", "/", "**", "(", ")", ","})
#: longest expression accepted (characters); longer input is refused, not truncated
MAX_LENGTH = 2000
#: most variables accepted from --vars (an expression landscape is differentiated symbolically)
MAX_VARIABLES = 200
#: largest |exponent| accepted in a power with a numeric exponent
MAX_EXPONENT = 1000
#: largest |log10| of a constant power (the float64 range), so constants stay computable
_MAX_LOG10_CONSTANT = 300.0
#: names the parser itself needs (auto_number turns literals into these) and so reserves
_PARSER_NAMES: dict[str, object] = {"Integer": sp.Integer, "Float": sp.Float, "Rational": sp.Rational}
_RESERVED = frozenset(FUNCTIONS) | frozenset(CONSTANTS) | frozenset(_PARSER_NAMES) | {"I", "oo", "nan", "zoo"}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_DECIMAL = re.compile(r"(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][+-]?\d[\d_]*)?\Z")
_MAX_DIGITS = 60


def parse_variables(text: str | Sequence[str]) -> tuple[str, ...]:
    """Variable names from ``"x,y,z"`` (or a sequence), validated: identifiers, unique, not reserved."""
    if isinstance(text, str):
        if len(text) > MAX_LENGTH:
            raise ValueError(f"--vars is {len(text)} characters long; at most {MAX_LENGTH} are accepted")
        names = [t.strip() for t in text.split(",")]
    else:
        names = [str(t).strip() for t in text]
    if not names or names == [""]:
        raise ValueError("no variables given: pass --vars as comma-separated names, e.g. --vars x,y")
    if len(names) > MAX_VARIABLES:
        raise ValueError(f"{len(names)} variables given; at most {MAX_VARIABLES} are accepted")
    seen: set[str] = set()
    for name in names:
        if not name:
            raise ValueError("empty variable name in --vars (two commas in a row, or a trailing comma?)")
        if "__" in name:
            raise ValueError(f"variable name {name!r} is refused: double underscores are not allowed")
        if not _NAME.match(name) or keyword.iskeyword(name):
            raise ValueError(
                f"variable name {name!r} is not allowed: use a letter followed by letters, digits or _"
            )
        if name in _RESERVED:
            raise ValueError(f"variable name {name!r} is reserved (a function, constant or parser name)")
        if name in seen:
            raise ValueError(f"variable {name!r} is declared twice in --vars")
        seen.add(name)
    return tuple(names)


def _check_tokens(text: str, variables: frozenset[str]) -> None:
    """Refuse any token outside the whitelist, naming it and its column."""
    allowed_names = variables | frozenset(FUNCTIONS) | frozenset(CONSTANTS)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise ValueError(
            f"expression is not well formed ({exc.args[0]}; unbalanced parentheses?): {text!r}"
        ) from None
    previous: tokenize.TokenInfo | None = None
    for tok in tokens:
        kind, string, (_, col) = tok.type, tok.string, tok.start
        where = f"at column {col + 1}"
        if kind in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER):
            continue
        if kind == tokenize.NAME:
            if "__" in string:
                raise ValueError(f"refused token {string!r} {where}: double underscores are not allowed")
            if keyword.iskeyword(string):
                raise ValueError(f"refused token {string!r} {where}: Python keywords are not allowed")
            if string not in allowed_names:
                raise ValueError(
                    f"unknown name {string!r} {where}: an expression may use only the declared "
                    f"variables {sorted(variables)}, the functions {sorted(FUNCTIONS)} and the "
                    f"constants {sorted(CONSTANTS)}"
                )
        elif kind == tokenize.NUMBER:
            if not _DECIMAL.match(string):
                raise ValueError(
                    f"refused number {string!r} {where}: only decimal numbers (e.g. 3, 0.5, 1e-3) are allowed"
                )
            if len(string) > _MAX_DIGITS:
                raise ValueError(f"refused number {string[:20]!r}... {where}: more than {_MAX_DIGITS} digits")
        elif kind == tokenize.OP:
            if string not in OPERATORS:
                hint = " (use ** for powers)" if string == "^" else ""
                raise ValueError(
                    f"refused operator {string!r} {where}{hint}: allowed are {' '.join(sorted(OPERATORS))}"
                )
        elif kind == tokenize.STRING:
            raise ValueError(f"refused string literal {string!r} {where}: strings are not allowed")
        elif kind == tokenize.COMMENT:
            raise ValueError(f"refused comment {string!r} {where}: '#' is not allowed")
        else:
            raise ValueError(f"refused token {string!r} {where}")
        if previous is not None and previous.string in FUNCTIONS and string != "(":
            raise ValueError(f"function {previous.string!r} must be called, e.g. {previous.string}(x)")
        previous = tok
    if previous is not None and previous.string in FUNCTIONS:
        raise ValueError(f"function {previous.string!r} must be called, e.g. {previous.string}(x)")


def _check_sizes(expr: sp.Basic) -> None:
    """Refuse powers whose exponent or constant value is too large to compute (bottom-up)."""
    for node in sp.postorder_traversal(expr):
        if not isinstance(node, sp.Pow):
            continue
        base, exponent = node.args
        if exponent.free_symbols:
            continue
        e = complex(sp.N(exponent, 15))
        if not math.isfinite(e.real) or abs(e) > MAX_EXPONENT:
            raise ValueError(f"exponent {exponent} is too large: |exponent| must be at most {MAX_EXPONENT}")
        if base.free_symbols:
            continue
        b = abs(complex(sp.N(base, 15)))
        if b != 0.0 and abs(e.real * math.log10(b)) > _MAX_LOG10_CONSTANT:
            raise ValueError(f"constant ({base})**({exponent}) is outside the float64 range")


def parse_expression(text: str, variables: str | Sequence[str]) -> sp.Expr:
    """Parse ``text`` into a SymPy expression in ``variables`` after whitelisting every token.

    Raises ``ValueError`` naming the offending token for anything outside the whitelist, for
    input longer than :data:`MAX_LENGTH`, and for results that are not a finite real-valued
    scalar expression (e.g. ``1/0``).
    """
    if not isinstance(text, str):
        raise ValueError(f"expression must be a string, got {type(text).__name__}")
    names = parse_variables(variables)
    if len(text) > MAX_LENGTH:
        raise ValueError(f"expression is {len(text)} characters long; at most {MAX_LENGTH} are accepted")
    stripped = text.strip()
    if not stripped:
        raise ValueError("expression is empty")
    if "\n" in stripped or "\r" in stripped or ";" in stripped:
        raise ValueError("expression must be a single line (no newlines or ';')")
    _check_tokens(stripped, frozenset(names))

    symbols = {name: sp.Symbol(name, real=True) for name in names}
    global_dict: dict[str, object] = {"__builtins__": {}, **_PARSER_NAMES, **FUNCTIONS, **CONSTANTS}

    def _parse(evaluate: bool) -> sp.Basic:
        unevaluated = {"Add": sp.Add, "Mul": sp.Mul, "Pow": sp.Pow} if not evaluate else {}
        try:
            return parse_expr(
                stripped,
                local_dict=dict(symbols),
                global_dict={**global_dict, **unevaluated},
                transformations=(auto_number,),
                evaluate=evaluate,
            )
        except (SyntaxError, TypeError, ValueError, AttributeError, NameError, tokenize.TokenError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ValueError(f"cannot parse expression {stripped!r}: {msg}") from None

    _check_sizes(_parse(evaluate=False))
    expr = _parse(evaluate=True)
    if not isinstance(expr, sp.Expr):
        raise ValueError(
            f"expression {stripped!r} is not a single scalar expression (got {type(expr).__name__})"
        )
    if expr.has(sp.I):
        raise ValueError(f"expression {stripped!r} is complex-valued (e.g. sqrt of a negative number)")
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        raise ValueError(f"expression {stripped!r} is undefined or infinite (e.g. a division by zero)")
    return expr
