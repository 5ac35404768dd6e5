"""The run report: facilities (top tiers first), costs, coverage and charts, in one HTML file that prints cleanly.

:func:`write_report` writes ``report.html`` (self-contained: CSS inline, charts embedded as base64 PNG) and
the charts as files (``chart_cost.png``: cost by tier and cost type; ``chart_distance.png``: distribution of
assignment distances by tier). Charts use matplotlib's Agg backend (no display needed). Chinese tier or
facility names are drawn with a CJK font when one is installed (e.g. Debian's ``fonts-noto-cjk``).

Layout, for the planner reading it top-down: the solution in one line, then the facilities of the small
tiers in full (hubs and parks), then each large tier (more than :data:`FULL_LIST_MAX` facilities, e.g. the
collection points) summarised per planning unit with its full list in a collapsible table (and in
``facilities.csv``), then the one cost table, coverage and charts. Text columns never wrap (names and regions
stay on one line; wide tables scroll sideways on screen). Printing opens every collapsed table and drops
the page chrome (``@media print``). ``lang="zh"`` gives the report in Chinese (:mod:`siting.outputs.i18n`).
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting.outputs.assets import check_offline
from siting.outputs.i18n import DEFAULT_LANG, MESSAGES, check_lang, text, tier_label
from siting.outputs.legend import describe_solution, run_title, tier_colour
from siting.outputs.map_layers import chain_columns
from siting.outputs.summary import normalise_summary

__all__ = ["COST_TYPES", "DISTANCE_THRESHOLDS_KM", "FULL_LIST_MAX", "cost_table", "coverage_stats", "charts", "render_report", "write_report"]

#: cost columns of the facilities frame and their labels
COST_TYPES = {"fixed_cost_cny": "fixed", "handling_cost_cny": "handling", "transport_cost_cny": "transport"}
#: distances at which the report gives the share of demand served within
DISTANCE_THRESHOLDS_KM = (5.0, 10.0, 20.0, 30.0, 50.0, 100.0)
#: a tier with more facilities than this is summarised per unit, its full list collapsed
FULL_LIST_MAX = 60
_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Sans SC", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei")


def cost_table(facilities: pd.DataFrame) -> pd.DataFrame:
    """Cost by tier (rows, top tier first, then ``total``) and type (fixed, handling, transport, total), CNY."""
    if len(facilities):
        order = facilities.drop_duplicates("tier").sort_values(["tier_level", "tier"], kind="stable")["tier"].tolist()
        t = facilities.groupby("tier")[list(COST_TYPES)].sum(min_count=1).reindex(order)
    else:
        t = pd.DataFrame(columns=list(COST_TYPES), dtype=float)
    t = t.rename(columns=COST_TYPES)
    t["total"] = t.sum(axis=1, min_count=1)
    t.loc["total"] = t.sum(axis=0, min_count=1)
    t.index.name = "tier"
    return t


def coverage_stats(demand: pd.DataFrame, *, thresholds_km: Sequence[float] = DISTANCE_THRESHOLDS_KM) -> dict[str, Any]:
    """Weighted coverage statistics of the demand points.

    Returns
    -------
    dict
        ``points``, ``weight``, ``share_covered``, ``share_assigned`` (of the weight),
        ``mean_distance_km`` (weighted, over assigned points), ``max_distance_km``, and
        ``share_within_km``: threshold (km) -> share of the total weight assigned within it.
    """
    w = demand["weight"].to_numpy(float) if len(demand) else np.zeros(0)
    d = demand["distance_km"].to_numpy(float) if len(demand) else np.zeros(0)
    assigned = demand["assigned_to"].notna().to_numpy(bool) if len(demand) else np.zeros(0, bool)
    covered = demand["covered"].to_numpy(bool) if len(demand) else np.zeros(0, bool)
    total = float(np.nansum(w))
    ok = assigned & np.isfinite(d)
    wa = float(np.nansum(w[ok]))

    def share(mask: np.ndarray) -> float:
        return float(np.nansum(w[mask]) / total) if total > 0 else math.nan

    return {
        "points": int(len(demand)),
        "weight": total,
        "share_covered": share(covered),
        "share_assigned": share(assigned),
        "mean_distance_km": float(np.nansum(w[ok] * d[ok]) / wa) if wa > 0 else math.nan,
        "max_distance_km": float(d[ok].max()) if ok.any() else math.nan,
        "share_within_km": {float(t): share(ok & (d <= t)) for t in thresholds_km},
    }


# --- charts ---------------------------------------------------------------------------------------------------


def _font_families() -> list[str]:
    from matplotlib import font_manager  # noqa: PLC0415

    have = {f.name for f in font_manager.fontManager.ttflist}
    return ["DejaVu Sans", *[f for f in _CJK_FONTS if f in have]]


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    return buf.getvalue()


def _cost_chart(ax: Any, facilities: pd.DataFrame, lang: str) -> None:
    costs = cost_table(facilities).drop(index="total", errors="ignore")
    kinds = list(COST_TYPES.values())
    colours = {"fixed": "#4c72b0", "handling": "#dd8452", "transport": "#55a868"}
    vals = costs[kinds].fillna(0.0) / 1e6 if len(costs) else pd.DataFrame(columns=kinds)
    if len(vals) and float(vals.to_numpy().sum()) > 0:
        bottom = np.zeros(len(vals))
        x = np.arange(len(vals))
        for k in kinds:
            ax.bar(x, vals[k].to_numpy(), bottom=bottom, label=text(lang, f"report.{k}"), color=colours[k], width=0.6)
            bottom += vals[k].to_numpy()
        ax.set_xticks(x, [tier_label(lang, str(t)) for t in vals.index])
        ax.set_ylabel(text(lang, "chart.million_cny"))
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, text(lang, "chart.no_costs"), ha="center", va="center", transform=ax.transAxes)
        ax.set_xticks([])


def _distance_chart(ax: Any, facilities: pd.DataFrame, assignments: pd.DataFrame, lang: str) -> None:
    d = assignments["distance_km"].to_numpy(float) if len(assignments) else np.zeros(0)
    ok = np.isfinite(d)
    if not ok.any():
        ax.text(0.5, 0.5, text(lang, "chart.no_assignments"), ha="center", va="center", transform=ax.transAxes)
        return
    levels = facilities.drop_duplicates("tier").set_index("tier")["tier_level"].to_dict() if len(facilities) else {}
    tiers = sorted(set(assignments["tier"]), key=lambda t: (levels.get(t, 99), str(t)))
    bins = np.histogram_bin_edges(d[ok], bins=min(40, max(5, int(np.sqrt(ok.sum())))))
    data = [d[ok & (assignments["tier"].to_numpy() == t)] for t in tiers]
    ax.hist(data, bins=bins, stacked=True, label=[text(lang, "chart.to_tier", tier=tier_label(lang, t)) for t in tiers],
            color=[tier_colour(levels.get(t, i)) for i, t in enumerate(tiers)])
    ax.set_xlabel(text(lang, "chart.distance_km"))
    ax.set_ylabel(text(lang, "chart.assignments"))
    ax.legend(frameon=False)


def charts(facilities: pd.DataFrame, assignments: pd.DataFrame, *, title: str = "", lang: str = DEFAULT_LANG) -> dict[str, bytes]:
    """The report's charts as PNG bytes: ``chart_cost.png`` and ``chart_distance.png``."""
    import matplotlib  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415 - a bare Figure renders with Agg, no pyplot state

    out: dict[str, bytes] = {}
    rc = {"font.family": "sans-serif", "font.sans-serif": _font_families(), "axes.spines.top": False, "axes.spines.right": False}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        fig = Figure(figsize=(7.5, 3.8))
        ax = fig.add_subplot()
        _cost_chart(ax, facilities, lang)
        ax.set_title(text(lang, "chart.cost_title") + (f" — {title}" if title else ""), fontsize=10)
        out["chart_cost.png"] = _png(fig)
        fig = Figure(figsize=(7.5, 3.8))
        ax = fig.add_subplot()
        _distance_chart(ax, facilities, assignments, lang)
        ax.set_title(text(lang, "chart.distance_title"), fontsize=10)
        out["chart_distance.png"] = _png(fig)
    return out


# --- HTML -----------------------------------------------------------------------------------------------------


def _cell(v: Any, digits: int = 0, lang: str = DEFAULT_LANG) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool | np.bool_):
        return text(lang, "yes") if v else text(lang, "no")
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        return "—" if not math.isfinite(v) else f"{v:,.{digits}f}"
    return html.escape(str(v))


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float | np.number) and not isinstance(v, bool | np.bool_)


def _css(name: Any) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(name))


def _table(df: pd.DataFrame, *, digits: Mapping[str, int] | None = None, index: bool = True, lang: str = DEFAULT_LANG,
           css: str = "") -> str:
    """``df`` as an HTML table; headers translated when the catalogue has ``col.<name>``; text cells never wrap."""
    digits = dict(digits or {})
    cols = list(df.columns)

    def label(c: Any) -> str:
        return html.escape(text(lang, f"col.{c}") if f"col.{c}" in MESSAGES else str(c))

    head = (f"<th>{label(df.index.name or '')}</th>" if index else "") + "".join(f'<th class="c-{_css(c)}">{label(c)}</th>' for c in cols)
    rows = []
    for idx, rec in zip(df.index, df.itertuples(index=False), strict=True):
        cells = "".join(f'<td class="{"num" if _is_num(v) else "txt"} c-{_css(c)}">{_cell(v, digits.get(str(c), 0), lang)}</td>'
                        for c, v in zip(cols, rec, strict=True))
        rows.append("<tr>" + (f'<th class="txt">{html.escape(str(idx))}</th>' if index else "") + cells + "</tr>")
    return f'<div class="scroll"><table class="{css}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'


def _kv_table(pairs: Sequence[tuple[str, Any]], digits: int = 4, lang: str = DEFAULT_LANG) -> str:
    body = "".join(f"<tr><th class='txt'>{html.escape(k)}</th><td class='num'>{_cell(v, digits, lang)}</td></tr>" for k, v in pairs)
    return f"<table><tbody>{body}</tbody></table>"


_CSS = """
body{font:14px/1.45 system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:15px;margin:18px 0 4px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
thead th{background:#f3f4f6;white-space:nowrap}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.txt{white-space:nowrap}.scroll{overflow-x:auto}
img{max-width:100%;border:1px solid #eee}.muted{color:#666}
details{margin:6px 0}summary{cursor:pointer;color:#0b5cad}
.print{float:right;font:inherit;padding:2px 10px}
@media print{
 body{margin:0;max-width:none;font-size:10pt;padding:0}.print{display:none}
 .scroll{overflow:visible}table{font-size:7.5pt;page-break-inside:auto}th,td{padding:1px 4px}tr,img{page-break-inside:avoid}
 thead{display:table-header-group}.c-lon,.c-lat{display:none}h2,h3{page-break-after:avoid}summary{color:#222}
 details>summary{list-style:none}a{color:inherit;text-decoration:none}
}
@page{size:A4;margin:14mm}
"""
# printing opens every collapsed table (a closed <details> prints only its summary)
_PRINT_JS = ("<script>window.addEventListener('beforeprint',function(){document.querySelectorAll('details')"
             ".forEach(function(d){d.open=true;});});</script>")
_FAC_COLS = ["facility_id", "name", "tier", "unit", "region", "volume", "capacity", "utilisation", *COST_TYPES, "required"]


def _facility_frame(facilities: pd.DataFrame, lang: str) -> pd.DataFrame:
    fac = pd.DataFrame(facilities[[c for c in _FAC_COLS if c in facilities.columns]]).copy()
    if len(fac):
        order = fac.assign(_l=facilities["tier_level"] if "tier_level" in facilities else 0)
        fac = fac.loc[order.sort_values(["_l", "tier", "facility_id"], kind="stable", key=lambda s: s.map(str) if s.name != "_l" else s).index]
        fac["lon"] = [round(float(p.x), 5) for p in facilities.loc[fac.index].geometry]
        fac["lat"] = [round(float(p.y), 5) for p in facilities.loc[fac.index].geometry]
        fac["tier"] = [tier_label(lang, str(t)) for t in fac["tier"]]
        empty = [c for c in ("capacity", "utilisation", "unit", "region") if c in fac and fac[c].isna().all()]
        fac = fac.drop(columns=empty)  # e.g. an uncapacitated model: no column of dashes
    return fac.set_index("facility_id") if "facility_id" in fac else fac


def _per_unit(sub: pd.DataFrame, lang: str) -> pd.DataFrame:
    """One row per unit of a large tier: number of facilities, volume served, total cost."""
    key = sub["unit"].where(sub["unit"].notna(), text(lang, "report.no_unit")) if "unit" in sub else pd.Series(text(lang, "report.no_unit"), index=sub.index)
    cost = sub[[c for c in COST_TYPES if c in sub]].sum(axis=1, min_count=1)
    g = pd.DataFrame({"u": key.astype(str), "n": 1, "v": sub["volume"], "c": cost}).groupby("u", sort=True)
    out = pd.DataFrame({text(lang, "report.count_col"): g["n"].sum().astype(int), text(lang, "report.volume_col"): g["v"].sum(),
                        text(lang, "report.cost_col"): g["c"].sum(min_count=1)})
    out.index.name = text(lang, "report.unit_col")
    return out


def _chain_section(demand: pd.DataFrame, lang: str) -> list[str]:
    """The serving chain of every demand point (collection point, park, hub, ...), when the pipeline gives it."""
    chain = chain_columns(demand)
    if not chain or not len(demand):
        return []
    cols = ["name", "unit_name", "weight", *[f"{x}_name" for x in chain], "distance_km", "time_min", "distance_source"]
    t = pd.DataFrame(demand[[c for c in cols if c in demand.columns]]).copy()
    t = t.rename(columns={f"{x}_name": tier_label(lang, x) for x in chain})
    t.index = demand["demand_id"].astype(str) if "demand_id" in demand else t.index
    t.index.name = "demand_id"
    t = t.drop(columns=[c for c in ("time_min", "distance_source") if c in t and t[c].isna().all()])
    return [f"<h2>{html.escape(text(lang, 'report.chain_head'))}</h2>",
            f"<details><summary>{html.escape(text(lang, 'report.chain', n=len(t)))}</summary>"
            f"{_table(t, digits={'weight': 0, 'distance_km': 2, 'time_min': 1}, lang=lang)}</details>"]


def _unit_names(demand: pd.DataFrame | None) -> dict[str, str]:
    """unit id -> unit name, from the demand layer's ``unit`` and ``unit_name`` columns (when present)."""
    if demand is None or not {"unit", "unit_name"} <= set(demand.columns):
        return {}
    pairs = demand[["unit", "unit_name"]].dropna().drop_duplicates("unit")
    return {str(u): str(n) for u, n in zip(pairs["unit"], pairs["unit_name"], strict=True)}


def _facility_sections(facilities: pd.DataFrame, lang: str, demand: pd.DataFrame | None = None) -> list[str]:
    """Small tiers in full first (hubs, parks); each large tier per unit, with its full list collapsed."""
    fac = _facility_frame(facilities, lang)
    if not len(fac):
        return [f"<h2>{html.escape(text(lang, 'report.top_tiers', n=0))}</h2>"]
    counts = facilities["tier"].value_counts()
    large = [t for t in counts.index if counts[t] > FULL_LIST_MAX]
    small = facilities["tier"].isin([t for t in counts.index if t not in large]).to_numpy()
    digits = {"utilisation": 3, "lon": 5, "lat": 5}
    parts = []
    ids_small = set(facilities.loc[small, "facility_id"].astype(str))
    if ids_small:
        parts.append(f"<h2>{html.escape(text(lang, 'report.top_tiers', n=len(ids_small)))}</h2>")
        parts.append(_table(fac[fac.index.isin(ids_small)], digits=digits, lang=lang))
    levels = facilities.drop_duplicates("tier").set_index("tier")["tier_level"].to_dict()
    for tier in sorted(large, key=lambda t: (levels.get(t, 99), str(t))):
        sub = facilities[facilities["tier"] == tier]
        name = tier_label(lang, str(tier))
        parts.append(f"<h2>{html.escape(text(lang, 'report.bottom_summary', tier=name, n=len(sub)))}</h2>")
        per_unit = _per_unit(sub, lang)
        names = _unit_names(demand)
        if names:  # the unit's name next to its id
            per_unit.index = [f"{names[u]} ({u})" if u in names and names[u] != u else u for u in per_unit.index]
            per_unit.index.name = text(lang, "report.unit_col")
        parts.append(_table(per_unit, digits={text(lang, "report.volume_col"): 0}, lang=lang))
        full = fac[fac.index.isin(set(sub["facility_id"].astype(str)))]
        parts.append(f"<details><summary>{html.escape(text(lang, 'report.full_list', tier=name, n=len(sub)))}</summary>"
                     f"{_table(full, digits=digits, lang=lang)}</details>")
    return parts


def _coverage_section(summary: Mapping[str, Any], demand: pd.DataFrame, lang: str) -> list[str]:
    cov = coverage_stats(demand)
    pairs: list[tuple[str, Any]] = [
        (text(lang, "report.demand_points"), cov["points"]),
        (text(lang, "report.total_weight"), cov["weight"]),
        (text(lang, "report.share_covered"), _pct(cov["share_covered"])),
        (text(lang, "report.share_assigned"), _pct(cov["share_assigned"])),
        (text(lang, "report.mean_distance"), round(cov["mean_distance_km"], 2) if math.isfinite(cov["mean_distance_km"]) else None),
        (text(lang, "report.max_distance"), round(cov["max_distance_km"], 2) if math.isfinite(cov["max_distance_km"]) else None),
    ]
    pairs += [(text(lang, "report.within", km=f"{t:g}"), _pct(s)) for t, s in cov["share_within_km"].items()]
    parts = [f"<h2>{html.escape(text(lang, 'report.coverage'))}</h2>" + _kv_table(pairs, digits=2, lang=lang)]
    model_cov = normalise_summary(summary).get("coverage")
    if isinstance(model_cov, Mapping) and model_cov:
        shown = [(k, v) for k, v in model_cov.items() if not isinstance(v, Mapping | list)]
        parts.append(f"<details><summary>{html.escape(text(lang, 'report.model_coverage'))}</summary>"
                     f"{_kv_table(shown, lang=lang)}</details>")
    return parts


def _solution_section(summary: Mapping[str, Any], lang: str) -> str:
    keys = ["scenario", "model", "status", "termination", "objective", "bound", "gap", "build_seconds", "solve_seconds", "seconds"]
    gap = _float(summary.get("gap"))
    gap_text = f"{100 * gap:.4f}%" if math.isfinite(gap) else "—"
    shown = [(text(lang, f"key.{k}"), gap_text if k == "gap" else summary[k]) for k in keys if summary.get(k) is not None]
    return f"<h2>{html.escape(text(lang, 'report.solution'))}</h2>" + _kv_table(shown, digits=2, lang=lang)


def _cost_section(facilities: pd.DataFrame, summary: Mapping[str, Any], lang: str) -> str:
    t = cost_table(facilities)
    t = t.rename(columns={c: text(lang, f"report.{c}") for c in t.columns},
                 index={i: (text(lang, "report.total") if i == "total" else tier_label(lang, str(i))) for i in t.index})
    counts = {str(k): int(v) for k, v in (summary.get("counts_by_tier") or {}).items()}
    if counts:  # the number of facilities per tier next to its cost, so no separate table repeats the tiers
        col = [counts.get(str(i)) for i in cost_table(facilities).index[:-1]]
        t.insert(0, text(lang, "report.count_col"), [*col, sum(v for v in col if v is not None)])
    t.index.name = text(lang, "report.tier")
    return f"<h2>{html.escape(text(lang, 'report.costs'))}</h2>" + _table(t, lang=lang)


def render_report(
    *,
    summary: Mapping[str, Any],
    facilities: pd.DataFrame,
    assignments: pd.DataFrame,
    demand: pd.DataFrame,
    title: str | None = None,
    pngs: Mapping[str, bytes] | None = None,
    lang: str = DEFAULT_LANG,
) -> str:
    """The report as one self-contained HTML page (charts embedded as base64 PNG)."""
    lang = check_lang(lang)
    name = run_title(summary, title, lang=lang)
    pngs = dict(pngs) if pngs is not None else charts(facilities, assignments, title=name, lang=lang)
    parts = [
        f'<button class="print" onclick="window.print()">{html.escape(text(lang, "report.print"))}</button>',
        f"<h1>{html.escape(name)}</h1>",
        f'<p class="muted">{" · ".join(html.escape(s) for s in describe_solution(summary, lang=lang))}</p>',
        *_facility_sections(facilities, lang, demand),
        _cost_section(facilities, summary, lang),
        *_coverage_section(summary, demand, lang),
        *_chain_section(demand, lang),
        _solution_section(summary, lang),
        f"<h2>{html.escape(text(lang, 'report.charts'))}</h2>",
    ]
    for fname, data in pngs.items():
        b64 = base64.b64encode(data).decode("ascii")
        parts.append(f'<p><img alt="{html.escape(fname)}" src="data:image/png;base64,{b64}"><br><span class="muted">{html.escape(fname)}</span></p>')
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(name)} — {html.escape(text(lang, 'report.title_suffix'))}</title><style>{_CSS}</style>"
        f"{_PRINT_JS}</head>\n<body>\n" + "\n".join(parts) + "\n</body></html>\n"
    )


def _float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _pct(x: float) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def write_report(
    out_dir: str | os.PathLike[str],
    *,
    summary: Mapping[str, Any],
    facilities: pd.DataFrame,
    assignments: pd.DataFrame,
    demand: pd.DataFrame,
    title: str | None = None,
    lang: str = DEFAULT_LANG,
) -> Path:
    """Write ``report.html`` and its charts (``chart_*.png``) into ``out_dir``; return the report's path."""
    out = Path(out_dir)
    pngs = charts(facilities, assignments, title=run_title(summary, title, lang=lang), lang=lang)
    for fname, data in pngs.items():
        (out / fname).write_bytes(data)
    page = render_report(summary=summary, facilities=facilities, assignments=assignments, demand=demand, title=title,
                         pngs=pngs, lang=lang)
    check_offline(page, what="report")
    (out / "report.html").write_text(page, encoding="utf-8")
    return out / "report.html"
