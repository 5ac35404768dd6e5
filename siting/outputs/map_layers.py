"""The layers of a map: GeoJSON drawn by plain Leaflet, boundaries, the offline reference, demand, flows, facilities.

Each ``add_*`` function adds one or more ``folium.FeatureGroup`` to a map and returns legend rows (HTML).
Features carry compact properties: ``s`` (style overrides), ``p`` (popup) and ``t`` (tooltip), see
:class:`GeoJsonLayer`. Coordinates are rounded (points 6 decimals, lines 5, polygons 4: about 0.1 m, 1 m, 10 m).

The offline reference layer (:func:`add_reference`) gives every map something to read the points against
when there is no internet: the boundaries the caller passes; else, when most of the data lies in Chongqing,
the packaged Chongqing districts (:func:`siting.geo.chongqing.load_districts`); else the convex hull of the
data (buffered by 2 % of its extent). A graticule (lines every 0.5°, 1°, 2° or 5° of longitude and latitude,
chosen by the extent) is always added, so coordinates can be read off any map.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from siting.outputs.i18n import DEFAULT_LANG, text, tier_label
from siting.outputs.legend import (
    facility_popup,
    facility_popup_rows,
    html_text,
    num,
    swatch_circle,
    swatch_line,
    tier_colour,
    tier_radius,
)

__all__ = [
    "SharedGeoJson",
    "GeoJsonLayer",
    "raw_element",
    "point_feature",
    "shape_feature",
    "add_boundaries",
    "add_reference",
    "add_demand",
    "add_flows",
    "add_coverage",
    "add_facilities",
    "tiers_of",
    "chain_columns",
]

_CHORO = ("#f7f4f0", "#e8e0d5", "#d6c8b5", "#c0aa8e", "#a58a66")  # warm greys: clear of the tier colours
_POP_COLUMNS = ("pop_census2020", "population", "pop")
_NAME_COLUMNS = ("name_zh", "name", "name_en", "NAME")
_REFERENCE_STYLE = {"color": "#6d6d6d", "weight": 1.2, "opacity": 0.9, "fill": True, "fillColor": "#fbfaf6",
                    "fillOpacity": 0.6, "dashArray": None, "interactive": True}
_GRATICULE_STYLE = {"color": "#9aa5b1", "weight": 0.6, "opacity": 0.7, "dashArray": "2,4", "interactive": False}


def _js_json(obj: Any) -> str:
    """JSON for embedding in a ``<script>``: compact, UTF-8, with ``<``, ``>``, ``&`` escaped."""
    text_ = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text_.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


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
        self.style_js = _js_json({k: v for k, v in style.items() if v is not None})
        self.variant_js = "null" if variant is None else str(int(variant))
        self.circle = circle


def raw_element(markup: str) -> Element:
    """A branca element that renders ``markup`` verbatim (never parsed as a Jinja template)."""
    el = Element("{{ this.markup }}")
    el.markup = markup
    return el


def point_feature(x: float, y: float, props: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON point feature (coordinates rounded to 6 decimals)."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(x, 6), round(y, 6)]}, "properties": props}


def _round_coords(obj: Any, nd: int) -> Any:
    if isinstance(obj, list | tuple):
        if obj and isinstance(obj[0], float | int):
            return [round(float(v), nd) for v in obj]
        return [_round_coords(o, nd) for o in obj]
    return obj


def shape_feature(geom: Any, props: dict[str, Any], nd: int = 5) -> dict[str, Any]:
    """A GeoJSON feature of any shapely geometry (coordinates rounded to ``nd`` decimals)."""
    g = geom.__geo_interface__
    return {"type": "Feature", "geometry": {"type": g["type"], "coordinates": _round_coords(g["coordinates"], nd)}, "properties": props}


def _to_wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return frame.to_crs("EPSG:4326") if frame.crs is not None else frame.set_crs("EPSG:4326")


def _name_column(frame: pd.DataFrame) -> str | None:
    return next((c for c in _NAME_COLUMNS if c in frame.columns), None)


def _bins(values: np.ndarray, k: int = len(_CHORO)) -> np.ndarray:
    """Up to ``k`` class breaks (quantiles of the positive values), increasing and unique."""
    pos = values[np.isfinite(values) & (values > 0)]
    if pos.size == 0:
        return np.array([0.0])
    return np.unique(np.quantile(pos, np.linspace(0, 1, k + 1)[1:-1]))


def _class_of(v: float, breaks: np.ndarray) -> int:
    return int(np.searchsorted(breaks, v, side="right")) if math.isfinite(v) else 0


def _choropleth_layers(b: gpd.GeoDataFrame, demand: gpd.GeoDataFrame | None, lang: str) -> list[tuple[str, np.ndarray | None, str]]:
    layers: list[tuple[str, np.ndarray | None, str]] = []
    if demand is not None and len(demand):
        pts = gpd.GeoDataFrame({"weight": demand["weight"].to_numpy(float)}, geometry=demand.geometry.values, crs="EPSG:4326")
        joined = gpd.sjoin(pts, gpd.GeoDataFrame(geometry=b.geometry, crs="EPSG:4326"), how="inner", predicate="intersects")
        joined = joined[~joined.index.duplicated()]
        dsum = joined.groupby("index_right")["weight"].sum().reindex(range(len(b)), fill_value=0.0).to_numpy()
        layers.append((text(lang, "layer.districts_demand"), dsum, "demand"))
    pop_col = next((c for c in _POP_COLUMNS if c in b.columns), None)
    if pop_col is not None:
        layers.append((text(lang, "layer.districts_population"), pd.to_numeric(b[pop_col], errors="coerce").to_numpy(float), "population"))
    return layers


def add_boundaries(
    m: folium.Map,
    boundaries: gpd.GeoDataFrame,
    *,
    demand: gpd.GeoDataFrame | None = None,
    simplify_deg: float = 0.002,
    choropleth: bool = True,
    lang: str = DEFAULT_LANG,
) -> list[str]:
    """Add district boundaries as base layers: demand choropleth, population choropleth, outlines.

    With ``choropleth=False`` only the outlines are drawn. Returns legend rows (HTML) for the choropleth
    classes of the layer shown first.
    """
    b = _to_wgs84(boundaries)
    b = b[b.geometry.notna() & ~b.geometry.is_empty].reset_index(drop=True)
    geoms = b.geometry.simplify(simplify_deg, preserve_topology=True) if simplify_deg > 0 else b.geometry
    name_col = _name_column(b)
    names = [str(v) for v in b[name_col]] if name_col else [f"#{i + 1}" for i in range(len(b))]
    layers = _choropleth_layers(b, demand, lang) if choropleth else []
    layers.append((text(lang, "layer.districts_outline"), None, ""))

    legend: list[str] = []
    styles: list[list[dict[str, Any]]] = [[] for _ in names]
    tips: list[list[str]] = [[] for _ in names]
    for i, (_label, values, what) in enumerate(layers):
        if values is None:
            for j, nm in enumerate(names):
                styles[j].append({})
                tips[j].append(f"<b>{html.escape(nm)}</b>")
            continue
        breaks = _bins(values)
        word = text(lang, "report.total_weight") if what == "demand" else text(lang, "layer.districts_population")
        for j, (nm, v) in enumerate(zip(names, values, strict=True)):
            styles[j].append({"fillColor": _CHORO[min(_class_of(v, breaks), len(_CHORO) - 1)], "fillOpacity": 0.55})
            tips[j].append(f"<b>{html.escape(nm)}</b><br>{html.escape(word)}: {num(v)}")
        if i == 0:
            edges = [0.0, *breaks.tolist()]
            for j, lo in enumerate(edges):
                hi = edges[j + 1] if j + 1 < len(edges) else None
                rng = f"{num(lo)} – {num(hi)}" if hi is not None else f"≥ {num(lo)}"
                legend.append(
                    f'<tr><td><span style="display:inline-block;width:14px;height:10px;'
                    f'background:{_CHORO[min(j, len(_CHORO) - 1)]};border:1px solid #999"></span></td>'
                    f"<td>{html.escape(text(lang, f'legend.choro_{what}', range=rng))}</td></tr>"
                )
    shared = SharedGeoJson([shape_feature(g, {"s": styles[j], "t": tips[j]}, nd=4) for j, g in enumerate(geoms)])
    shared.add_to(m)
    style = {"color": "#555", "weight": 1, "opacity": 0.8, "fillColor": "#f7f7f2", "fillOpacity": 0.5}
    for i, (label, _values, _what) in enumerate(layers):
        fg = folium.FeatureGroup(name=label, overlay=False, show=(i == 0), control=True)
        fg.add_child(GeoJsonLayer(shared, style=style, variant=i))
        fg.add_to(m)
    return legend


def _packaged_districts(points: np.ndarray) -> gpd.GeoDataFrame | None:
    """The packaged Chongqing districts when at least half of ``points`` (lon, lat) lie in them, else ``None``."""
    from siting.core.errors import InputError  # noqa: PLC0415
    from siting.geo.chongqing import load_districts  # noqa: PLC0415

    minx, miny, maxx, maxy = points[:, 0].min(), points[:, 1].min(), points[:, 0].max(), points[:, 1].max()
    if maxx < 105.2 or minx > 110.3 or maxy < 28.1 or miny > 32.3:  # Chongqing's extent, rounded out
        return None
    try:
        districts = load_districts()
    except (InputError, OSError):  # no packaged data here: fall back to the hull
        return None
    union = shapely.union_all(districts.geometry.to_numpy())
    inside = shapely.contains_xy(union, points[:, 0], points[:, 1])
    return districts if inside.mean() >= 0.5 else None


def _graticule_step(extent_deg: float) -> float:
    for step in (0.5, 1.0, 2.0, 5.0, 10.0):
        if extent_deg / step <= 12:
            return step
    return 30.0


def add_graticule(m: folium.Map, bounds: Sequence[float], *, lang: str = DEFAULT_LANG) -> None:
    """Lines of constant longitude and latitude over ``bounds`` (a reference that needs no data)."""
    minx, miny, maxx, maxy = bounds
    step = _graticule_step(max(maxx - minx, maxy - miny, 0.1))
    x0, x1 = math.floor(minx / step) * step, math.ceil(maxx / step) * step
    y0, y1 = math.floor(miny / step) * step, math.ceil(maxy / step) * step
    feats = []
    for x in np.arange(x0, x1 + step / 2, step):
        feats.append(shape_feature(shapely.LineString([(x, y0), (x, y1)]), {"t": f"{x:g}°E"}, nd=4))
    for y in np.arange(y0, y1 + step / 2, step):
        feats.append(shape_feature(shapely.LineString([(x0, y), (x1, y)]), {"t": f"{y:g}°N"}, nd=4))
    fg = folium.FeatureGroup(name=text(lang, "layer.graticule", step=f"{step:g}"), show=True)
    fg.add_child(GeoJsonLayer(feats, style=_GRATICULE_STYLE))
    fg.add_to(m)


def add_reference(
    m: folium.Map,
    frames: Sequence[gpd.GeoDataFrame],
    *,
    simplify_deg: float = 0.002,
    lang: str = DEFAULT_LANG,
) -> list[str]:
    """Add the offline reference outline for a map without boundaries of its own (see the module docstring).

    ``frames`` are the map's point and line layers (EPSG:4326). Returns legend rows.
    """
    coords = [shapely.get_coordinates(f.geometry.to_numpy()) for f in frames if f is not None and len(f)]
    coords = [c for c in coords if len(c)]
    if not coords:
        return []
    pts = np.vstack(coords)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if not len(pts):
        return []
    districts = _packaged_districts(pts)
    if districts is not None:
        geoms = districts.geometry.simplify(simplify_deg, preserve_topology=True)
        names = districts["name_zh"] if lang == "zh" or "name_en" not in districts else districts["name_en"]
        feats = [shape_feature(g, {"t": f"<b>{html_text(n)}</b>"}, nd=4) for g, n in zip(geoms, names, strict=True)]
        label = text(lang, "layer.reference_districts")
    else:
        hull = shapely.convex_hull(shapely.multipoints(pts))
        extent = max(float(np.ptp(pts[:, 0])), float(np.ptp(pts[:, 1])), 0.01)
        feats = [shape_feature(hull.buffer(0.02 * extent), {"t": html.escape(text(lang, "layer.reference_hull"))}, nd=4)]
        label = text(lang, "layer.reference_hull")
    fg = folium.FeatureGroup(name=label, overlay=False, show=True, control=True)
    fg.add_child(GeoJsonLayer(feats, style={**_REFERENCE_STYLE, "className": "siting-reference"}))
    fg.add_to(m)
    return [f"<tr><td>{swatch_line('#6d6d6d', width=2)}</td><td>{html.escape(label)}</td></tr>"]


def tiers_of(facilities: pd.DataFrame) -> list[tuple[str, int]]:
    """``(tier, level)`` pairs, top tier first."""
    if not len(facilities):
        return []
    t = facilities[["tier", "tier_level"]].drop_duplicates("tier")
    t = t.sort_values(["tier_level", "tier"], kind="stable")
    return [(str(a), int(b)) for a, b in zip(t["tier"], t["tier_level"], strict=True)]


def chain_columns(demand: pd.DataFrame) -> list[str]:
    """The chain prefixes of a demand layer, in column order: ``x`` for each ``x_id``/``x_name`` pair.

    ``siting run`` adds, for each township, the facility of every tier that serves it
    (``collection_id``/``collection_name``, ``park_id``/``park_name``, ``hub_id``/``hub_name``, ...).
    """
    return [c[:-3] for c in demand.columns if c.endswith("_id") and c != "demand_id" and f"{c[:-3]}_name" in demand.columns]


def _chain_lines(row: Mapping[str, Any], chain: Sequence[str], lang: str) -> list[str]:
    lines = []
    for x in chain:
        nm, ident = row.get(f"{x}_name"), row.get(f"{x}_id")
        if (nm is None or (isinstance(nm, float) and math.isnan(nm))) and ident is None:
            continue
        lines.append(f"{html.escape(tier_label(lang, x))}: <b>{html_text(nm)}</b> ({html_text(ident)})")
    if row.get("unit_name") is not None:
        lines.append(f"{html.escape(text(lang, 'tip.unit'))}: {html_text(row.get('unit_name'))}")
    if row.get("time_min") is not None and math.isfinite(float(row.get("time_min"))):
        lines.append(f"{html.escape(text(lang, 'tip.time'))}: {num(row.get('time_min'), 1, text(lang, 'unit.min'))}")
    if row.get("distance_source") is not None:
        lines.append(f"{html.escape(text(lang, 'tip.distance_source'))}: {html_text(row.get('distance_source'))}")
    return lines


def add_demand(m: folium.Map, demand: gpd.GeoDataFrame, *, facility_names: Mapping[str, str],
               lang: str = DEFAULT_LANG) -> list[str]:
    """Demand points, sized by weight; tooltips name the serving facility and, when present, the whole chain."""
    w = demand["weight"].to_numpy(float)
    wmax = float(np.nanmax(w)) if len(w) and np.isfinite(w).any() and np.nanmax(w) > 0 else 1.0
    chain = chain_columns(demand)
    extra = [c for c in ("unit_name", "time_min", "distance_source") if c in demand.columns]
    cols = ["demand_id", "name", "weight", "assigned_to", "distance_km", "covered", *[f"{x}_{k}" for x in chain for k in ("id", "name")], *extra]
    records = pd.DataFrame(demand[[c for c in cols if c in demand.columns]]).astype(object)
    records = records.where(records.notna(), None).to_dict("records")
    km = text(lang, "unit.km")
    feats, n_unserved = [], 0
    for row, x, y, wt in zip(records, demand.geometry.x, demand.geometry.y, w, strict=True):
        to, cov = row.get("assigned_to"), bool(row.get("covered"))
        lines = [f"<b>{html_text(row.get('name'))}</b> ({html_text(row.get('demand_id'))})", text(lang, "tip.weight", w=num(wt, 1))]
        if to is not None:
            who = facility_names.get(str(to))
            shown = f"{html_text(who)} ({html_text(to)})" if who and who != to else html_text(to)
            lines.append(text(lang, "tip.served_by", to=shown, d=num(row.get("distance_km"), 1, km)))
        else:
            lines.append(html.escape(text(lang, "tip.not_assigned")))
        lines += _chain_lines(row, chain, lang)
        if not cov:
            lines.append(f"<b>{html.escape(text(lang, 'tip.not_covered'))}</b>")
        r = 2.0 + 4.0 * math.sqrt(max(wt, 0.0) / wmax) if math.isfinite(wt) else 2.0
        s: dict[str, Any] = {"radius": round(r, 1)}
        if to is None or not cov:
            s.update(fillColor="#e41a1c", color="#e41a1c")
            n_unserved += 1
        feats.append(point_feature(float(x), float(y), {"t": "<br>".join(lines), "s": s}))
    fg = folium.FeatureGroup(name=text(lang, "layer.demand", n=len(demand)), show=True)
    fg.add_child(GeoJsonLayer(feats, style={"color": "#3d4f63", "weight": 0.6, "fillColor": "#6b7f95", "fillOpacity": 0.7,
                                            "radius": 3, "className": "siting-demand"}))
    fg.add_to(m)
    legend = [f"<tr><td>{swatch_circle('#6b7f95', 4, border='#3d4f63')}</td><td>{html.escape(text(lang, 'legend.demand'))}</td></tr>"]
    if n_unserved:
        legend.append(f"<tr><td>{swatch_circle('#e41a1c', 4, border='#e41a1c')}</td>"
                      f"<td>{html.escape(text(lang, 'legend.unserved', n=n_unserved))}</td></tr>")
    return legend


def _named(ident: Any, names: Mapping[str, str]) -> str:
    nm = names.get(str(ident))
    return f"<b>{html_text(nm)}</b> ({html_text(ident)})" if nm and nm != str(ident) else html_text(ident)


def add_flows(m: folium.Map, assignments: gpd.GeoDataFrame, tiers: Sequence[tuple[str, int]], *,
              names: Mapping[str, str], lang: str = DEFAULT_LANG) -> list[str]:
    """One line layer per tier, width by volume; tooltips ``name (id) → name (id)``."""
    for tier, level in reversed(tiers):
        sub = assignments[assignments["tier"] == tier]
        if not len(sub):
            continue
        v = sub["volume"].to_numpy(float)
        vmax = float(np.nanmax(v)) if np.isfinite(v).any() and np.nanmax(v) > 0 else 1.0
        feats = []
        for g, vol, a, b, d in zip(sub.geometry, v, sub["from_id"], sub["to_id"], sub["distance_km"], strict=True):
            wgt = 0.8 + 5.2 * math.sqrt(max(vol, 0.0) / vmax) if math.isfinite(vol) else 0.8
            tip = (f"{_named(a, names)} → {_named(b, names)}<br>{text(lang, 'tip.volume', v=num(vol))}<br>"
                   f"{num(d, 1, text(lang, 'unit.km'))}")
            feats.append(shape_feature(g, {"s": {"weight": round(wgt, 1)}, "t": tip}, nd=5))
        fg = folium.FeatureGroup(name=text(lang, "layer.flows", tier=tier_label(lang, tier), n=len(sub)), show=True)
        fg.add_child(GeoJsonLayer(feats, style={"color": tier_colour(level), "weight": 1, "opacity": 0.55,
                                                "className": f"siting-flow siting-flow-{level}"}))
        fg.add_to(m)
    if not len(assignments):
        return []
    return [f"<tr><td>{swatch_line('#888')}</td><td>{html.escape(text(lang, 'legend.flow'))}</td></tr>"]


def add_coverage(m: folium.Map, facilities: gpd.GeoDataFrame, tiers: Sequence[tuple[str, int]],
                 radius_km: Mapping[str, float | None], *, lang: str = DEFAULT_LANG) -> None:
    """Coverage circles per tier (layers hidden at first)."""
    for tier, level in tiers:
        km = radius_km.get(tier)
        if km is None or not km > 0:
            continue
        sub = facilities[facilities["tier"] == tier]
        feats = [point_feature(float(p.x), float(p.y), {}) for p in sub.geometry]
        fg = folium.FeatureGroup(name=text(lang, "layer.coverage", tier=tier_label(lang, tier), km=num(km, 1)), show=False)
        style = {"radius": km * 1000.0, "color": tier_colour(level), "weight": 1, "fillOpacity": 0.08, "fillColor": tier_colour(level)}
        fg.add_child(GeoJsonLayer(feats, style=style, circle=True))
        fg.add_to(m)


def add_facilities(m: folium.Map, facilities: gpd.GeoDataFrame, tiers: Sequence[tuple[str, int]], *,
                   lang: str = DEFAULT_LANG) -> list[str]:
    """Facilities from the lowest tier up (top tier drawn last), with popups; returns legend rows, top first."""
    legend = []
    rows = facility_popup_rows(lang)
    for tier, level in reversed(tiers):
        sub = facilities[facilities["tier"] == tier]
        colour, radius = tier_colour(level), tier_radius(level)
        feats = []
        for row, p in zip(sub.drop(columns="geometry").to_dict("records"), sub.geometry, strict=True):
            feats.append(point_feature(float(p.x), float(p.y), {"p": facility_popup(row, lang=lang), "t": html_text(row.get("name"))}))
        label = text(lang, "layer.tier", tier=tier_label(lang, tier), n=len(sub))
        fg = folium.FeatureGroup(name=label, show=True)
        style = {"radius": radius, "color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 0.95,
                 "className": f"siting-facility siting-tier-{level}"}
        fg.add_child(GeoJsonLayer(feats, style=style, popup_rows=rows))
        fg.add_to(m)
        legend.append(f"<tr><td>{swatch_circle(colour, radius)}</td><td>{html.escape(label)}</td></tr>")
    return list(reversed(legend))
