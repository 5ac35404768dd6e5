"""Self-contained Folium maps of a run: reference layer, boundaries, facilities per tier, flows, demand, coverage.

The map works with no internet: Leaflet's JS and CSS are inlined (:mod:`siting.outputs.assets`), no
Folium plugin that loads a CDN script is used, and :func:`save_map` refuses to write a page that would load
any external script or stylesheet. The layers themselves are in :mod:`siting.outputs.map_layers`, the title,
legend and popups in :mod:`siting.outputs.legend`, every word in :mod:`siting.outputs.i18n` (``lang="zh"``
gives a Chinese map).

Offline reference: every map has one. District boundaries passed by the caller are the base (radio buttons:
demand choropleth, population choropleth, outlines only); without them, the packaged Chongqing districts when
the data lies in Chongqing, else the convex hull of the data; plus a graticule. See
:func:`siting.outputs.map_layers.add_reference`.

Online basemaps, all optional and off by default: OpenStreetMap, and 天地图 (Tianditu: vector map, imagery and
labels) when a key is given (``tianditu_key``; :func:`siting.outputs.write_run` reads the environment variable
``TIANDITU_KEY`` when the caller gives none). Tianditu's tiles are in CGCS2000, which agrees with WGS84 to
within centimetres, so the WGS84 overlays sit where they belong. The key is written into ``map.html`` (the
browser asks Tianditu for the tiles with it): share such a map only with people who may use the key.
Chinese tile services in GCJ-02 shifted coordinates (Amap/Gaode, Tencent, Baidu's BD-09) are deliberately
never offered: overlays in WGS84 would be drawn about 300-600 m off on them, and converting every overlay to
GCJ-02 would make the GeoPackage and the map disagree.

Display simplification: boundary polygons are simplified with ``shapely`` ``simplify(simplify_deg,
preserve_topology=True)``, 0.002 degrees by default (about 200 m at Chongqing's latitude, invisible at the
zoom levels of a province-wide map); boundary and line coordinates are rounded to 4 and 5 decimals (about 10 m
and 1 m), points keep 6. The GeoPackage keeps the exact geometries. Shared geometry is written once (the
three boundary layers use one GeoJSON), and facility popups are built in the browser from compact cells.
Measured: the synthetic Chongqing run (38 districts, 988 demand points, 1,024 flow lines, 41 facilities) gives
a map of about 0.8 MB; the real ``models/chongqing-express.toml`` run (1,031 demand points, 1,699 flow lines,
671 facilities) 1.45 MB, of which about 150 kB is Leaflet itself and about 0.1 MB the names in the flow
tooltips. The offline reference of a map without boundaries adds the packaged districts (about 0.2 MB) or one
hull polygon (under 1 kB); the graticule a few kB.

Every facility is a Leaflet ``circleMarker`` with the CSS class ``siting-facility`` (and
``siting-tier-<level>``), so that a browser test can count them; the reference outline has the class
``siting-reference``, demand points ``siting-demand``, flows ``siting-flow``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import folium
import geopandas as gpd
import numpy as np

from siting.outputs.assets import check_offline, inline_head
from siting.outputs.i18n import DEFAULT_LANG, check_lang, text
from siting.outputs.legend import TIER_COLOURS, describe_solution, legend_html, run_title, tier_colour, title_html
from siting.outputs.map_layers import (
    GeoJsonLayer,
    add_boundaries,
    add_coverage,
    add_demand,
    add_facilities,
    add_flows,
    add_graticule,
    add_reference,
    raw_element,
    shape_feature,
    tiers_of,
)

__all__ = [
    "TIER_COLOURS",
    "MAP_OPTIONS",
    "TIANDITU_ENV",
    "add_road_layer",
    "make_map",
    "save_map",
    "render_html",
    "tier_colour",
    "base_map",
    "GeoJsonLayer",
]

#: keyword options of :func:`make_map` that :func:`siting.outputs.write_run` accepts in ``map_options``
MAP_OPTIONS = frozenset({"coverage_km", "simplify_deg", "osm", "show_demand", "lang", "tianditu_key", "reference",
                         "roads"})
#: environment variable holding a Tianditu key (read by :func:`siting.outputs.write_run` only)
TIANDITU_ENV = "TIANDITU_KEY"
_TIANDITU = "https://t{s}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}" \
            "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
_TIANDITU_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图 Tianditu</a> (CGCS2000)'
_CSS = (
    "<style>.leaflet-container{background:#eef1f4}"
    ".siting-box{background:rgba(255,255,255,.92);padding:6px 10px;border-radius:4px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.3);font:12px/1.4 system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif;color:#222}"
    ".siting-box table{border-collapse:collapse}.siting-box td{padding:0 4px}"
    ".siting-popup td{padding:1px 6px 1px 0;vertical-align:top}.siting-popup td:first-child{color:#666;white-space:nowrap}"
    ".leaflet-tooltip{font-family:system-ui,'Noto Sans CJK SC','Microsoft YaHei',sans-serif}"
    "</style>"
)


def _add_tianditu(m: folium.Map, key: str, *, lang: str) -> None:
    k = quote(key.strip(), safe="")
    for layer, label in (("vec", "layer.tianditu_vec"), ("img", "layer.tianditu_img"), ("cva" if lang == "zh" else "eva", "layer.tianditu_labels")):
        folium.TileLayer(
            tiles=_TIANDITU.format(s="{s}", layer=layer, key=k), attr=_TIANDITU_ATTR, name=text(lang, label),
            subdomains="01234567", max_zoom=18, overlay=True, show=False, control=True,
        ).add_to(m)


def base_map(bounds: Sequence[float] | None, *, osm: bool = True, tianditu_key: str | None = None,
             lang: str = DEFAULT_LANG) -> folium.Map:
    """An empty map with inline Leaflet, a scale bar, a plain background and the optional online tiles (off).

    ``bounds`` is ``(minx, miny, maxx, maxy)`` in degrees; the map opens fitted to it.
    """
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False, zoom_control=True, zoom_snap=0.25)
    # nothing from a CDN: drop folium's default links, inline Leaflet instead
    m.default_js = []
    m.default_css = []
    root = m.get_root()
    root.header.add_child(raw_element(inline_head()), name="leaflet_inline")
    root.header.add_child(raw_element(_CSS), name="siting_css")
    if lang == "zh":
        root.header.add_child(raw_element('<meta name="language" content="zh-CN">'), name="siting_lang")
    if osm:
        folium.TileLayer("OpenStreetMap", name=text(lang, "layer.osm"), overlay=True, show=False, control=True).add_to(m)
    if tianditu_key:
        _add_tianditu(m, tianditu_key, lang=lang)
    if bounds is not None and all(math.isfinite(b) for b in bounds):
        minx, miny, maxx, maxy = bounds
        pad = 0.02 * max(maxx - minx, maxy - miny, 0.01)
        m.fit_bounds([[miny - pad, minx - pad], [maxy + pad, maxx + pad]])
    return m


def _coverage_radii(coverage_km: float | Mapping[str, float] | None, tiers: Sequence[tuple[str, int]]) -> dict[str, float | None]:
    if coverage_km is None:
        return {}
    if isinstance(coverage_km, Mapping):
        return {t: (None if coverage_km.get(t) is None else float(coverage_km[t])) for t, _ in tiers}
    return {t: float(coverage_km) for t, _ in tiers}


def _bounds(frames: Sequence[gpd.GeoDataFrame | None]) -> tuple[float, float, float, float] | None:
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return None
    tb = np.array([(f.to_crs("EPSG:4326") if f.crs is not None else f).total_bounds for f in frames])
    return (tb[:, 0].min(), tb[:, 1].min(), tb[:, 2].max(), tb[:, 3].max())


def _names(facilities: gpd.GeoDataFrame, demand: gpd.GeoDataFrame) -> dict[str, str]:
    """id -> name of every facility and demand point (demand also as ``demand:<id>``, as flows spell it)."""
    names = {str(i): str(n) for i, n in zip(facilities["facility_id"], facilities["name"], strict=True)} if len(facilities) else {}
    if len(demand) and "name" in demand.columns:
        for i, n in zip(demand["demand_id"], demand["name"], strict=True):
            names.setdefault(str(i), str(n))
            names.setdefault(f"demand:{i}", str(n))
    return names


def make_map(
    *,
    summary: Mapping[str, object],
    facilities: gpd.GeoDataFrame,
    assignments: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    coverage_km: float | Mapping[str, float] | None = None,
    simplify_deg: float = 0.002,
    osm: bool = True,
    show_demand: bool = True,
    lang: str = DEFAULT_LANG,
    tianditu_key: str | None = None,
    reference: bool = True,
    roads: gpd.GeoDataFrame | None = None,
) -> folium.Map:
    """Build the map of one run (frames as in the outputs contract, already validated).

    Parameters
    ----------
    summary, facilities, assignments, demand
        As for :func:`siting.outputs.write_run`.
    boundaries
        Polygons drawn as the base (choropleth of demand, of population if a ``pop_census2020`` or
        ``population`` column exists, or outlines only); any CRS. Without them, the offline reference outline.
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
    lang
        ``"en"`` (default) or ``"zh"``: the language of layers, legend, title, tooltips and popups.
    tianditu_key
        A Tianditu (天地图) key: offer its vector map, imagery and labels as optional layers (off by default;
        needs internet). The key is written into the page.
    reference
        Add the offline reference outline (when ``boundaries`` is not given) and the graticule.
    roads
        Road lines (EPSG:4326) drawn as an optional layer, off by default (:func:`add_road_layer`).

    Returns
    -------
    folium.Map
        Save it with :func:`save_map` (which inlines nothing more but checks the page is offline-safe).
    """
    lang = check_lang(lang)
    bounds = _bounds([facilities, demand, boundaries])
    m = base_map(bounds, osm=osm, tianditu_key=tianditu_key, lang=lang)
    ref_legend: list[str] = []
    if boundaries is not None and len(boundaries):
        ref_legend = add_boundaries(m, boundaries, demand=demand, simplify_deg=simplify_deg, lang=lang)
    elif reference:
        ref_legend = add_reference(m, [facilities, demand], simplify_deg=simplify_deg, lang=lang)
    if reference and bounds is not None:
        add_graticule(m, bounds, lang=lang)
    tiers = tiers_of(facilities)
    names = _names(facilities, demand)
    legend: list[str] = []
    if show_demand and len(demand):  # demand points (bottom), then flows, then facilities
        legend += add_demand(m, demand, facility_names=names, lang=lang)
    if len(assignments):
        legend += add_flows(m, assignments, tiers, names=names, lang=lang)
    add_coverage(m, facilities, tiers, _coverage_radii(coverage_km, tiers), lang=lang)
    fac_legend = add_facilities(m, facilities, tiers, lang=lang)
    if roads is not None and len(roads):
        add_road_layer(m, roads, name=text(lang, "layer.roads"))
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.get_root().html.add_child(raw_element(title_html(run_title(summary, title, lang=lang), describe_solution(summary, lang=lang))))
    rows = [*fac_legend, *legend, *ref_legend]
    if rows:
        m.get_root().html.add_child(raw_element(legend_html(rows, heading=text(lang, "legend.heading"))))
    return m


def add_road_layer(m: folium.Map, roads: gpd.GeoDataFrame, *, name: str = "Road network") -> None:
    """Add road lines as an optional layer (off by default), thin grey, coordinates rounded to ~1 m.

    The caller keeps the layer small (e.g. :func:`siting.scenario.roads.network_layer` caps the vertices).
    """
    feats = [shape_feature(g, {}, nd=5) for g in roads.to_crs("EPSG:4326").geometry if g is not None and not g.is_empty]
    fg = folium.FeatureGroup(name=f"{name} ({len(feats)})", show=False)
    fg.add_child(GeoJsonLayer(feats, style={"color": "#7a7a7a", "weight": 1, "opacity": 0.6}))
    fg.add_to(m)


def render_html(m: folium.Map) -> str:
    """The full HTML page of ``m``; raises ``RuntimeError`` if it would load anything from outside."""
    text_ = m.get_root().render()
    check_offline(text_, what="map")
    return text_


def save_map(m: folium.Map, path: str | os.PathLike[str]) -> Path:
    """Write ``m`` as one self-contained HTML file (written to ``<path>.tmp`` then renamed)."""
    out = Path(path)
    page = render_html(m)
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_text(page, encoding="utf-8")
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out
