"""Open report.html in headless Chromium: every figure loaded, math rendered, tables present.

The page marks ``<body data-ready="true">`` once every <img> has decoded (naturalWidth > 0)
and every math span holds rendered KaTeX; this test reads that (and the counts beside it)
from the DOM Chromium dumps, and keeps a screenshot under ``test-artifacts/`` at the
repository root.  It skips, saying why, only when no Chromium can be found.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report import FIGURE_KEYS, make_fake_results

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome binary ($CHROMIUM overrides), or None."""
    env = os.environ.get("CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in _CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def chromium() -> str:
    path = find_chromium()
    if path is None:
        pytest.skip(
            "no Chromium found (tried $CHROMIUM, " + ", ".join(_CANDIDATES) + "); install the Debian "
            "package `chromium` (.ci/run tries to) to run the report's browser test"
        )
    return path


def _headless(chromium: str, profile: Path, *extra: str) -> list[str]:
    return [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=10000",
        *extra,
    ]


def open_in_chromium(chromium: str, page: Path, tmp: Path, screenshot: Path | None) -> str:
    """The DOM of ``page`` after load (scripts run); a 1280×4000 screenshot saved to ``screenshot``."""
    url = page.resolve().as_uri()
    dom = subprocess.run(
        [*_headless(chromium, tmp / "profile-dom"), "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert dom.returncode == 0, f"chromium --dump-dom failed: {dom.stderr[-2000:]}"
    if screenshot is None:
        return dom.stdout
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    shot = subprocess.run(
        [
            *_headless(chromium, tmp / "profile-shot"),
            "--hide-scrollbars",
            f"--screenshot={screenshot}",
            "--window-size=1280,4000",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert shot.returncode == 0 and screenshot.exists(), (
        f"chromium --screenshot failed: {shot.stderr[-2000:]}"
    )
    return dom.stdout


def body_attributes(dom: str) -> dict[str, str]:
    match = re.search(r"<body([^>]*)>", dom)
    assert match, "no <body> in the dumped DOM"
    return dict(re.findall(r'([\w-]+)="([^"]*)"', match.group(1)))


def assert_rendered(dom: str, n_figures: int) -> dict[str, str]:
    """The checks a person would make: figures shown, math typeset, both tables there."""
    attrs = body_attributes(dom)
    assert attrs.get("data-images") == f"{n_figures}/{n_figures}", attrs
    loaded, total = (int(x) for x in attrs["data-math"].split("/"))
    assert total > 0 and loaded == total, f"math rendered in {loaded} of {total} spans: {attrs}"
    assert attrs.get("data-katex-errors") == "0", attrs
    assert attrs.get("data-ready") == "true", attrs
    assert int(attrs["data-katex"]) >= total
    # KaTeX produced its markup (MathML + HTML) inside the page
    assert dom.count('class="katex"') >= total and "katex-html" in dom
    assert '<table class="claims">' in dom and '<table class="predictions">' in dom
    return attrs


def test_report_from_fake_results_renders(chromium: str, tmp_path: Path) -> None:
    out = make_fake_results(tmp_path / "results")
    from plasticity.checks.report import write_report

    page = write_report(out, provenance={"scale": "quick", "total_seconds": 42.0})
    dom = open_in_chromium(chromium, page, tmp_path, ARTIFACTS / "report-fake.png")
    assert_rendered(dom, len(FIGURE_KEYS))


def test_ready_flag_bites_on_a_broken_image_and_bad_math(chromium: str, tmp_path: Path) -> None:
    """The readiness check must fail when a figure cannot be decoded or a formula does not render."""
    out = make_fake_results(tmp_path / "results")
    from plasticity.checks.report import write_report

    page = write_report(out, provenance={"scale": "quick"})
    text = page.read_text(encoding="utf-8")
    n_math = len(re.findall(r'class="math(?: display)?"', text))
    start = text.index('<img src="data:image/png;base64,') + len('<img src="data:image/png;base64,')
    text = text[:start] + "AAAA" + text[start + 4 :]  # corrupt one PNG
    bad_math = '<p><span class="math">\\(\\frac{1}{\\)</span></p>'  # a KaTeX parse error: left as text
    text = text.replace("</main>", bad_math + "</main>")
    page.write_text(text, encoding="utf-8")
    dom = open_in_chromium(chromium, page, tmp_path, None)
    attrs = body_attributes(dom)
    assert attrs.get("data-images") == f"{len(FIGURE_KEYS) - 1}/{len(FIGURE_KEYS)}", attrs
    assert attrs.get("data-math") == f"{n_math}/{n_math + 1}", attrs
    assert "data-ready" not in attrs


@pytest.mark.slow
def test_report_from_a_real_quick_run_renders(chromium: str, tmp_path: Path) -> None:
    """End to end: `plasticity reproduce --quick`, then the browser (minutes; run with --full)."""
    from plasticity.checks.cli import main

    out = tmp_path / "results"
    status = main(["reproduce", "--quick", "--out", str(out)])
    dom = open_in_chromium(chromium, out / "report.html", tmp_path, ARTIFACTS / "report-quick.png")
    assert_rendered(dom, len(FIGURE_KEYS))
    assert status == 0, "some stage of reproduce --quick failed; see the report's Run section"
