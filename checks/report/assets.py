"""The vendored KaTeX and the figures, inlined: nothing on the page is fetched when it is viewed."""

from __future__ import annotations

import base64
import functools
import re
from pathlib import Path

#: where the vendored KaTeX lives (katex.min.js, katex.min.css, auto-render.min.js, fonts/)
KATEX_DIR: Path = Path(__file__).resolve().parent.parent / "assets" / "katex"

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# --------------------------------------------------------------------------- assets


@functools.cache
def katex_css() -> str:
    """KaTeX's stylesheet with every font reference replaced by an embedded woff2 data URI.

    Each ``@font-face`` in the shipped CSS lists woff2, woff and ttf files; browsers that run
    KaTeX all read woff2, so only that one is embedded (keeps the page ~300 kB smaller).
    """
    css = (KATEX_DIR / "katex.min.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        name = match.group(1)
        font = KATEX_DIR / "fonts" / f"{name}.woff2"
        data = base64.b64encode(font.read_bytes()).decode("ascii")
        return f'src:url(data:font/woff2;base64,{data}) format("woff2")'

    out = re.sub(r"src:url\(fonts/([A-Za-z0-9_-]+)\.woff2\)[^;}]*", inline, css)
    if "url(fonts/" in out:
        raise RuntimeError("katex.min.css has a font reference the inliner did not replace")
    return out


@functools.cache
def katex_js() -> str:
    """KaTeX and its auto-render extension, concatenated, safe to inline in a <script>."""
    parts = [(KATEX_DIR / n).read_text(encoding="utf-8") for n in ("katex.min.js", "auto-render.min.js")]
    return "\n".join(_script_safe(p) for p in parts)


def _script_safe(js: str) -> str:
    # an inline script ends at the first "</script"; none is in KaTeX, but guard anyway
    return re.sub(r"</(script)", r"<\\/\1", js, flags=re.IGNORECASE)


def png_data_uri(path: Path) -> str:
    """A ``data:image/png;base64,…`` URI of a PNG file (``ValueError`` if it is not a PNG)."""
    data = Path(path).read_bytes()
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError(f"{path}: not a PNG file")
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
