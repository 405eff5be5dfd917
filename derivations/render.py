"""Render derived results as a Markdown document, a LaTeX document and a JSON index.

Output is deterministic (no timestamps; results in the order given; SymPy's canonical
printing), so re-running ``plasticity derive`` gives byte-identical files.  The Markdown uses
``$…$`` / ``$$…$$`` math that GitHub renders; the LaTeX is a complete ``article`` that
compiles with pdflatex (all Unicode in prose is mapped to LaTeX commands).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import sympy as sp
from sympy.printing.repr import ReprPrinter

from plasticity.derivations.core import Result


class _CanonicalReprPrinter(ReprPrinter):
    """``srepr`` with a Symbol's assumptions in sorted order.

    SymPy caches symbols, and keeps the assumptions in the keyword order of whichever call
    created the symbol first in the process; sorting makes the JSON independent of that.
    """

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        d = dict(expr._assumptions_orig)
        if expr.is_Dummy:
            d["dummy_index"] = expr.dummy_index
        if not d:
            return f"{expr.__class__.__name__}({self._print(expr.name)})"
        attr = ", ".join(f"{k}={v}" for k, v in sorted(d.items()))
        return f"{expr.__class__.__name__}({self._print(expr.name)}, {attr})"


def canonical_srepr(expr: sp.Basic) -> str:
    """``sympy.srepr`` that does not depend on the order symbols were first created in."""
    return _CanonicalReprPrinter().doprint(expr)


__all__ = ["render_markdown", "render_latex", "closed_forms_json", "sharper_entries", "to_latex"]

#: LaTeX for the argument symbols of the closed forms (by symbol name).
LATEX_NAMES: dict[str, str] = {
    "g_dot_dw": r"\nabla F^{T}\Delta w",
    "dw_H_dw": r"\Delta w^{T}\nabla^{2}F\,\Delta w",
    "dw_norm": r"\|\Delta w\|",
    "trace_H": r"\operatorname{Tr}\nabla^{2}F",
    "trace_H2": r"\operatorname{Tr}\left((\nabla^{2}F)^{2}\right)",
    "n": "N",
    "v_H_v": r"v^{T}\nabla^{2}F\,v",
    "v_norm": r"\|v\|",
    "c_norm": r"\|\Delta c\|",
    "grad_dot_chat": r"\nabla F^{T}\Delta\hat{c}",
    "eps_norm": r"\|\Delta\epsilon\|",
    "Q_c": r"Q[\Delta c]",
    "Q_eps": r"Q[\Delta\epsilon]",
    "expected_dF": r"\mathbb{E}[\Delta F]",
    "a_norm": r"\|a\|",
    "tilde_norm": r"\|\Delta\tilde{c}\|",
    "nu_norm": r"\|\nu\|",
    "Q_tilde": r"Q[\Delta\tilde{c}]",
    "Q_nu": r"Q[\nu]",
    "Delta_t": r"\Delta t",
    "c_rate": r"\|\dot{c}\|",
    "eps_rate": r"\|\dot{\epsilon}\|",
    "c_star": r"\|\Delta c\|^{*}",
    "lam": r"\lambda",
    "kappa": r"\kappa",
}

#: Unicode in prose -> LaTeX math (wrapped in $…$ in text, inserted as-is in math).
_UNICODE_MATH: dict[str, str] = {
    "Δ": r"\Delta ",
    "ε": r"\epsilon ",
    "∇": r"\nabla ",
    "ᵀ": "^{T}",
    "‖": r"\| ",
    "²": "^{2}",
    "³": "^{3}",
    "⁴": "^{4}",
    "⁰": "^{0}",
    "¹": "^{1}",
    "⁻": "^{-}",
    "ⁿ": "^{n}",
    "ᵢ": "_{i}",
    "ⱼ": "_{j}",
    "ₖ": "_{k}",
    "₀": "_{0}",
    "₁": "_{1}",
    "₂": "_{2}",
    "₃": "_{3}",
    "ₙ": "_{n}",
    "≥": r"\geq ",
    "≤": r"\leq ",
    "≠": r"\neq ",
    "≈": r"\approx ",
    "⇔": r"\Leftrightarrow ",
    "⇒": r"\Rightarrow ",
    "→": r"\to ",
    "∞": r"\infty ",
    "½": r"\tfrac{1}{2}",
    "√": r"\surd ",
    "\u0109": r"\hat{c}",
    "\u010b": r"\dot{c}",
    "λ": r"\lambda ",
    "Σ": r"\Sigma ",
    "ν": r"\nu ",
    "θ": r"\theta ",
    "φ": r"\phi ",
    "σ": r"\sigma ",
    "κ": r"\kappa ",
    "ρ": r"\rho ",
    "π": r"\pi ",
    "μ": r"\mu ",
    "α": r"\alpha ",
    "β": r"\beta ",
    "γ": r"\gamma ",
    "δ": r"\delta ",
    "ξ": r"\xi ",
    "τ": r"\tau ",
    "∈": r"\in ",
    "⪰": r"\succeq ",
    "⪯": r"\preceq ",
    "·": r"\cdot ",
    "−": "-",
    "×": r"\times ",
    "∫": r"\int ",
    "∂": r"\partial ",
    "⊥": r"\perp ",
    "∝": r"\propto ",
    "∑": r"\sum ",
    "∏": r"\prod ",
    "≡": r"\equiv ",
    "∀": r"\forall ",
    "∃": r"\exists ",
    "ℝ": r"\mathbb{R}",
    "𝔼": r"\mathbb{E}",
    "∘": r"\circ ",
    "±": r"\pm ",
    "∧": r"\wedge ",
    "∨": r"\vee ",
    "¬": r"\neg ",
    "⟨": r"\langle ",
    "⟩": r"\rangle ",
    "<": "<",
    ">": ">",
    "|": "|",
}
#: Unicode in prose -> LaTeX text.
_UNICODE_TEXT: dict[str, str] = {
    "—": "---",
    "–": "--",
    "‘": "`",
    "’": "'",
    "“": "``",
    "”": "''",
    "…": r"\ldots{}",
    "✓": "ok",
    "✗": "x",
    "é": r"\'e",
    "\u00a0": "~",
}
_SUPERSCRIPTS = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺ⁿᵀ", "0123456789-+nT", strict=True))
_SUBSCRIPTS = dict(zip("₀₁₂₃₄₅₆₇₈₉ᵢⱼₖₙ", "0123456789ijkn", strict=True))
_SCRIPT_RUNS = (
    (re.compile("[" + "".join(_SUPERSCRIPTS) + "]+"), "^", _SUPERSCRIPTS),
    (re.compile("[" + "".join(_SUBSCRIPTS) + "]+"), "_", _SUBSCRIPTS),
)


def _scripts(text: str, wrap: tuple[str, str] = ("", "")) -> str:
    """Runs of Unicode super/subscripts become one ^{…} / _{…} (wrapped for prose)."""
    for pattern, mark, table in _SCRIPT_RUNS:
        text = pattern.sub(
            lambda m, mk=mark, tb=table: (
                wrap[0] + mk + "{" + "".join(tb[c] for c in m.group(0)) + "}" + wrap[1]
            ),
            text,
        )
    return text


_COMBINING = {"\u0302": r"\hat", "\u0307": r"\dot", "\u0303": r"\tilde", "\u0304": r"\bar"}
_TEXT_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def to_latex(expr: sp.Basic) -> str:
    """SymPy's LaTeX of ``expr`` with the closed forms' argument symbols given their math names."""
    names = {}
    for s in getattr(expr, "free_symbols", set()):
        if isinstance(s, sp.Symbol) and s.name in LATEX_NAMES:
            names[s] = LATEX_NAMES[s.name]
    return _math_ascii(sp.latex(expr, symbol_names=names))


def _math_ascii(math: str) -> str:
    """Replace any Unicode left in a math string by LaTeX (so pdflatex accepts it)."""
    math = _scripts(math)
    for mark, cmd in _COMBINING.items():
        math = re.sub(f"(.){mark}", lambda m, c=cmd: f"{c}{{{m.group(1)}}}", math)
    out = []
    for ch in math:
        if ord(ch) < 128:
            out.append(ch)
        elif ch in _UNICODE_MATH:
            out.append(_UNICODE_MATH[ch])
        else:
            out.append(rf"\text{{[U+{ord(ch):04X}]}}")
    return "".join(out)


def _tex_text(text: str) -> str:
    """Prose -> LaTeX: escape specials, Unicode symbols become inline math runs."""
    text = _scripts(text, ("\x00", "\x01"))
    for mark, cmd in _COMBINING.items():
        text = re.sub(f"(.){mark}", lambda m, c=cmd: f"\x00{c}{{{m.group(1)}}}\x01", text)
    pieces: list[tuple[bool, str]] = []  # (is_math, content)
    in_cmd = False
    for ch in text:
        if ch == "\x00":
            in_cmd = True
            pieces.append((True, ""))
            continue
        if ch == "\x01":
            in_cmd = False
            continue
        if in_cmd:
            pieces[-1] = (True, pieces[-1][1] + _UNICODE_MATH.get(ch, ch).strip())
        elif ch in _UNICODE_MATH and (ord(ch) >= 128 or ch in "<>|"):
            pieces.append((True, _UNICODE_MATH[ch]))
        elif ch in _UNICODE_TEXT:
            pieces.append((False, _UNICODE_TEXT[ch]))
        elif ch in _TEXT_ESCAPES:
            pieces.append((False, _TEXT_ESCAPES[ch]))
        elif ord(ch) < 128:
            pieces.append((False, ch))
        else:
            pieces.append((False, rf"\texttt{{[U+{ord(ch):04X}]}}"))
    out: list[str] = []
    run: list[str] = []
    for is_math, content in pieces:
        if is_math:
            run.append(content)
            continue
        if run:
            out.append("$" + "".join(run).strip() + "{}$")
            run = []
        out.append(content)
    if run:
        out.append("$" + "".join(run).strip() + "{}$")
    return "".join(out)


def _md_math(expr: sp.Basic) -> str:
    """LaTeX for GitHub Markdown math: avoid backslash-punctuation pairs Markdown may unescape."""
    math = to_latex(expr)
    return math.replace("\\|", "\\Vert ").replace("\\{", "\\lbrace ").replace("\\}", "\\rbrace ")


def _md_text(text: str) -> str:
    """Prose for Markdown: escape characters GitHub would read as emphasis or math."""
    return text.replace("\\", "\\\\").replace("*", r"\*").replace("$", r"\$")


def sharper_entries(results: Sequence[Result]) -> list[tuple[Result, str]]:
    """Every ``sharper`` entry of the results, in document order, with its result."""
    return [(r, s) for r in results for s in r.sharper]


def _status(result: Result) -> str:
    passed = sum(c.passed for c in result.checks)
    word = "verified" if result.verified else "NOT VERIFIED"
    return f"{word}: {passed}/{len(result.checks)} self-checks passed"


# --------------------------------------------------------------------------- Markdown
def render_markdown(results: Sequence[Result]) -> str:
    """The derivations as GitHub Markdown: sharper-than-the-paper section, then each result."""
    lines = [
        "# Derivations of optimal compensatory plasticity",
        "",
        "Generated by `plasticity derive` from the SymPy derivations in `derivations/` "
        "(Raman & O'Leary, eLife 2021;10:e62912). Every statement, step and closed form below "
        "was produced by SymPy; every check was run by the derivation itself. Do not edit by hand.",
        "",
        "## Contents",
        "",
    ]
    for r in results:
        mark = "" if r.verified else " — **NOT VERIFIED**"
        lines.append(f"- [`{r.id}`](#{r.id}) {_md_text(r.title)}{mark}")
    lines += ["", "## Where the algebra is sharper than the paper's wording", ""]
    entries = sharper_entries(results)
    if not entries:
        lines.append("No result recorded a difference from the paper's wording.")
    for r, text in entries:
        lines.append(f"- **[`{r.id}`](#{r.id})** ({_md_text(r.paper)}; {_status(r)}): {_md_text(text)}")
    lines.append("")
    for r in results:
        lines += _markdown_result(r)
    return "\n".join(lines).rstrip("\n") + "\n"


def _markdown_result(r: Result) -> list[str]:
    lines = [f'<a id="{r.id}"></a>', "", f"## `{r.id}`: {_md_text(r.title)}", ""]
    if r.paper:
        lines += [f"*Paper:* {_md_text(r.paper)}. *Status:* {_status(r)}.", ""]
    lines += ["**Statement**", "", "$$", _md_math(r.statement), "$$", ""]
    if r.closed_form is not None:
        args = ", ".join(f"`{a}`" for a in r.arg_names)
        lines += [f"**Closed form** (numeric arguments {args})", "", "$$", _md_math(r.closed_form), "$$", ""]
    if r.conditions:
        lines += ["**Side conditions**", ""]
        for c in r.conditions:
            rel = "" if c.relation is None else f" (checked on inputs: ${_md_math(c.relation)}$)"
            lines.append(f"- {_md_text(c.text)}{rel}")
        lines.append("")
    if r.steps:
        lines += ["**Derivation** (steps as SymPy produced them)", ""]
        for k, step in enumerate(r.steps, 1):
            lines.append(f"{k}. {_md_text(step.text)}")
            if step.expr is not None:
                lines += ["", "   $$", "   " + _md_math(step.expr), "   $$", ""]
        lines.append("")
    lines += ["**Verification**", ""]
    for c in r.checks:
        detail = f" — {_md_text(c.detail)}" if c.detail else ""
        lines.append(f"- {'PASS' if c.passed else '**FAIL**'}: {_md_text(c.name)}{detail}")
    lines.append("")
    if r.notes:
        lines += ["**Notes**", ""] + [f"- {_md_text(n)}" for n in r.notes] + [""]
    if r.sharper:
        lines += ["**Sharper than the paper's wording**", ""] + [f"- {_md_text(s)}" for s in r.sharper]
        lines.append("")
    return lines


# --------------------------------------------------------------------------- LaTeX
_PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[margin=2cm]{geometry}
\usepackage{amsmath,amssymb}
\usepackage{graphicx}
\usepackage{hyperref}
\allowdisplaybreaks
\title{Derivations of optimal compensatory plasticity}
\author{Generated by \texttt{plasticity derive}}
\date{}
\begin{document}
\maketitle
\noindent Every statement, step and closed form below was produced by SymPy from the derivations
in \texttt{derivations/} (Raman \& O'Leary, eLife 2021;10:e62912); every check was run by the
derivation itself.
\tableofcontents
"""


def render_latex(results: Sequence[Result]) -> str:
    """The derivations as a complete LaTeX document (article class, amsmath, pdflatex)."""
    parts = [_PREAMBLE]
    parts.append("\\section*{Where the algebra is sharper than the paper's wording}\n")
    parts.append("\\addcontentsline{toc}{section}{Where the algebra is sharper than the paper's wording}\n")
    entries = sharper_entries(results)
    if entries:
        parts.append("\\begin{itemize}\n")
        for r, text in entries:
            parts.append(
                f"\\item \\textbf{{{_tex_text(r.id)}}} ({_tex_text(r.paper)}; {_tex_text(_status(r))}): "
                f"{_tex_text(text)}\n"
            )
        parts.append("\\end{itemize}\n")
    else:
        parts.append("No result recorded a difference from the paper's wording.\n")
    for r in results:
        parts.append(_latex_result(r))
    parts.append("\\end{document}\n")
    return "".join(parts)


#: displays longer than this many characters of LaTeX are scaled to the line width
_LONG_DISPLAY = 180


def _display(expr: sp.Basic) -> str:
    math = to_latex(expr)
    if len(math) > _LONG_DISPLAY:
        math = "\\resizebox{\\linewidth}{!}{$\\displaystyle " + math + "$}"
    return "\\begin{equation*}\n" + math + "\n\\end{equation*}\n"


def _latex_result(r: Result) -> str:
    out = [f"\\section{{{_tex_text(r.id)}: {_tex_text(r.title)}}}\n\\label{{{r.id}}}\n"]
    if r.paper:
        out.append(
            f"\\noindent\\emph{{Paper:}} {_tex_text(r.paper)}. \\emph{{Status:}} {_tex_text(_status(r))}.\n"
        )
    out.append("\\paragraph{Statement}\n" + _display(r.statement))
    if r.closed_form is not None:
        args = ", ".join(_tex_text(a) for a in r.arg_names)
        out.append(f"\\paragraph{{Closed form}} (numeric arguments {args})\n" + _display(r.closed_form))
    if r.conditions:
        out.append("\\paragraph{Side conditions}\n\\begin{itemize}\n")
        for c in r.conditions:
            rel = "" if c.relation is None else f" (checked on inputs: ${to_latex(c.relation)}$)"
            out.append(f"\\item {_tex_text(c.text)}{rel}\n")
        out.append("\\end{itemize}\n")
    if r.steps:
        out.append("\\paragraph{Derivation} (steps as SymPy produced them)\n\\begin{enumerate}\n")
        for step in r.steps:
            out.append(f"\\item {_tex_text(step.text)}\n")
            if step.expr is not None:
                out.append(_display(step.expr))
        out.append("\\end{enumerate}\n")
    out.append("\\paragraph{Verification}\n\\begin{itemize}\n")
    for c in r.checks:
        detail = f" --- {_tex_text(c.detail)}" if c.detail else ""
        verdict = "PASS" if c.passed else r"\textbf{FAIL}"
        out.append(f"\\item {verdict}: {_tex_text(c.name)}{detail}\n")
    out.append("\\end{itemize}\n")
    if r.notes:
        out.append("\\paragraph{Notes}\n\\begin{itemize}\n")
        out += [f"\\item {_tex_text(n)}\n" for n in r.notes]
        out.append("\\end{itemize}\n")
    if r.sharper:
        out.append("\\paragraph{Sharper than the paper's wording}\n\\begin{itemize}\n")
        out += [f"\\item {_tex_text(s)}\n" for s in r.sharper]
        out.append("\\end{itemize}\n")
    return "".join(out)


# --------------------------------------------------------------------------- JSON
def closed_forms_json(results: Sequence[Result]) -> str:
    """id -> {"srepr", "latex", "args", "conditions", "kind", "title"} as sorted, indented JSON.

    ``kind`` is ``"closed_form"`` when the result has a numeric closed form (``srepr`` /
    ``latex`` are of it) and ``"statement"`` otherwise (they are of the statement; ``args``
    is empty).  Each condition is ``{"text", "srepr"}`` with ``srepr`` null when not checkable.
    """
    data = {}
    for r in results:
        expr = r.closed_form if r.closed_form is not None else r.statement
        data[r.id] = {
            "kind": "closed_form" if r.closed_form is not None else "statement",
            "title": r.title,
            "srepr": canonical_srepr(expr),
            "latex": to_latex(expr),
            "args": list(r.arg_names) if r.closed_form is not None else [],
            "conditions": [
                {"text": c.text, "srepr": None if c.relation is None else canonical_srepr(c.relation)}
                for c in r.conditions
            ],
        }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
