"""Offline web assets: Leaflet's JavaScript and CSS, inlined into every HTML file we write.

GIS staff often work on intranets without internet access, so no generated page may load a script or a
stylesheet from a CDN. Leaflet 1.9.4 (BSD-2-Clause, ``static/LICENSE-leaflet.txt``) is vendored in
``static/`` exactly as published on the npm registry (``npm pack leaflet@1.9.4``: ``dist/leaflet.js``,
``dist/leaflet.css``, ``dist/images/*.png``); the CSS's image references are rewritten to ``data:`` URIs
and the source-map comment is dropped when inlined.

:func:`check_offline` is the guard every writer calls before saving HTML: it fails on any ``<script src>``
or stylesheet ``<link href>`` that is not inline.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from pathlib import Path

__all__ = ["LEAFLET_VERSION", "leaflet_js", "leaflet_css", "inline_head", "external_references", "check_offline"]

LEAFLET_VERSION = "1.9.4"
_STATIC = Path(__file__).resolve().parent / "static"


@cache
def leaflet_js() -> str:
    """Leaflet's minified JavaScript, without its source-map comment."""
    text = (_STATIC / "leaflet.js").read_text(encoding="utf-8")
    return re.sub(r"\n//# sourceMappingURL=\S+\s*$", "\n", text)


@cache
def leaflet_css() -> str:
    """Leaflet's CSS with every ``url(images/...)`` replaced by a ``data:`` URI."""
    text = (_STATIC / "leaflet.css").read_text(encoding="utf-8")

    def to_data_uri(match: re.Match[str]) -> str:
        data = (_STATIC / "images" / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(data).decode('ascii')})"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", to_data_uri, text)


def inline_head() -> str:
    """The ``<script>`` and ``<style>`` elements that make Leaflet available with no network."""
    js = leaflet_js().replace("</script", "<\\/script")
    return f"<style>\n{leaflet_css()}\n</style>\n<script>\n{js}\n</script>\n"


# <script ... src="...">, <link ... href="..."> (stylesheets, preloads, modules), CSS @import, protocol-relative
_SCRIPT_SRC = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
_LINK_HREF = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']?([^\"'\s>]+)", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"@import\s+(?:url\()?[\"']?([^\"')\s;]+)", re.IGNORECASE)


def external_references(html: str) -> list[str]:
    """Every script, stylesheet or CSS import in ``html`` that is loaded from a file or a URL.

    Tile URL templates inside JavaScript strings (the optional OpenStreetMap layer) are not references:
    they are only requested when the user switches that layer on.
    """
    found = [*_SCRIPT_SRC.findall(html), *_LINK_HREF.findall(html), *_CSS_IMPORT.findall(html)]
    return [ref for ref in found if not ref.startswith("data:")]


def check_offline(html: str, *, what: str = "HTML") -> None:
    """Raise ``RuntimeError`` if ``html`` would load any script or stylesheet from outside the file.

    This is a programming error (a template or plugin brought in a CDN link), never a user error.
    """
    refs = external_references(html)
    if refs:
        raise RuntimeError(f"{what} would load external resources (not allowed offline): {', '.join(refs)}")
