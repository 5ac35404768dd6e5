"""The HTML boxes and text of a map: title, legend, swatches, facility popup cells, number formats.

Shared by :mod:`siting.outputs.maps`, :mod:`siting.outputs.compare` and :mod:`siting.outputs.report`. Every
word comes from :mod:`siting.outputs.i18n` (``lang`` is ``"en"`` or ``"zh"``).
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from siting.outputs.i18n import DEFAULT_LANG, status_label, text, tier_label

__all__ = [
    "TIER_COLOURS",
    "tier_colour",
    "tier_radius",
    "num",
    "pct",
    "html_text",
    "title_html",
    "legend_html",
    "swatch_circle",
    "swatch_line",
    "describe_solution",
    "run_title",
    "facility_popup_rows",
    "facility_popup",
]

#: colour of each tier by ``tier_level`` (0 = top tier), colour-blind friendly (Okabe-Ito, then Tableau)
TIER_COLOURS = ("#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#8c564b", "#7f7f7f")


def tier_colour(level: int) -> str:
    """Colour of tier ``level`` (0 = top)."""
    return TIER_COLOURS[int(level) % len(TIER_COLOURS)]


def tier_radius(level: int) -> float:
    """Marker radius (pixels) of tier ``level``: the top tier largest."""
    return max(3.5, 10.0 - 3.0 * int(level))


def num(x: Any, digits: int = 0, unit: str = "") -> str:
    """``x`` with thousands separators and ``digits`` decimals (``—`` when missing or not finite)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(v):
        return "—"
    s = f"{v:,.{digits}f}"
    return f"{s} {unit}".strip()


def pct(x: Any) -> str:
    """A share as a percentage with one decimal (``—`` when missing)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return "—" if not math.isfinite(v) else f"{100 * v:.1f}%"


def html_text(x: Any) -> str:
    """``x`` escaped for HTML; ``—`` for ``None``/NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return html.escape(str(x))


def title_html(title: str, lines: Sequence[str]) -> str:
    """The title box at the top of a map."""
    sub = "<br>".join(html.escape(s) for s in lines if s)
    return (
        '<div class="siting-box siting-title" style="position:fixed;top:10px;left:50%;transform:translateX(-50%);'
        f'z-index:1000;text-align:center;max-width:60%"><div style="font-size:15px;font-weight:600">{html.escape(title)}'
        f"</div><div>{sub}</div></div>"
    )


def legend_html(rows: Sequence[str], heading: str = "Legend") -> str:
    """The legend box (bottom left) from table rows (HTML)."""
    return (
        '<div class="siting-box siting-legend" style="position:fixed;bottom:64px;left:10px;z-index:1000;max-width:300px">'
        f'<div style="font-weight:600;margin-bottom:2px">{html.escape(heading)}</div><table>{"".join(rows)}</table></div>'
    )


def swatch_circle(colour: str, radius: float, *, border: str = "#fff") -> str:
    """A legend swatch: a filled circle."""
    d = int(round(2 * radius))
    return (
        f'<span style="display:inline-block;width:{d}px;height:{d}px;border-radius:50%;background:{colour};'
        f'border:1.5px solid {border};box-shadow:0 0 0 1px #333;vertical-align:middle"></span>'
    )


def swatch_line(colour: str, *, width: int = 3, dashed: bool = False) -> str:
    """A legend swatch: a short line."""
    style = "dashed" if dashed else "solid"
    return (
        f'<span style="display:inline-block;width:18px;border-top:{width}px {style} {colour};'
        'vertical-align:middle"></span>'
    )


def describe_solution(summary: Mapping[str, Any], *, lang: str = DEFAULT_LANG) -> list[str]:
    """Lines for a map or report title: objective, gap and status of the run."""
    obj = summary.get("objective")
    gap = summary.get("gap")
    status = summary.get("status", "?")
    term = summary.get("termination")
    first = text(lang, "title.objective", v=num(obj, 0))
    if gap is not None and math.isfinite(float(gap)):
        # never round a non-zero gap to "0%": say how small it is and what tolerance made it "optimal"
        g = float(gap)
        first += " · " + (text(lang, "title.gap", g=f"{100 * g:.2g}") if g > 0 else text(lang, "title.gap0"))
        tol = (summary.get("solver_options") or {}).get("mip_rel_gap")
        if status == "optimal" and tol is not None:
            first += " " + text(lang, "title.within", tol=f"{100 * float(tol):.2g}")
    second = text(lang, "title.status", s=status_label(lang, status))
    if term and term != status:
        second += f" ({status_label(lang, term)})"
    return [first, second]


def run_title(summary: Mapping[str, Any], title: str | None = None, *, lang: str = DEFAULT_LANG) -> str:
    """The title of a run: ``title``, else the summary's scenario, else its model."""
    return title or str(summary.get("scenario") or summary.get("model") or text(lang, "title.default"))


_POPUP_KEYS = ("facility", "tier", "unit", "region", "volume", "capacity", "utilisation", "fixed", "handling",
               "transport", "required")


def facility_popup_rows(lang: str = DEFAULT_LANG) -> tuple[str, ...]:
    """Row labels of a facility popup (the cells come from :func:`facility_popup`)."""
    return tuple(text(lang, f"popup.{k}") for k in _POPUP_KEYS)


def facility_popup(row: Mapping[str, Any], *, lang: str = DEFAULT_LANG) -> list[str]:
    """The cells (HTML) of a facility popup, in the order of :func:`facility_popup_rows`."""
    cny = text(lang, "unit.cny")
    return [
        f"<b>{html_text(row.get('name'))}</b> ({html_text(row.get('facility_id'))})",
        html_text(tier_label(lang, str(row.get("tier")))),
        html_text(row.get("unit")),
        html_text(row.get("region")),
        num(row.get("volume")),
        num(row.get("capacity")),
        pct(row.get("utilisation")),
        num(row.get("fixed_cost_cny"), unit=cny),
        num(row.get("handling_cost_cny"), unit=cny),
        num(row.get("transport_cost_cny"), unit=cny),
        text(lang, "yes") if bool(row.get("required")) else text(lang, "no"),
    ]
