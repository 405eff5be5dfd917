"""The HTML report, built from small fake stage outputs (fast; no simulation runs here).

`make_fake_results` writes a directory that looks like what the stages of `plasticity
reproduce` leave behind; the browser test reuses it.
"""

from __future__ import annotations

import base64
import csv
import json
import re
import struct
import zlib
from pathlib import Path

import pytest
import sympy as sp

from plasticity.checks import report
from plasticity.checks.pipeline.predictions import write_predictions
from plasticity.checks.report import (
    StageRecord,
    build_report,
    derivations_document,
    png_data_uri,
    write_report,
)
from plasticity.derivations.core import Check, Condition, Result, Step

HOSTILE = "<script>alert('x')</script> & \"quoted\""

FIGURE_KEYS = ("1", "5", "5s1")


def tiny_png(width: int = 48, height: int = 24, shade: int = 0) -> bytes:
    """A valid RGB PNG (a colour gradient), written by hand so the tests need no plotting."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(bytes(((x * 5 + shade) % 256, (y * 9) % 256, 160)) for x in range(width))
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def fake_results() -> list[Result]:
    """Two derived-looking results with real SymPy expressions (square root, relation, fraction)."""
    q_eps, q_c, n, tr = sp.symbols("Q_eps Q_c n trace_H", positive=True)
    ratio = sp.sqrt(q_eps / q_c)
    return [
        Result(
            id="eq9a",
            title="Steady-state ratio " + HOSTILE,
            statement=sp.Eq(sp.Symbol("r"), ratio),
            closed_form=ratio,
            args=(q_eps, q_c),
            conditions=(Condition("compensation at least as curved", sp.Ge(q_c, q_eps)),),
            steps=(
                Step("set E[dF] = 0 at the optimum", sp.Eq(q_c * sp.Symbol("r") ** 2, q_eps)),
                Step("take the positive root", ratio),
            ),
            checks=(Check("simplify(lhs - rhs) == 0", True),),
            notes=("note with a < sign",),
            sharper=("needs Q[Δc] > 0, not ≥ 0",),
            paper="Eq. 9a",
        ),
        Result(
            id="eq12",
            title="Isotropic curvature",
            statement=sp.Eq(sp.Symbol("E[Q]"), tr / n),
            closed_form=tr / n,
            args=(tr, n),
            conditions=(Condition("isotropic fluctuations"), Condition("N < 10^6", sp.Lt(n, 10**6))),
            checks=(Check("Monte Carlo", True, "within 3 s.e."),),
        ),
    ]


FAKE_CLAIMS = {
    "profile": "ci",
    "claims": [
        {
            "id": "mc_eq8",
            "statement": "sampled mean of ΔF matches eq8 " + HOSTILE,
            "conditions": ["smooth F"],
            "verdict": "holds",
            "examples": 50,
            "worst_margin": 0.31,
            "tolerance": "4 s.e.",
            "evidence": {"z": 1.2},
            "counterexample": None,
        },
        {
            "id": "chebyshev",
            "statement": "Q[∇F] ≥ Tr/N",
            "conditions": "equal projections",
            "verdict": "holds under condition",
            "examples": 40,
            "worst_margin": 0.0,
            "tolerance": 1e-9,
            "evidence": "",
            "counterexample": None,
        },
        {
            "id": "flat_bias",
            "statement": "Q[∇F] < Tr/N is possible",
            "conditions": [],
            "verdict": "counterexample found",
            "examples": 7,
            "worst_margin": -0.5,
            "tolerance": 0,
            "evidence": {},
            "counterexample": {"lam": [0.01, 1.0], "c": [1.0, 0.0]},
        },
        {
            "id": "broken",
            "statement": "something that should hold",
            "conditions": [],
            "verdict": "FAILED",
            "examples": 3,
            "worst_margin": -2.0,
            "tolerance": 1e-6,
            "evidence": {"lhs": 1, "rhs": 3},
            "counterexample": {"x": 1},
        },
    ],
}

FAKE_LANDSCAPE = {
    "source": "examples/hessian.npy",
    "kind": "hessian",
    "n_params": 3,
    "trace_over_n": 0.7,
    "lambda_min": 0.01,
    "lambda_max": 1.0,
    "training_state": "highly trained",
    "q_eps": 0.7,
    "q_gradient": 0.9,
    "q_newton": 0.4,
    "q_zeroth_order": 0.7,
    "noisy_gradient": [{"noise_to_signal": 5.0, "expected_Q": 0.75, "predicted_ratio": 0.966}],
    "predicted_ratio": {"gradient": 0.88, "newton": 1.3, "zeroth_order": 1.0, "noisy_gradient": 0.95},
    "claims": [
        {
            "id": "main_claim.gradient",
            "statement": "ratio ≤ 1",
            "holds": True,
            "applies": True,
            "detail": "Q[∇F] ≥ Tr/N " + HOSTILE,
        },
        {"id": "main_claim.newton", "holds": False, "applies": False, "detail": "Newton outcompetes"},
        {"id": "made_up", "holds": False, "applies": True, "detail": "fails"},
    ],
    "simulation": {
        "eps_norm": 0.07,
        "steps": 1500,
        "reps": 4,
        "window": 500,
        "seed": 0,
        "rules": {
            "gradient": {
                "predicted_ratio": 0.5628,
                "self_consistent_ratio": 0.5894,
                "grad_norm_minimiser": 0.6,
                "loss_minimiser": 0.65,
            }
        },
    },
}


def _predicted_rows(network: str, noise: tuple[float, ...]) -> list[dict[str, object]]:
    """Rows of a figK_predicted.csv (the columns of checks.pipeline.figures.PREDICTED_COLUMNS)."""
    rows = []
    for i, nts in enumerate(noise):
        for j, f in enumerate((0.01, 0.02, 0.03)):
            rows.append(
                {
                    "network": network,
                    "noise_to_signal": nts,
                    "fluct_per_sqrtN": f,
                    "predicted_ratio": 0.2 + 0.1 * i + 0.01 * j,
                    "predicted_ratio_sd": 0.01,
                    "predicted_at_best": 0.25,
                    "best_loss_ratio": 0.4 + 0.3 * i,
                    "best_loss_ratio_sd": 0.0,
                    "best_grad_ratio": 0.1 + 0.3 * i,
                    "best_grad_ratio_sd": 0.2,
                    "n_reps": 2,
                    "n_unsettled": j,
                }
            )
    return rows


def write_run_csv(
    path: Path, q_eps: list[float], q_c: list[float], predicted: list[float] | None = None
) -> None:
    """A per-run figK.csv with measured Q's and their eq9a prediction (from derivations, as numerics does)."""
    from plasticity.derivations import closed_forms

    if predicted is None:
        predicted = [float(closed_forms.steady_state_ratio(e, c)) for e, c in zip(q_eps, q_c, strict=True)]
    lines = ["network,ratio,rep,steady_loss,Q_c,Q_eps,predicted_ratio"]
    for k, (e, c, p) in enumerate(zip(q_eps, q_c, predicted, strict=True)):
        lines.append(f"nonlinear,{0.1 * (k + 1)!r},0,0.01,{c!r},{e!r},{p!r}")
    path.write_text("\n".join(lines) + "\n")


def make_fake_results(out: Path) -> Path:
    """Write fake stage outputs into ``out`` (derivations, claims, 3 figures, predictions, landscape)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "derivations.json").write_text(json.dumps(derivations_document(fake_results())))
    (out / "derivations.md").write_text("# fake\n")
    (out / "claims.json").write_text(json.dumps(FAKE_CLAIMS))
    for i, key in enumerate(FIGURE_KEYS):
        (out / f"fig{key}.png").write_bytes(tiny_png(shade=40 * i))
        prov = {
            "experiment": f"fig{key}",
            "scale": "quick",
            "seed": 7 + i,
            "repetitions": 2,
            "steps": 400,
            "wall_time_s": 12.5 + i,
            "note": HOSTILE,
        }
        if key != "1":
            prov["parameters"] = {"reps": 2, "ratios": [0.1, 0.4, 0.7, 1.0], "protocol": {"steps": 400}}
            write_run_csv(out / f"fig{key}.csv", [0.03, 0.05, 0.2], [0.7, 0.4, 0.21])
        else:
            (out / f"fig{key}.csv").write_text("network,ratio\n")
        (out / f"fig{key}.json").write_text(json.dumps(prov))
    for key, network, noise in (("5", "nonlinear", (0.1, 20, 50)), ("5s1", "linear", (0.1, 1, 5))):
        rows = _predicted_rows(network, noise)
        with open(out / f"fig{key}_predicted.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    assert write_predictions(out) == 0
    (out / "landscape.json").write_text(json.dumps(FAKE_LANDSCAPE))
    return out


FAKE_STAGES = (
    StageRecord(
        "derive", "derive every result", "ok", 3.2, outputs=("derivations.md",), command="plasticity derive"
    ),
    StageRecord("verify", "verify the claims", "failed", 5.0, error="exit status 1: " + HOSTILE),
    StageRecord(
        "predictions", "predicted vs simulated", "not run", None, error="not run because figure5 failed"
    ),
)


def markup(page: str) -> str:
    """The page without its inlined <script> and <style> blocks (KaTeX's code holds '<img' etc.)."""
    return re.sub(r"<script>.*?</script>|<style>.*?</style>", "", page, flags=re.DOTALL)


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_fake_results(tmp_path_factory.mktemp("fake"))


@pytest.fixture(scope="module")
def full_page(fake_dir: Path) -> str:
    return build_report(fake_dir, stages=FAKE_STAGES, provenance=report.collect_provenance(61.0, "quick"))


@pytest.fixture(scope="module")
def page(full_page: str) -> str:
    """The report's own markup (scripts and styles removed)."""
    return markup(full_page)


def test_every_section_is_present(page: str) -> None:
    for section in ("run", "derivations", "claims", "figures", "predictions", "landscape"):
        assert f'<section id="{section}">' in page, section
    assert '<footer id="provenance">' in page
    assert page.count('<table class="claims">') == 1
    assert page.count('<table class="predictions">') == 1


def test_text_is_escaped(full_page: str, page: str) -> None:
    assert "<script>alert" not in full_page
    # the hostile string appears escaped in a title, a claim, a stage error and a landscape
    # detail, and (JSON-quoted) in each figure's provenance
    escaped = "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; "
    assert page.count(escaped + "&quot;quoted&quot;") == 4
    assert page.count(escaped + "\\&quot;quoted\\&quot;") == len(FIGURE_KEYS)
    # the only <script> elements are the two inline ones the report itself adds
    assert full_page.count("<script>") == 2 and page.count("<script") == 0


def test_figures_are_embedded_as_png_data_uris(page: str, fake_dir: Path) -> None:
    srcs = re.findall(r'<img src="([^"]*)"', page)
    assert len(srcs) == len(FIGURE_KEYS)
    for key, src in zip(FIGURE_KEYS, srcs, strict=True):
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]) == (fake_dir / f"fig{key}.png").read_bytes()


def test_no_asset_is_fetched_from_the_network(full_page: str) -> None:
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", full_page, re.IGNORECASE)
    assert not re.search(r"""url\(\s*["']?\s*(?:https?:)?//""", full_page, re.IGNORECASE)
    assert "@import" not in full_page
    assert "url(fonts/" not in full_page
    assert not re.search(r"<(?:link|iframe|object|embed)\b", markup(full_page), re.IGNORECASE)


def test_katex_and_its_fonts_are_inlined(full_page: str) -> None:
    woff2 = sorted((report.KATEX_DIR / "fonts").glob("*.woff2"))
    assert len(woff2) == 20  # the KaTeX 0.16 font set
    assert full_page.count("url(data:font/woff2;base64,") == len(woff2)
    assert (report.KATEX_DIR / "katex.min.js").read_text() in full_page
    assert (report.KATEX_DIR / "auto-render.min.js").read_text() in full_page
    assert (report.KATEX_DIR / "LICENSE").read_text().startswith("The MIT License")


def test_derivations_show_id_statement_conditions_steps(page: str) -> None:
    for rid in ("eq9a", "eq12"):
        assert f'id="d-{rid}"' in page
    # statement and closed form as SymPy's LaTeX (escaped), for KaTeX auto-render
    assert r"\[r = \frac{\sqrt{Q[\Delta\epsilon]}}{\sqrt{Q[\Delta c]}}\]" in page
    assert r"\(Q[\Delta c] \geq Q[\Delta\epsilon]\)" in page  # the condition's relation
    assert r"\(N &lt; 1000000\)" in page  # '<' inside math escaped too (KaTeX reads the text node)
    assert "Derivation: 2 steps" in page
    assert "take the positive root" in page
    assert "sharper than the paper" in page and "needs Q[Δc] &gt; 0, not ≥ 0" in page


def test_derivations_document_uses_the_documents_latex() -> None:
    doc = derivations_document(fake_results())
    first = doc["results"][0]
    # the closed forms' symbols get their math names (derivations.render.to_latex), as in derivations.md
    assert first["closed_form"] == r"\frac{\sqrt{Q[\Delta\epsilon]}}{\sqrt{Q[\Delta c]}}"
    assert first["conditions"] == [
        {"text": "compensation at least as curved", "latex": r"Q[\Delta c] \geq Q[\Delta\epsilon]"}
    ]
    assert [s["text"] for s in first["steps"]] == ["set E[dF] = 0 at the optimum", "take the positive root"]
    assert first["verified"] is True
    assert doc["results"][1]["conditions"][0]["latex"] is None


def test_claims_table_has_verdicts_margins_and_counterexamples(page: str) -> None:
    table = page[
        page.index('<table class="claims">') : page.index("</table>", page.index('<table class="claims">'))
    ]
    assert table.count("<tr") == 1 + len(FAKE_CLAIMS["claims"])
    for cls, verdict in (
        ("v-holds", "holds"),
        ("v-cond", "holds under condition"),
        ("v-counter", "counterexample found"),
        ("v-failed", "FAILED"),
    ):
        assert f'<span class="pill {cls}">{verdict}</span>' in table
    assert 'class="v-failed-row"' in table
    assert table.count("Shrunk counterexample") == 2 and "&quot;lam&quot;: [" in table
    # evidence: the numbers compared, one per line
    assert "<dt>lhs</dt><dd>1</dd><dt>rhs</dt><dd>3</dd>" in table and "<dt>z</dt><dd>1.2</dd>" in table
    assert ">0.31<" in table and ">-2<" in table  # worst margins


def test_figure_captions_say_what_was_run(page: str) -> None:
    for i, key in enumerate(FIGURE_KEYS):
        start = page.index(f'<figure id="fig{key}">')
        fig = page[start : page.index("</figure>", start)]
        assert "<strong>quick</strong> run" in fig
        assert f"seed {7 + i}" in fig
        assert "repetitions 2" in fig and "steps 400" in fig
        assert f"time taken {12.5 + i:.1f} s" in fig


def test_prediction_table_has_every_panel(page: str) -> None:
    start = page.index('<table class="predictions">')
    table = page[start : page.index("</table>", start)]
    assert table.count("<tr>") == 1 + 18  # header + 9 panels of figure 5 + 9 of 5s1
    # predicted ÷ loss minimiser is computed, not copied: first panel 0.2 / 0.4
    assert '<td class="num">0.5</td>' in table
    assert "over 9 panels" in page
    # runs behind a panel = repetitions (2) × swept ratios (4, from figK.json)
    assert '<td class="num">2 of 8</td>' in table
    # the per-run eq9a recheck ran on both per-run CSVs and agreed
    assert (
        page.count("plasticity.derivations.closed_forms agrees with the per-run predicted_ratio (3 runs") == 2
    )


def test_landscape_section(page: str) -> None:
    start = page.index('<section id="landscape">')
    section = page[start : page.index("</section>", start)]
    for value in ("0.7", "0.9", "0.4", "0.88", "1.3", "highly trained", "0.966", "0.5628", "0.5894", "0.65"):
        assert f">{value}<" in section, value
    assert "zeroth order" in section and "noisy gradient" in section
    assert '<span class="pill v-holds">holds</span>' in section
    assert '<span class="pill v-cond">fails (not a prediction here)</span>' in section
    assert '<span class="pill v-counter">does not hold</span>' in section
    assert "Simulated against predicted best ratios" in section and "steps 1500" in section


def test_run_and_provenance(page: str) -> None:
    assert "2 stage(s) failed" in page
    assert "not run because figure5 failed" in page
    footer = page[page.index('<footer id="provenance">') :]
    for label in ("plasticity", "git commit", "Python", "numpy", "sympy", "machine", "total time"):
        assert f"<dt>{label}</dt>" in footer
    assert "1 min 1 s" in footer


def test_missing_and_broken_inputs_become_notices(tmp_path: Path) -> None:
    (tmp_path / "claims.json").write_text("{not json")
    (tmp_path / "fig5.png").write_bytes(b"GIF89a not a png")
    page = markup(build_report(tmp_path, provenance={"scale": "quick"}))
    assert "derivations.json is missing" in page
    assert "claims.json could not be read" in page
    assert "fig1.png is missing" in page
    assert "fig5.png could not be embedded" in page and "not a PNG" in page
    assert "predictions.json is missing" in page and "landscape.json is missing" in page
    assert "<img" not in page


def test_png_data_uri_rejects_non_png(tmp_path: Path) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"\xff\xd8\xff jpeg")
    with pytest.raises(ValueError, match="not a PNG"):
        png_data_uri(bad)


def test_write_report_is_atomic_and_complete(fake_dir: Path) -> None:
    path = write_report(fake_dir, provenance={"scale": "quick", "total_seconds": 1.0})
    assert path == fake_dir / "report.html"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert not list(fake_dir.glob(".report.html.*"))


def test_rebuilding_a_report_from_a_results_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_dir = make_fake_results(tmp_path / "results")
    manifest = {
        "version": 1,
        "scale": "full",
        "stages": {"derive": {"status": "ok", "seconds": 2.5, "outputs": ["derivations.md"]}},
    }
    (fake_dir / "manifest.json").write_text(json.dumps(manifest))
    assert report.main([str(fake_dir)]) == 0
    page = markup((fake_dir / "report.html").read_text())
    assert "<strong>full</strong> scale" in page and "<td>derive</td>" in page and "2.5 s" in page
    assert report.main([str(tmp_path / "nowhere")]) == 2
    assert "usage: python -m plasticity.checks.report DIR" in capsys.readouterr().out
