"""Self-contained Folium maps of a run: boundaries, facilities per tier, flows, demand, coverage.

The map works with no internet: Leaflet's JS and CSS are inlined (:mod:`siting.outputs.assets`), no
Folium plugin that loads a CDN script is used, and :func:`save_map` refuses to write a page that would load
any external script or stylesheet. The district boundaries are the base (radio buttons: demand choropleth,
population choropleth, outlines only) on a plain background; OpenStreetMap is offered as an optional
overlay, off by default. Chinese tile services (GCJ-02 shifted coordinates) are deliberately not offered:
overlays in WGS84 would be drawn ~300-600 m off on them.

Display simplification: boundary polygons are simplified with ``shapely`` ``simplify(simplify_deg,
preserve_topology=True)``, 0.002 degrees by default (about 200 m at Chongqing's latitude, invisible at the
zoom levels of a province-wide map); boundary and line coordinates are rounded to 4 and 5 decimals (about 10 m
and 1 m), points keep 6. The GeoPackage keeps the exact geometries. Shared geometry is written once (the
three boundary layers use one GeoJSON), and facility popups are built in the browser from compact cells.
Measured: the synthetic Chongqing run (38 districts, 988 demand points, 1,024 flow lines, 41 facilities) gives
a map of about 0.8 MB; the real ``models/chongqing-express.toml`` run (1,031 demand points, 1,776 flow lines,
748 facilities) about 1.35 MB; about 150 kB of either is Leaflet itself.

Every facility is a Leaflet ``circleMarker`` with the CSS class ``siting-facility`` (and
``siting-tier-<level>``), so that a browser test can count them.
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.template import Template

from siting.outputs.assets import check_offline, inline_head

__all__ = [
    "TIER_COLOURS",
    "MAP_OPTIONS",
    "add_road_layer",
    "make_map",
    "save_map",
    "render_html",
    "tier_colour",
    "GeoJsonLayer",
]

#: colour of each tier by ``tier_level`` (0 = top tier), colour-blind friendly (Okabe-Ito, then Tableau)
TIER_COLOURS = ("#d55e00", "#0072b2", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#8c564b", "#7f7f7f")
#: keyword options of :func:`make_map` that :func:`siting.outputs.write_run` accepts in ``map_options``
MAP_OPTIONS = frozenset({"coverage_km", "simplify_deg", "osm", "show_demand", "roads"})
_CHORO = ("#f7f4f0", "#e8e0d5", "#d6c8b5", "#c0aa8e", "#a58a66")  # warm greys: clear of the tier colours
_POP_COLUMNS = ("pop_census2020", "population", "pop")
_NAME_COLUMNS = ("name_zh", "name", "name_en", "NAME")


def tier_colour(level: int) -> str:
    """Colour of tier ``level`` (0 = top)."""
    return TIER_COLOURS[int(level) % len(TIER_COLOURS)]


def _tier_radius(level: int) -> float:
    return max(3.5, 10.0 - 3.0 * int(level))


def _js_json(obj: Any) -> str:
    """JSON for embedding in a ``<script>``: compact, UTF-8, with ``<``, ``>``, ``&`` escaped."""
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _num(x: Any, digits: int = 0, unit: str = "") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(v):
        return "—"
    s = f"{v:,.{digits}f}"
    return f"{s} {unit}".strip()


def _pct(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return "—" if not math.isfinite(v) else f"{100 * v:.1f}%"


def html_text(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return html.escape(str(x))


class SharedGeoJson(MacroElement):
    """A GeoJSON FeatureCollection defined once in the page (``var <name> = {...}``), for several layers."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = {{ this.data_js }};
        {% endmacro %}
        """
    )

    def __init__(self, features: list[dict[str, Any]]):
        super().__init__()
        self._name = "SharedGeoJson"
        self.data_js = _js_json({"type": "FeatureCollection", "features": features})


class GeoJsonLayer(MacroElement):
    """A GeoJSON layer drawn by a few lines of plain Leaflet (no jQuery, no plugin), added to its parent.

    Each feature's ``properties`` may hold ``s`` (style overrides merged over ``style``, e.g. ``weight``,
    ``radius``, ``fillColor``, ``className``), ``p`` (popup HTML) and ``t`` (tooltip HTML). Points are drawn
    as ``L.circleMarker`` or, when ``circle=True``, as ``L.circle`` with ``radius`` in metres.

    ``features`` is a list of GeoJSON features or a :class:`SharedGeoJson` (already added to the map); with
    ``variant=i``, properties that are lists are indexed by ``i``, so several layers can share one geometry.
    With ``popup_rows`` (row labels, HTML), ``p`` is a list of HTML cells and the popup is a two-column table
    built in the browser: the labels are written once per layer instead of once per feature.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var base = {{ this.style_js }}, k = {{ this.variant_js }};
            function pk(v) { return (Array.isArray(v) && k !== null) ? v[k] : v; }
            function st(f) { return Object.assign({}, base, pk((f.properties || {}).s) || {}); }
            var rows = {{ this.labels_js }};
            function table(v) {
                if (!v || !rows || !Array.isArray(v)) { return v; }
                var h = '<table class="siting-popup">';
                for (var i = 0; i < rows.length; i++) { h += '<tr><td>' + rows[i] + '</td><td>' + v[i] + '</td></tr>'; }
                return h + '</table>';
            }
            L.geoJSON({{ this.data_js }}, {
                style: st,
                pointToLayer: function (f, ll) {
                    return {{ 'L.circle' if this.circle else 'L.circleMarker' }}(ll, st(f));
                },
                onEachFeature: function (f, layer) {
                    var p = f.properties || {}, pop = table(pk(p.p)), tip = pk(p.t);
                    if (pop) { layer.bindPopup(pop, {maxWidth: 380, autoPanPaddingTopLeft: [60, 100]}); }
                    if (tip) { layer.bindTooltip(tip, {sticky: true}); }
                }
            }).addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        features: list[dict[str, Any]] | SharedGeoJson,
        *,
        style: Mapping[str, Any],
        circle: bool = False,
        variant: int | None = None,
        popup_rows: Sequence[str] | None = None,
    ):
        super().__init__()
        self._name = "GeoJsonLayer"
        self.labels_js = "null" if popup_rows is None else _js_json(list(popup_rows))
        if isinstance(features, SharedGeoJson):
            self.data_js = features.get_name()
        else:
            self.data_js = _js_json({"type": "FeatureCollection", "features": features})
        self.style_js = _js_json(dict(style))
        self.variant_js = "null" if variant is None else str(int(variant))
        self.circle = circle


def raw_element(markup: str) -> Element:
    """A branca element that renders ``markup`` verbatim (never parsed as a Jinja template)."""
    el = Element("{{ this.markup }}")
    el.markup = markup
    return el


def point_feature(x: float, y: float, props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]}, "properties": props}


def _round_coords(obj: Any, nd: int) -> Any:
    if isinstance(obj, list | tuple):
        if obj and isinstance(obj[0], float | int):
            return [round(float(v), nd) for v in obj]
        return [_round_coords(o, nd) for o in obj]
    return obj


def _shape_feature(geom: Any, props: dict[str, Any], nd: int = 5) -> dict[str, Any]:
    g = geom.__geo_interface__
    return {"type": "Feature", "geometry": {"type": g["type"], "coordinates": _round_coords(g["coordinates"], nd)}, "properties": props}


# --- building blocks (shared with siting.outputs.compare) -----------------------------------------------------


def base_map(bounds: Sequence[float] | None, *, osm: bool = True) -> folium.Map:
    """An empty map with inline Leaflet, a scale bar, a plain background and, optionally, OSM (off).

    ``bounds`` is ``(minx, miny, maxx, maxy)`` in degrees; the map opens fitted to it.
    """
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_control=True, zoom_snap=0.25)
    # nothing from a CDN: drop folium's default links, inline Leaflet instead
    m.default_js = []
    m.default_css = []
    root = m.get_root()
    root.header.add_child(raw_element(inline_head()), name="leaflet_inline")
    root.header.add_child(
        raw_element(
            "<style>.leaflet-container{background:#eef1f4}"
            ".siting-box{background:rgba(255,255,255,.92);padding:6px 10px;border-radius:4px;"
            "box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px/1.4 system-ui,'Noto Sans CJK SC',sans-serif;color:#222}"
            ".siting-box table{border-collapse:collapse}.siting-box td{padding:0 4px}"
            ".siting-popup td{padding:1px 6px 1px 0;vertical-align:top}.siting-popup td:first-child{color:#666}"
            "</style>"
        ),
        name="siting_css",
    )
    if osm:
        folium.TileLayer(
            "OpenStreetMap",
            name="OpenStreetMap (online, optional)",
            overlay=True,
            show=False,
            control=True,
        ).add_to(m)
    if bounds is not None and all(math.isfinite(b) for b in bounds):
        minx, miny, maxx, maxy = bounds
        pad = 0.02 * max(maxx - minx, maxy - miny, 0.01)
        m.fit_bounds([[miny - pad, minx - pad], [maxy + pad, maxx + pad]])
    return m


def _name_column(frame: pd.DataFrame) -> str | None:
    return next((c for c in _NAME_COLUMNS if c in frame.columns), None)


def _bins(values: np.ndarray, k: int = len(_CHORO)) -> np.ndarray:
    """Up to ``k`` class breaks (quantiles of the positive values), increasing and unique."""
    pos = values[np.isfinite(values) & (values > 0)]
    if pos.size == 0:
        return np.array([0.0])
    qs = np.unique(np.quantile(pos, np.linspace(0, 1, k + 1)[1:-1]))
    return qs


def _class_of(v: float, breaks: np.ndarray) -> int:
    return int(np.searchsorted(breaks, v, side="right")) if math.isfinite(v) else 0


def add_boundaries(
    m: folium.Map,
    boundaries: gpd.GeoDataFrame,
    *,
    demand: gpd.GeoDataFrame | None = None,
    simplify_deg: float = 0.002,
    choropleth: bool = True,
) -> list[str]:
    """Add district boundaries as base layers: demand choropleth, population choropleth, outlines.

    With ``choropleth=False`` only the outlines are drawn. Returns legend rows (HTML) for the choropleth
    classes of the layer shown first.
    """
    b = boundaries.to_crs("EPSG:4326") if boundaries.crs is not None else boundaries.set_crs("EPSG:4326")
    b = b[b.geometry.notna() & ~b.geometry.is_empty].reset_index(drop=True)
    geoms = b.geometry.simplify(simplify_deg, preserve_topology=True) if simplify_deg > 0 else b.geometry
    name_col = _name_column(b)
    names = [str(v) for v in b[name_col]] if name_col else [f"#{i + 1}" for i in range(len(b))]
    pop_col = next((c for c in _POP_COLUMNS if c in b.columns), None)

    layers: list[tuple[str, np.ndarray | None, str]] = []
    if choropleth and demand is not None and len(demand):
        pts = gpd.GeoDataFrame({"weight": demand["weight"].to_numpy(float)}, geometry=demand.geometry.values, crs="EPSG:4326")
        joined = gpd.sjoin(pts, gpd.GeoDataFrame(geometry=b.geometry, crs="EPSG:4326"), how="inner", predicate="intersects")
        joined = joined[~joined.index.duplicated()]
        dsum = joined.groupby("index_right")["weight"].sum().reindex(range(len(b)), fill_value=0.0).to_numpy()
        layers.append(("Districts: demand (weight)", dsum, "demand"))
    if choropleth and pop_col is not None:
        layers.append(("Districts: population", pd.to_numeric(b[pop_col], errors="coerce").to_numpy(float), "population"))
    layers.append(("Districts: outlines only", None, ""))

    legend: list[str] = []
    styles: list[list[dict[str, Any]]] = [[] for _ in names]
    tips: list[list[str]] = [[] for _ in names]
    for i, (label, values, what) in enumerate(layers):
        if values is None:
            for j, nm in enumerate(names):
                styles[j].append({})
                tips[j].append(f"<b>{html.escape(nm)}</b>")
            continue
        breaks = _bins(values)
        for j, (nm, v) in enumerate(zip(names, values, strict=True)):
            styles[j].append({"fillColor": _CHORO[min(_class_of(v, breaks), len(_CHORO) - 1)], "fillOpacity": 0.55})
            tips[j].append(f"<b>{html.escape(nm)}</b><br>{what}: {_num(v)}")
        if i == 0:
            edges = [0.0, *breaks.tolist()]
            for j, lo in enumerate(edges):
                hi = edges[j + 1] if j + 1 < len(edges) else None
                rng = f"{_num(lo)} – {_num(hi)}" if hi is not None else f"≥ {_num(lo)}"
                legend.append(
                    f'<tr><td><span style="display:inline-block;width:14px;height:10px;'
                    f'background:{_CHORO[min(j, len(_CHORO) - 1)]};border:1px solid #999"></span></td>'
                    f"<td>{what} {rng}</td></tr>"
                )
    shared = SharedGeoJson(
        [_shape_feature(g, {"s": styles[j], "t": tips[j]}, nd=4) for j, g in enumerate(geoms)]
    )
    shared.add_to(m)
    style = {"color": "#555", "weight": 1, "opacity": 0.8, "fillColor": "#f7f7f2", "fillOpacity": 0.5}
    for i, (label, _values, _what) in enumerate(layers):
        fg = folium.FeatureGroup(name=label, overlay=False, show=(i == 0), control=True)
        fg.add_child(GeoJsonLayer(shared, style=style, variant=i))
        fg.add_to(m)
    return legend


#: row labels of a facility popup (the cells come from :func:`_facility_popup`)
FACILITY_POPUP_ROWS = (
    "Facility", "Tier", "Unit", "Region", "Volume served", "Capacity", "Utilisation",
    "Fixed cost", "Handling cost", "Transport cost", "Required",
)


def _facility_popup(row: Mapping[str, Any]) -> list[str]:
    """The cells (HTML) of a facility popup, in the order of :data:`FACILITY_POPUP_ROWS`."""
    return [
        f"<b>{html_text(row.get('name'))}</b> ({html_text(row.get('facility_id'))})",
        html_text(row.get("tier")),
        html_text(row.get("unit")),
        html_text(row.get("region")),
        _num(row.get("volume")),
        _num(row.get("capacity")),
        _pct(row.get("utilisation")),
        _num(row.get("fixed_cost_cny"), unit="CNY"),
        _num(row.get("handling_cost_cny"), unit="CNY"),
        _num(row.get("transport_cost_cny"), unit="CNY"),
        "yes" if bool(row.get("required")) else "no",
    ]


def _tiers(facilities: pd.DataFrame) -> list[tuple[str, int]]:
    """``(tier, level)`` pairs, top tier first."""
    if not len(facilities):
        return []
    t = facilities[["tier", "tier_level"]].drop_duplicates("tier")
    t = t.sort_values(["tier_level", "tier"], kind="stable")
    return [(str(a), int(b)) for a, b in zip(t["tier"], t["tier_level"], strict=True)]


def _coverage_for(coverage_km: float | Mapping[str, float] | None, tier: str) -> float | None:
    if coverage_km is None:
        return None
    if isinstance(coverage_km, Mapping):
        v = coverage_km.get(tier)
        return None if v is None else float(v)
    return float(coverage_km)


def title_html(title: str, lines: Sequence[str]) -> str:
    sub = "<br>".join(html.escape(s) for s in lines if s)
    return (
        '<div class="siting-box siting-title" style="position:fixed;top:10px;left:50%;transform:translateX(-50%);'
        f'z-index:1000;text-align:center;max-width:60%"><div style="font-size:15px;font-weight:600">{html.escape(title)}'
        f"</div><div>{sub}</div></div>"
    )


def legend_html(rows: Sequence[str], heading: str = "Legend") -> str:
    return (
        '<div class="siting-box siting-legend" style="position:fixed;bottom:64px;left:10px;z-index:1000;max-width:300px">'
        f'<div style="font-weight:600;margin-bottom:2px">{html.escape(heading)}</div><table>{"".join(rows)}</table></div>'
    )


def swatch_circle(colour: str, radius: float, *, border: str = "#fff") -> str:
    d = int(round(2 * radius))
    return (
        f'<span style="display:inline-block;width:{d}px;height:{d}px;border-radius:50%;background:{colour};'
        f'border:1.5px solid {border};box-shadow:0 0 0 1px #333;vertical-align:middle"></span>'
    )


def describe_solution(summary: Mapping[str, Any]) -> list[str]:
    """Lines for a map or report title: objective, gap and status of the run."""
    obj = summary.get("objective")
    gap = summary.get("gap")
    status = summary.get("status", "?")
    term = summary.get("termination")
    first = f"objective {_num(obj, 0)}"
    if gap is not None and math.isfinite(float(gap)):
        # never round a non-zero gap to "0%": say how small it is and what tolerance made it "optimal"
        g = float(gap)
        first += f" · gap {100 * g:.2g}%" if g > 0 else " · gap 0"
        tol = (summary.get("solver_options") or {}).get("mip_rel_gap")
        if status == "optimal" and tol is not None:
            first += f" (optimal within {100 * float(tol):.2g}%)"
    second = f"status {status}" + (f" ({term})" if term and term != status else "")
    return [first, second]


def run_title(summary: Mapping[str, Any], title: str | None = None) -> str:
    """The title of a run: ``title``, else the summary's scenario, else its model."""
    return title or str(summary.get("scenario") or summary.get("model") or "siting run")


# --- the run map ----------------------------------------------------------------------------------------------


def make_map(
    *,
    summary: Mapping[str, Any],
    facilities: gpd.GeoDataFrame,
    assignments: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    coverage_km: float | Mapping[str, float] | None = None,
    simplify_deg: float = 0.002,
    osm: bool = True,
    show_demand: bool = True,
    roads: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Build the map of one run (frames as in the outputs contract, already validated).

    Parameters
    ----------
    summary, facilities, assignments, demand
        As for :func:`siting.outputs.write_run`.
    boundaries
        Polygons drawn as the base (choropleth of demand, of population if a ``pop_census2020`` or
        ``population`` column exists, or outlines only); any CRS. Without them the background is plain.
    title
        Title shown at the top (default: the summary's ``scenario`` or ``model``).
    coverage_km
        Radius of the optional coverage circles, one number for every tier or a dict ``tier -> km``;
        drawn as layers that are off by default. ``None``: no circles.
    simplify_deg
        Tolerance of the display simplification of the boundaries, in degrees (0 to keep them exact).
    osm
        Offer OpenStreetMap tiles as an optional layer (off by default; needs internet).
    show_demand
        Draw the demand points.
    roads
        Road lines (EPSG:4326) drawn as an optional layer, off by default (:func:`add_road_layer`).

    Returns
    -------
    folium.Map
        Save it with :func:`save_map` (which inlines nothing more but checks the page is offline-safe).
    """
    frames = [f for f in (facilities, demand, boundaries) if f is not None and len(f)]
    bounds = None
    if frames:
        tb = np.array([(f.to_crs("EPSG:4326") if f.crs is not None else f).total_bounds for f in frames])
        bounds = (tb[:, 0].min(), tb[:, 1].min(), tb[:, 2].max(), tb[:, 3].max())
    m = base_map(bounds, osm=osm)

    legend: list[str] = []
    choro_legend: list[str] = []
    if boundaries is not None and len(boundaries):
        choro_legend = add_boundaries(m, boundaries, demand=demand, simplify_deg=simplify_deg)

    tiers = _tiers(facilities)

    # demand points (bottom), then flows, then facilities from the lowest tier up (top tier drawn last)
    if show_demand and len(demand):
        w = demand["weight"].to_numpy(float)
        wmax = float(np.nanmax(w)) if len(w) and np.isfinite(w).any() and np.nanmax(w) > 0 else 1.0
        name_col = "name" if "name" in demand.columns else None
        feats = []
        n_unserved = 0
        for x, y, wt, nm, did, to, dist, cov in zip(
            demand.geometry.x, demand.geometry.y, w,
            demand[name_col] if name_col else [""] * len(demand),
            demand["demand_id"], demand["assigned_to"], demand["distance_km"], demand["covered"], strict=True,
        ):
            props: dict[str, Any] = {
                "t": f"<b>{html_text(nm)}</b> ({html_text(did)})<br>weight {_num(wt, 1)}<br>"
                + (f"served by {html_text(to)} at {_num(dist, 1, 'km')}" if to is not None else "not assigned")
                + ("" if cov else "<br><b>not covered</b>")
            }
            r = 2.0 + 4.0 * math.sqrt(max(wt, 0.0) / wmax) if math.isfinite(wt) else 2.0
            s: dict[str, Any] = {"radius": round(r, 1)}
            if to is None or not cov:
                s.update(fillColor="#e41a1c", color="#e41a1c")
                n_unserved += 1
            props["s"] = s
            feats.append(point_feature(float(x), float(y), props))
        fg = folium.FeatureGroup(name=f"Demand points ({len(demand)})", show=True)
        fg.add_child(GeoJsonLayer(feats, style={"color": "#3d4f63", "weight": 0.6, "fillColor": "#6b7f95", "fillOpacity": 0.7, "radius": 3}))
        fg.add_to(m)
        legend.append(f"<tr><td>{swatch_circle('#6b7f95', 4, border='#3d4f63')}</td><td>demand point (size ∝ weight)</td></tr>")
        if n_unserved:
            legend.append(f"<tr><td>{swatch_circle('#e41a1c', 4, border='#e41a1c')}</td><td>demand not covered / not assigned ({n_unserved})</td></tr>")

    if len(assignments):
        for tier, level in reversed(tiers):
            sub = assignments[assignments["tier"] == tier]
            if not len(sub):
                continue
            v = sub["volume"].to_numpy(float)
            vmax = float(np.nanmax(v)) if np.isfinite(v).any() and np.nanmax(v) > 0 else 1.0
            feats = []
            for g, vol, a, b, d in zip(sub.geometry, v, sub["from_id"], sub["to_id"], sub["distance_km"], strict=True):
                wgt = 0.8 + 5.2 * math.sqrt(max(vol, 0.0) / vmax) if math.isfinite(vol) else 0.8
                tip = f"{html_text(a)} → {html_text(b)}<br>volume {_num(vol)}<br>{_num(d, 1, 'km')}"
                feats.append(_shape_feature(g, {"s": {"weight": round(wgt, 1)}, "t": tip}, nd=5))
            fg = folium.FeatureGroup(name=f"Flows to {tier} ({len(sub)})", show=True)
            fg.add_child(GeoJsonLayer(feats, style={"color": tier_colour(level), "weight": 1, "opacity": 0.55}))
            fg.add_to(m)
        legend.append(
            '<tr><td><span style="display:inline-block;width:18px;border-top:3px solid #888;vertical-align:middle">'
            "</span></td><td>flow to a facility (colour of its tier, width ∝ volume)</td></tr>"
        )

    for tier, level in tiers:
        km = _coverage_for(coverage_km, tier)
        if km is None or not km > 0:
            continue
        sub = facilities[facilities["tier"] == tier]
        feats = [point_feature(float(p.x), float(p.y), {}) for p in sub.geometry]
        fg = folium.FeatureGroup(name=f"Coverage of {tier} ({_num(km, 1)} km)", show=False)
        style = {"radius": km * 1000.0, "color": tier_colour(level), "weight": 1, "fillOpacity": 0.08, "fillColor": tier_colour(level)}
        fg.add_child(GeoJsonLayer(feats, style=style, circle=True))
        fg.add_to(m)

    fac_legend = []
    for tier, level in reversed(tiers):
        sub = facilities[facilities["tier"] == tier]
        colour, radius = tier_colour(level), _tier_radius(level)
        feats = []
        for row, p in zip(sub.drop(columns="geometry").to_dict("records"), sub.geometry, strict=True):
            feats.append(point_feature(float(p.x), float(p.y), {"p": _facility_popup(row), "t": html_text(row.get("name"))}))
        fg = folium.FeatureGroup(name=f"{tier} ({len(sub)})", show=True)
        style = {
            "radius": radius,
            "color": "#ffffff",
            "weight": 1.5,
            "fillColor": colour,
            "fillOpacity": 0.95,
            "className": f"siting-facility siting-tier-{level}",
        }
        fg.add_child(GeoJsonLayer(feats, style=style, popup_rows=FACILITY_POPUP_ROWS))
        fg.add_to(m)
        fac_legend.append(f"<tr><td>{swatch_circle(colour, radius)}</td><td>{html.escape(tier)} ({len(sub)})</td></tr>")

    if roads is not None and len(roads):
        add_road_layer(m, roads)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.get_root().html.add_child(raw_element(title_html(run_title(summary, title), describe_solution(summary))))
    rows = [*reversed(fac_legend), *legend, *choro_legend]
    if rows:
        m.get_root().html.add_child(raw_element(legend_html(rows)))
    return m


def add_road_layer(m: folium.Map, roads: gpd.GeoDataFrame, *, name: str = "Road network") -> None:
    """Add road lines as an optional layer (off by default), thin grey, coordinates rounded to ~1 m.

    The caller keeps the layer small (e.g. :func:`siting.scenario.roads.network_layer` caps the vertices).
    """
    feats = [_shape_feature(g, {}, nd=5) for g in roads.to_crs("EPSG:4326").geometry if g is not None and not g.is_empty]
    fg = folium.FeatureGroup(name=f"{name} ({len(feats)} lines)", show=False)
    fg.add_child(GeoJsonLayer(feats, style={"color": "#7a7a7a", "weight": 1, "opacity": 0.6}))
    fg.add_to(m)


def render_html(m: folium.Map) -> str:
    """The full HTML page of ``m``; raises ``RuntimeError`` if it would load anything from outside."""
    text = m.get_root().render()
    check_offline(text, what="map")
    return text


def save_map(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write ``m`` as one self-contained HTML file (written to ``<path>.tmp`` then renamed)."""
    out = Path(path)
    text = render_html(m)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out
