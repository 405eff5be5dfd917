"""The Markdown / LaTeX / JSON renderings of derived results."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sympy as sp

from plasticity.derivations import get
from plasticity.derivations.core import Check, Condition, Result, Step
from plasticity.derivations.render import (
    _tex_text,
    canonical_srepr,
    closed_forms_json,
    render_latex,
    render_markdown,
    sharper_entries,
    to_latex,
)

MINE = ("eq2", "eq3", "eq4", "eq5", "eq8", "eq6", "eq9a", "eq9b", "eq10", "eq11", "app1")


@pytest.fixture(scope="module")
def results() -> list[Result]:
    return [get(i) for i in MINE]


def _fake(passed: bool = True) -> Result:
    x = sp.Symbol("x", positive=True)
    return Result(
        id="fake",
        title="A λ-test with ‖Δε‖² and H⁻¹ & 50% _under_ {braces} $dollars$ *stars*",
        statement=sp.Eq(sp.Symbol("y"), sp.sqrt(x)),
        closed_form=sp.sqrt(x),
        args=(x,),
        conditions=(Condition("x > 0 — strictly", x > 0),),
        steps=(Step("Take √ of x ≥ 0 (∇F̂ᵀΔĉ, ε̇, Σλᵢ³).", sp.sqrt(x)), Step("text only")),
        checks=(Check("ok", passed, "detail ≤ 1"),),
        notes=("a note",),
        sharper=("sharper: Q ≥ 0 is not enough",),
        paper="nowhere",
    )


def test_markdown_has_every_part_of_every_result(results: list[Result]) -> None:
    md = render_markdown(results)
    for r in results:
        assert f"## `{r.id}`: " in md
        assert f'<a id="{r.id}"></a>' in md
    assert md.count("$$") % 2 == 0
    for needle in ("**Statement**", "**Side conditions**", "**Derivation**", "**Verification**"):
        assert md.count(needle) >= len(
            [r for r in results if needle != "**Side conditions**" or r.conditions]
        )
    assert "## Where the algebra is sharper than the paper's wording" in md
    # every sharper entry appears in the section, with its result's verification status
    head = md.split("## Where the algebra is sharper than the paper's wording")[1].split('<a id="')[0]
    entries = sharper_entries(results)
    assert {r.id for r, _ in entries} >= {"eq6", "eq9b", "app1"}
    for r, _ in entries:
        assert f"[`{r.id}`](#{r.id})" in head and "verified:" in head


def test_markdown_escapes_prose_and_flags_failures() -> None:
    md = render_markdown([_fake(passed=False)])
    assert r"\*stars\*" in md and r"\$dollars\$" in md
    assert "**NOT VERIFIED**" in md and "**FAIL**: ok" in md


def test_latex_is_a_complete_ascii_document(results: list[Result]) -> None:
    tex = render_latex([*results, _fake()])
    assert tex.startswith("\\documentclass") and tex.endswith("\\end{document}\n")
    assert tex.isascii(), sorted({c for c in tex if not c.isascii()})
    assert "[U+" not in tex  # every Unicode character in the prose has a LaTeX mapping
    assert "\\section*{Where the algebra is sharper than the paper's wording}" in tex
    # braces balance once escaped braces are removed
    stripped = tex.replace("\\{", "").replace("\\}", "")
    assert stripped.count("{") == stripped.count("}")
    # no "$$" (plain-TeX display) and no double superscripts produced from prose
    body = tex.split("\\begin{document}")[1]
    assert "$$" not in body
    assert not re.search(r"\^\{[^}]*\}\^", body)


def test_tex_text_maps_unicode_runs_to_math() -> None:
    assert _tex_text("H⁻¹ and λᵢ") == "H$^{-1}{}$ and $\\lambda _{i}{}$"
    assert _tex_text("50% a_b {c} $") == "50\\% a\\_b \\{c\\} \\$"
    assert _tex_text("∇F̂") == "$\\nabla \\hat{F}{}$"


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed")
def test_latex_compiles_with_pdflatex(results: list[Result], tmp_path: Path) -> None:
    (tmp_path / "d.tex").write_text(render_latex([*results, _fake()]), encoding="ascii")
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "d.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert (tmp_path / "d.pdf").stat().st_size > 0


def test_closed_forms_json_round_trips(results: list[Result]) -> None:
    data = json.loads(closed_forms_json(results))
    assert list(data) == sorted(r.id for r in results)
    for r in results:
        entry = data[r.id]
        assert set(entry) >= {"srepr", "latex", "args", "conditions"}
        if r.closed_form is not None:  # srepr carries the symbols' assumptions
            assert sp.sympify(entry["srepr"]) == r.closed_form
        else:  # statements may hold MatrixSymbols with LaTeX names, which sympify cannot re-read
            assert entry["srepr"] == canonical_srepr(r.statement)
        assert entry["args"] == (list(r.arg_names) if r.closed_form is not None else [])
        assert [c["text"] for c in entry["conditions"]] == [c.text for c in r.conditions]
    assert data["eq3"]["kind"] == "statement" and data["eq8"]["kind"] == "closed_form"


def test_srepr_does_not_depend_on_symbol_creation_order() -> None:
    # SymPy caches a Symbol with the keyword order of its first creation; the JSON must not care.
    a = sp.Symbol("n_order_probe", positive=True, integer=True)
    sp.core.cache.clear_cache()
    b = sp.Symbol("n_order_probe", integer=True, positive=True)
    assert sp.srepr(a) != sp.srepr(b)  # the hazard is real
    assert canonical_srepr(a) == canonical_srepr(b)
    assert sp.sympify(canonical_srepr(a)) == a


def test_rendering_is_deterministic(results: list[Result]) -> None:
    assert render_markdown(results) == render_markdown(list(results))
    assert render_latex(results) == render_latex(list(results))
    assert closed_forms_json(results) == closed_forms_json(list(results))


def test_to_latex_names_the_arguments() -> None:
    latex = to_latex(get("eq8").closed_form)
    assert r"\|\Delta c\|" in latex and r"Q[\Delta\epsilon]" in latex and "c_{norm}" not in latex
