"""Trade-off views of a sweep: a PNG (matplotlib, Agg) and a self-contained HTML page (hand-written SVG).

Private helper of :mod:`siting.sweep` and :mod:`siting.sweep.frontier`. The HTML needs no network: charts are
inline SVG, each point carries a ``<title>`` shown on hover, and the sweep table follows the charts.
"""

from __future__ import annotations

import html
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting.sweep.table import open_atomic_tmp, write_text_atomic

__all__ = ["Series", "Chart", "pareto_front", "count_columns", "write_tradeoff", "write_charts", "cost_column", "coverage_column"]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")


@dataclass(frozen=True)
class Series:
    """One line: ``x``, ``y`` and a hover text per point."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    tips: tuple[str, ...]
    dashed: bool = False
    markers_only: bool = False


@dataclass(frozen=True)
class Chart:
    """A chart: several series on shared axes; ``xticks`` maps positions to labels for categorical x."""

    title: str
    xlabel: str
    ylabel: str
    series: tuple[Series, ...]
    xticks: tuple[tuple[float, str], ...] | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)
    y_from_zero: bool = True  #: the y-axis starts at zero (a 0.5 % difference must not look like a cliff)


def pareto_front(cost: Sequence[float], benefit: Sequence[float]) -> np.ndarray:
    """Indices of the non-dominated points (lower cost, higher benefit), sorted by cost.

    A point is dominated when another has cost <= and benefit >= with at least one strict. Non-finite
    points are ignored; of exact duplicates the first is kept.
    """
    c = np.asarray(cost, dtype=float)
    b = np.asarray(benefit, dtype=float)
    ok = np.flatnonzero(np.isfinite(c) & np.isfinite(b))
    order = ok[np.lexsort((-b[ok], c[ok]))]  # by cost, then best benefit first
    front: list[int] = []
    best = -math.inf
    for i in order:
        if b[i] > best:
            front.append(int(i))
            best = b[i]
    return np.asarray(front, dtype=np.int64)


def _numeric(values: pd.Series) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in values)


def cost_column(frame: pd.DataFrame) -> str:
    """The total-cost column of a sweep table (``cost_cny.total`` or the like), else ``objective``."""
    totals = [c for c in frame.columns if c.startswith("cost_cny.") and c.rsplit(".", 1)[-1] in ("total", "total_cny")]
    return min(totals, key=len) if totals else "objective"


def coverage_column(frame: pd.DataFrame) -> str | None:
    """A coverage-share column (``coverage.share_served``, ...) that varies across the solved runs, or ``None``."""
    cols = [c for c in frame.columns if c.startswith("coverage.")]
    solved = frame[frame.get("status", pd.Series(dtype=object)) != "error"]

    def varies(c: str) -> bool:
        v = pd.to_numeric(solved[c], errors="coerce").dropna()
        return len(v) > 1 and float(v.max() - v.min()) > 1e-9 * max(1.0, float(v.abs().max()))

    # a share of demand is the coverage objective; totals (demand_total, demand_served) move with demand size
    cols = [c for c in cols if any(h in c.rsplit(".", 1)[-1] for h in ("share", "fraction", "pct", "percent"))]
    cols = [c for c in cols if varies(c)]
    return cols[0] if cols else None


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if not math.isfinite(v):
            return "—"
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def _tip(row: pd.Series, keys: Sequence[str], extra: Sequence[str]) -> str:
    parts = [f"run {row['run']} ({row['run_id']})"]
    parts += [f"{k} = {_fmt(row[k])}" for k in keys]
    parts += [f"{c} = {_fmt(row[c])}" for c in extra if c in row.index]
    if "status" in row.index:
        parts.append(f"status = {row['status']}")
    return "\n".join(parts)


def count_columns(frame: pd.DataFrame) -> list[str]:
    """The facilities-per-tier columns of a sweep table (``count.<tier>``), in table order."""
    return [c for c in frame.columns if c.startswith("count.") and pd.to_numeric(frame[c], errors="coerce").notna().any()]


def _counts_chart(ok: pd.DataFrame, keys: Sequence[str], xkey: str, positions: dict[Any, float],
                  xticks: tuple[tuple[float, str], ...] | None, title: str) -> Chart | None:
    """Facilities opened per tier against the main varied key (one line per tier; other keys at their first value)."""
    cols = count_columns(ok)
    if not cols:
        return None
    others = [k for k in keys if k != xkey]
    sub = ok
    for k in others:  # one line per tier: hold the other varied keys at their first value
        sub = sub[sub[k] == sub[k].iloc[0]]
    sub = sub.sort_values(xkey, key=(lambda s: s.map(positions)) if positions else None)
    xs = tuple(positions[v] if positions else float(v) for v in sub[xkey])
    series = tuple(
        Series(c.split(".", 1)[1], xs, tuple(float(v) for v in pd.to_numeric(sub[c], errors="coerce").fillna(0.0)),
               tuple(_tip(r, keys, [c]) for _, r in sub.iterrows()))
        for c in cols
    )
    held = ", ".join(f"{k}={_fmt(sub[k].iloc[0])}" for k in others)
    return Chart(f"{title}: facilities per tier against {xkey}" + (f" ({held})" if held else ""), xkey,
                 "facilities", series, xticks)


def _tradeoff_charts(frame: pd.DataFrame, keys: Sequence[str], title: str) -> list[Chart]:
    ok = frame[(frame["status"] != "error")] if "status" in frame else frame
    ycol = cost_column(frame)
    if ycol not in ok or ok.empty:
        return []
    ok = ok[pd.to_numeric(ok[ycol], errors="coerce").notna()]
    if ok.empty:
        return []
    charts: list[Chart] = []
    keys = list(keys)
    if keys:
        sizes = {k: frame[k].nunique() for k in keys}
        numeric = [k for k in keys if _numeric(frame[k])]
        xkey = max(numeric or keys, key=lambda k: sizes[k])
        others = [k for k in keys if k != xkey]
        positions: dict[Any, float] = {}
        xticks = None
        if xkey not in numeric:
            positions = {v: float(i) for i, v in enumerate(pd.unique(frame[xkey]))}
            xticks = tuple((p, str(v)) for v, p in positions.items())
        series = []
        groups = ok.groupby(others, sort=False) if others else [((), ok)]
        for combo, group in groups:
            combo = combo if isinstance(combo, tuple) else (combo,)
            label = ", ".join(f"{k}={_fmt(v)}" for k, v in zip(others, combo)) or ycol
            group = group.sort_values(xkey, key=(lambda s: s.map(positions)) if positions else None)
            xs = tuple(positions[v] if positions else float(v) for v in group[xkey])
            series.append(
                Series(label, xs, tuple(float(v) for v in group[ycol]),
                       tuple(_tip(r, keys, [ycol, "objective", "gap"]) for _, r in group.iterrows()))
            )
        failed = frame[frame["status"] == "error"] if "status" in frame else frame.iloc[:0]
        notes = tuple(f"run {r['run']} ({', '.join(f'{k}={_fmt(r[k])}' for k in keys)}): {r['error']}"
                      for _, r in failed.iterrows())
        charts.append(Chart(f"{title}: {ycol} against {xkey}", xkey, ycol, tuple(series), xticks, notes))
        counts = _counts_chart(ok, keys, xkey, positions, xticks, title)
        if counts is not None:
            charts.append(counts)
    cov = coverage_column(frame)
    if cov is not None:
        sub = ok[pd.to_numeric(ok[cov], errors="coerce").notna()]
        c = sub[ycol].astype(float).to_numpy()
        b = sub[cov].astype(float).to_numpy()
        front = pareto_front(c, b)
        tips = tuple(_tip(r, keys, [ycol, cov]) for _, r in sub.iterrows())
        charts.append(
            Chart(
                f"{title}: Pareto front of {ycol} (lower is better) and {cov} (higher is better)",
                ycol,
                cov,
                (
                    Series("all runs", tuple(c), tuple(b), tips, markers_only=True),
                    Series("Pareto front", tuple(c[front]), tuple(b[front]), tuple(tips[i] for i in front)),
                ),
            )
        )
    return charts


# --- PNG ---------------------------------------------------------------------------------------


def _axis_label(value: float, _pos: int | None = None) -> str:
    """Tick labels in full with thousands separators (no ``1e7`` offset): CNY amounts read as they are."""
    return f"{value:,.0f}" if abs(value) >= 1e4 else f"{value:g}"


def _png(charts: Sequence[Chart]) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # no pyplot: no global figure state
    from matplotlib.ticker import FuncFormatter

    fig = Figure(figsize=(7.0 * max(1, len(charts)), 5.0), layout="constrained")
    if not charts:
        fig.text(0.5, 0.5, "no solved run to plot", ha="center", va="center")
    axes = fig.subplots(1, len(charts), squeeze=False)[0] if charts else []
    for ax, chart in zip(axes, charts):
        for k, s in enumerate(chart.series):
            color = PALETTE[k % len(PALETTE)]
            if s.markers_only:
                ax.scatter(s.x, s.y, color="#999999", s=18, label=s.label, zorder=2)
            else:
                ax.plot(s.x, s.y, marker="o", ms=4, color=color, ls="--" if s.dashed else "-", label=s.label,
                        zorder=3)
        if chart.xticks:
            ax.set_xticks([p for p, _ in chart.xticks], [t for _, t in chart.xticks])
        else:
            ax.xaxis.set_major_formatter(FuncFormatter(_axis_label))
        ax.yaxis.set_major_formatter(FuncFormatter(_axis_label))
        if chart.y_from_zero:
            ys = [y for s in chart.series for y in s.y if math.isfinite(y)]
            if ys and min(ys) >= 0:
                ax.set_ylim(bottom=0, top=max(ys) * 1.05 if max(ys) > 0 else 1)
        ax.set_title(chart.title, fontsize=9)
        ax.set_xlabel(chart.xlabel)
        ax.set_ylabel(chart.ylabel)
        ax.grid(True, alpha=0.3)
        if len(chart.series) > 1 or chart.series[0].label != chart.ylabel:
            ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    return buf.getvalue()


# --- SVG/HTML ----------------------------------------------------------------------------------


def _ticks(lo: float, hi: float) -> list[float]:
    from matplotlib.ticker import MaxNLocator

    if not (math.isfinite(lo) and math.isfinite(hi)):
        return []
    if hi == lo:
        pad = abs(lo) * 0.05 or 1.0
        lo, hi = lo - pad, hi + pad
    ticks = MaxNLocator(nbins=6).tick_values(lo, hi)
    return [float(t) for t in ticks]


def _svg(chart: Chart, *, width: int = 720, height: int = 420) -> str:
    left, right, top, bottom = 90, 20, 20, 50
    xs = [x for s in chart.series for x in s.x]
    ys = [y for s in chart.series for y in s.y]
    if not xs:
        return "<p>no solved runs to plot</p>"
    xt = [p for p, _ in chart.xticks] if chart.xticks else _ticks(min(xs), max(xs))
    y_lo = 0.0 if chart.y_from_zero and min(ys) >= 0 else min(ys)
    yt = _ticks(y_lo, max(ys))
    x0, x1 = min(xt + xs), max(xt + xs)
    y0, y1 = min(yt + ys), max(yt + ys)
    if chart.xticks:
        x0, x1 = x0 - 0.5, x1 + 0.5
    x1 = x1 if x1 > x0 else x0 + 1
    y1 = y1 if y1 > y0 else y0 + 1
    pw, ph = width - left - right, height - top - bottom

    def sx(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def sy(y: float) -> float:
        return top + (1 - (y - y0) / (y1 - y0)) * ph

    e = html.escape
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" aria-label="{e(chart.title)}">',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="#fff" stroke="#888"/>']
    labels = dict(chart.xticks) if chart.xticks else {}
    for t in xt:
        X = sx(t)
        out.append(f'<line x1="{X:.1f}" y1="{top}" x2="{X:.1f}" y2="{top + ph}" stroke="#eee"/>')
        out.append(f'<text x="{X:.1f}" y="{top + ph + 16}" text-anchor="middle" class="tick">'
                   f'{e(labels.get(t, _fmt(t)))}</text>')
    for t in yt:
        Y = sy(t)
        out.append(f'<line x1="{left}" y1="{Y:.1f}" x2="{left + pw}" y2="{Y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{Y + 4:.1f}" text-anchor="end" class="tick">{e(_fmt(t))}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 8}" text-anchor="middle">{e(chart.xlabel)}</text>')
    out.append(f'<text x="14" y="{top + ph / 2}" text-anchor="middle" '
               f'transform="rotate(-90 14 {top + ph / 2})">{e(chart.ylabel)}</text>')
    for k, s in enumerate(chart.series):
        color = "#999999" if s.markers_only else PALETTE[k % len(PALETTE)]
        if not s.markers_only and len(s.x) > 1:
            pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(s.x, s.y))
            dash = ' stroke-dasharray="5,3"' if s.dashed else ""
            out.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{dash}>'
                       f'<title>{e(s.label)}</title></polyline>')
        for x, y, tip in zip(s.x, s.y, s.tips):
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="{3.5 if s.markers_only else 4.5}" '
                       f'fill="{color}" class="pt"><title>{e(tip)}</title></circle>')
    out.append("</svg>")
    legend = "".join(
        f'<span class="key"><span class="sw" style="background:{"#999999" if s.markers_only else PALETTE[k % len(PALETTE)]}">'
        f"</span>{e(s.label)}</span>"
        for k, s in enumerate(chart.series)
    )
    return "\n".join(out) + f'\n<div class="legend">{legend}</div>'


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em} h2{font-size:1.05em;margin-top:1.5em}
svg text{font-size:12px;fill:#333} svg text.tick{font-size:11px;fill:#555}
circle.pt:hover{stroke:#000;stroke-width:2}
.legend{margin:.3em 0 1em 0;font-size:.9em} .key{margin-right:1.2em;white-space:nowrap}
.sw{display:inline-block;width:.9em;height:.9em;margin-right:.35em;vertical-align:-.1em;border-radius:2px}
table{border-collapse:collapse;font-size:.8em} td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
th{background:#f3f3f3} .notes{color:#a00;font-size:.9em}
"""


def _html(title: str, charts: Sequence[Chart], table: pd.DataFrame, intro: str) -> str:
    e = html.escape
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}</title>",
             f"<style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>", f"<p>{e(intro)}</p>"]
    for chart in charts:
        parts.append(f"<h2>{e(chart.title)}</h2>")
        parts.append(_svg(chart))
        if chart.notes:
            parts.append('<ul class="notes">' + "".join(f"<li>{e(n)}</li>" for n in chart.notes) + "</ul>")
    if not charts:
        parts.append("<p>No solved run to plot.</p>")
    parts.append("<h2>Runs</h2>")
    parts.append('<div style="overflow-x:auto">' + table.to_html(index=False, na_rep="", escape=True, border=0) + "</div>")
    parts.append("</body></html>\n")
    return "\n".join(parts)


def write_charts(
    charts: Sequence[Chart], table: pd.DataFrame, png: Path, page: Path, *, title: str, intro: str
) -> tuple[Path, Path]:
    """Write ``charts`` to ``png`` and, with ``table``, to the self-contained ``page``; both atomically."""
    import os

    data = _png(charts)
    fd, tmp = open_atomic_tmp(png)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, png)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    write_text_atomic(_html(title, charts, table, intro), page)
    return png, page


def write_tradeoff(frame: pd.DataFrame, keys: Sequence[str], out_dir: Path, *, title: str) -> tuple[Path, Path]:
    """``tradeoff.png`` and ``tradeoff.html`` of a sweep table."""
    charts = _tradeoff_charts(frame, keys, title)
    intro = (f"{len(frame)} runs over {', '.join(keys) or 'no varied key'}; one line per combination of the "
             "other varied keys. Hover a point for its run. Failed runs are listed under the chart.")
    return write_charts(charts, frame, out_dir / "tradeoff.png", out_dir / "tradeoff.html", title=f"Sweep of {title}",
                        intro=intro)
