"""The run report: cost breakdown, facility table, coverage statistics and charts, in one HTML file.

:func:`write_report` writes ``report.html`` (self-contained: CSS inline, charts embedded as base64 PNG) and
the charts as files (``chart_cost.png``: cost by tier and cost type; ``chart_distance.png``: distribution of
assignment distances by tier). Charts use matplotlib's Agg backend (no display needed). Chinese tier or
facility names are drawn with a CJK font when one is installed (e.g. Debian's ``fonts-noto-cjk``).
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting.outputs.assets import check_offline
from siting.outputs.legend import describe_solution, run_title, tier_colour

__all__ = ["COST_TYPES", "DISTANCE_THRESHOLDS_KM", "cost_table", "coverage_stats", "charts", "render_report", "write_report"]

#: cost columns of the facilities frame and their labels
COST_TYPES = {"fixed_cost_cny": "fixed", "handling_cost_cny": "handling", "transport_cost_cny": "transport"}
#: distances at which the report gives the share of demand served within
DISTANCE_THRESHOLDS_KM = (5.0, 10.0, 20.0, 30.0, 50.0, 100.0)
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


def charts(facilities: pd.DataFrame, assignments: pd.DataFrame, *, title: str = "") -> dict[str, bytes]:
    """The report's charts as PNG bytes: ``chart_cost.png`` and ``chart_distance.png``."""
    import matplotlib  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415 - a bare Figure renders with Agg, no pyplot state

    out: dict[str, bytes] = {}
    rc = {"font.family": "sans-serif", "font.sans-serif": _font_families(), "axes.spines.top": False, "axes.spines.right": False}
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        # cost by tier and cost type (stacked bars)
        costs = cost_table(facilities).drop(index="total", errors="ignore")
        fig = Figure(figsize=(7.5, 3.8))
        ax = fig.add_subplot()
        kinds = list(COST_TYPES.values())
        colours = {"fixed": "#4c72b0", "handling": "#dd8452", "transport": "#55a868"}
        vals = costs[kinds].fillna(0.0) / 1e6 if len(costs) else pd.DataFrame(columns=kinds)
        if len(vals) and float(vals.to_numpy().sum()) > 0:
            bottom = np.zeros(len(vals))
            x = np.arange(len(vals))
            for k in kinds:
                ax.bar(x, vals[k].to_numpy(), bottom=bottom, label=k, color=colours[k], width=0.6)
                bottom += vals[k].to_numpy()
            ax.set_xticks(x, [str(t) for t in vals.index])
            ax.set_ylabel("million CNY")
            ax.legend(frameon=False)
        else:
            ax.text(0.5, 0.5, "no facility costs in this run", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
        ax.set_title(f"Cost by tier and cost type{' — ' + title if title else ''}", fontsize=10)
        out["chart_cost.png"] = _png(fig)

        # distance distribution of assignments, by tier of the serving facility
        fig = Figure(figsize=(7.5, 3.8))
        ax = fig.add_subplot()
        d = assignments["distance_km"].to_numpy(float) if len(assignments) else np.zeros(0)
        ok = np.isfinite(d)
        if ok.any():
            levels = (
                facilities.drop_duplicates("tier").set_index("tier")["tier_level"].to_dict() if len(facilities) else {}
            )
            tiers = sorted(set(assignments["tier"]), key=lambda t: (levels.get(t, 99), str(t)))
            bins = np.histogram_bin_edges(d[ok], bins=min(40, max(5, int(np.sqrt(ok.sum())))))
            data = [d[ok & (assignments["tier"].to_numpy() == t)] for t in tiers]
            ax.hist(data, bins=bins, stacked=True, label=[f"to {t}" for t in tiers], color=[tier_colour(levels.get(t, i)) for i, t in enumerate(tiers)])
            ax.set_xlabel("distance (km)")
            ax.set_ylabel("assignments")
            ax.legend(frameon=False)
        else:
            ax.text(0.5, 0.5, "no assignments in this run", ha="center", va="center", transform=ax.transAxes)
        ax.set_title("Distance distribution of assignments", fontsize=10)
        out["chart_distance.png"] = _png(fig)
    return out


# --- HTML -----------------------------------------------------------------------------------------------------


def _cell(v: Any, digits: int = 0) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    if isinstance(v, float | np.floating):
        return "—" if not math.isfinite(v) else f"{v:,.{digits}f}"
    return html.escape(str(v))


def _table(df: pd.DataFrame, *, digits: Mapping[str, int] | None = None, index: bool = True) -> str:
    digits = dict(digits or {})
    cols = list(df.columns)
    head = ("<th>" + html.escape(str(df.index.name or "")) + "</th>" if index else "") + "".join(
        f"<th>{html.escape(str(c))}</th>" for c in cols
    )
    rows = []
    for idx, rec in zip(df.index, df.itertuples(index=False), strict=True):
        cells = "".join(
            f'<td class="{"num" if isinstance(v, int | float | np.number) and not isinstance(v, bool) else ""}">'
            f"{_cell(v, digits.get(str(c), 0))}</td>"
            for c, v in zip(cols, rec, strict=True)
        )
        rows.append("<tr>" + (f"<th>{html.escape(str(idx))}</th>" if index else "") + cells + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _flat(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted.key, value)`` pairs of a nested dict."""
    if isinstance(d, Mapping):
        out: list[tuple[str, Any]] = []
        for k, v in d.items():
            out.extend(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [(prefix, d)]


def _kv_table(pairs: Sequence[tuple[str, Any]], digits: int = 4) -> str:
    body = "".join(f"<tr><th>{html.escape(k)}</th><td class='num'>{_cell(v, digits)}</td></tr>" for k, v in pairs)
    return f"<table><tbody>{body}</tbody></table>"


_CSS = """
body{font:14px/1.45 system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:24px auto;max-width:1100px;color:#222;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}
thead th{background:#f3f4f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
img{max-width:100%;border:1px solid #eee}.muted{color:#666}
"""


def render_report(
    *,
    summary: Mapping[str, Any],
    facilities: pd.DataFrame,
    assignments: pd.DataFrame,
    demand: pd.DataFrame,
    title: str | None = None,
    pngs: Mapping[str, bytes] | None = None,
) -> str:
    """The report as one self-contained HTML page (charts embedded as base64 PNG)."""
    name = run_title(summary, title)
    pngs = dict(pngs) if pngs is not None else charts(facilities, assignments, title=name)
    parts = [f"<h1>{html.escape(name)}</h1>", f'<p class="muted">{" · ".join(html.escape(s) for s in describe_solution(summary))}</p>']

    keys = ["scenario", "model", "status", "termination", "objective", "bound", "gap", "build_seconds", "solve_seconds", "seconds"]
    gap = _float(summary.get("gap"))
    gap_text = f"{100 * gap:.4f}%" if math.isfinite(gap) else "—"
    shown = [(k, gap_text if k == "gap" else summary[k]) for k in keys if k in summary]
    parts.append("<h2>Solution</h2>" + _kv_table(shown, digits=2))

    parts.append("<h2>Cost by tier and cost type (CNY)</h2>")
    parts.append(_table(cost_table(facilities)))
    if isinstance(summary.get("cost_cny"), Mapping) and summary["cost_cny"]:
        parts.append('<p class="muted">As reported by the model (summary.json <code>cost_cny</code>):</p>')
        parts.append(_kv_table(_flat(summary["cost_cny"]), digits=0))

    counts = summary.get("counts_by_tier") or {}
    if counts:
        parts.append("<h2>Facilities opened per tier</h2>" + _kv_table([(str(k), int(v)) for k, v in counts.items()]))

    cov = coverage_stats(demand)
    pairs: list[tuple[str, Any]] = [
        ("demand points", cov["points"]),
        ("total weight", cov["weight"]),
        ("share of weight covered", _pct(cov["share_covered"])),
        ("share of weight assigned", _pct(cov["share_assigned"])),
        ("mean distance, weighted (km)", round(cov["mean_distance_km"], 2) if math.isfinite(cov["mean_distance_km"]) else None),
        ("max distance (km)", round(cov["max_distance_km"], 2) if math.isfinite(cov["max_distance_km"]) else None),
    ]
    pairs += [(f"share of weight within {t:g} km", _pct(s)) for t, s in cov["share_within_km"].items()]
    parts.append("<h2>Coverage</h2>" + _kv_table(pairs, digits=2))
    if isinstance(summary.get("coverage"), Mapping) and summary["coverage"]:
        parts.append('<p class="muted">As reported by the model (summary.json <code>coverage</code>):</p>')
        parts.append(_kv_table(_flat(summary["coverage"])))

    parts.append("<h2>Charts</h2>")
    for fname, data in pngs.items():
        b64 = base64.b64encode(data).decode("ascii")
        parts.append(f'<p><img alt="{html.escape(fname)}" src="data:image/png;base64,{b64}"><br><span class="muted">{html.escape(fname)}</span></p>')

    cols = ["facility_id", "name", "tier", "unit", "region", "volume", "capacity", "utilisation", *COST_TYPES, "required"]
    fac = pd.DataFrame(facilities[[c for c in cols if c in facilities.columns]]).copy()
    if len(fac):
        fac = fac.sort_values(["tier", "facility_id"], kind="stable", key=lambda s: s.map(str))
        fac["lon"] = [round(float(p.x), 5) for p in facilities.loc[fac.index].geometry]
        fac["lat"] = [round(float(p.y), 5) for p in facilities.loc[fac.index].geometry]
    fac = fac.set_index("facility_id") if "facility_id" in fac else fac
    parts.append(f"<h2>Facilities ({len(fac)})</h2>" + _table(fac, digits={"utilisation": 3, "lon": 5, "lat": 5}))

    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(name)} — siting report</title><style>{_CSS}</style></head>\n<body>\n{body}\n</body></html>\n"
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
) -> Path:
    """Write ``report.html`` and its charts (``chart_*.png``) into ``out_dir``; return the report's path."""
    out = Path(out_dir)
    pngs = charts(facilities, assignments, title=run_title(summary, title))
    for fname, data in pngs.items():
        (out / fname).write_bytes(data)
    text = render_report(summary=summary, facilities=facilities, assignments=assignments, demand=demand, title=title, pngs=pngs)
    check_offline(text, what="report")
    (out / "report.html").write_text(text, encoding="utf-8")
    return out / "report.html"
