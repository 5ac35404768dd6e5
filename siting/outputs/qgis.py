"""Default QGIS styles stored in the GeoPackage, so the layers open coloured by tier as on the web map.

QGIS looks for a table ``layer_styles`` in a GeoPackage and applies the row with ``useAsDefault`` true of each
layer when the layer is added (QGIS 3.x; the table layout is the one QGIS itself writes with "Save as default",
documented in the QGIS user manual, "Save Style" in a database). :func:`write_layer_styles` writes one row per
layer, with a QML style (what QGIS reads) and an equivalent SLD 1.1 (for GeoServer and other tools):

* ``facilities``: one category per tier (field ``tier``), the map's tier colours (:data:`TIER_COLOURS`, by
  ``tier_level``) and sizes (the top tier largest), white outline;
* ``assignments``: one category per tier, lines in the colour of the serving tier;
* ``demand``: grey points, red when not covered (rule on the field ``covered``).

The table is registered as an attribute table in ``gpkg_contents`` (written through GDAL), so the
GeoPackage stays valid; the geometry layers are untouched.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import pandas as pd
import pyogrio

from siting.outputs.legend import tier_colour

__all__ = ["STYLE_NAME", "qml_facilities", "qml_assignments", "qml_demand", "sld_categories", "write_layer_styles"]

STYLE_NAME = "siting default"
_DEMAND = "#6b7f95"
_UNCOVERED = "#e41a1c"


def _rgba(hex_colour: str, alpha: float = 1.0) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{round(255 * alpha)}"


def _options(props: dict[str, str]) -> str:
    """A QML symbol layer's properties, in both the QGIS >= 3.26 (``Option``) and older (``prop``) forms."""
    opts = "".join(f'<Option type="QString" name={quoteattr(k)} value={quoteattr(v)}/>' for k, v in props.items())
    old = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return f'<Option type="Map">{opts}</Option>{old}'


def _marker(name: str, colour: str, size_mm: float, *, outline: str = "#ffffff", alpha: float = 1.0) -> str:
    props = {"color": _rgba(colour, alpha), "name": "circle", "outline_color": _rgba(outline), "outline_style": "solid",
             "outline_width": "0.3", "outline_width_unit": "MM", "size": f"{size_mm:.2f}", "size_unit": "MM"}
    return (f'<symbol type="marker" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="SimpleMarker" enabled="1" pass="0" locked="0">{_options(props)}</layer></symbol>')


def _line(name: str, colour: str, width_mm: float, alpha: float = 0.6) -> str:
    props = {"line_color": _rgba(colour, alpha), "line_style": "solid", "line_width": f"{width_mm:.2f}",
             "line_width_unit": "MM", "capstyle": "round", "joinstyle": "round"}
    return (f'<symbol type="line" name={quoteattr(name)} alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="SimpleLine" enabled="1" pass="0" locked="0">{_options(props)}</layer></symbol>')


def _qgis(renderer: str) -> str:
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
            f'<qgis version="3.28.0" styleCategories="Symbology">{renderer}</qgis>\n')


def _marker_size(level: int) -> float:
    return round(max(1.8, 5.2 - 1.5 * level), 2)


def qml_facilities(tiers: Sequence[tuple[str, int]]) -> str:
    """QML: categories on ``tier``, coloured and sized by tier level."""
    cats = "".join(f'<category render="true" symbol="{i}" value={quoteattr(t)} label={quoteattr(t)}/>' for i, (t, _) in enumerate(tiers))
    syms = "".join(_marker(str(i), tier_colour(lv), _marker_size(lv)) for i, (_, lv) in enumerate(tiers))
    return _qgis(f'<renderer-v2 type="categorizedSymbol" attr="tier" symbollevels="0" enableorderby="0" forceraster="0">'
                 f"<categories>{cats}</categories><symbols>{syms}</symbols></renderer-v2>")


def qml_assignments(tiers: Sequence[tuple[str, int]]) -> str:
    """QML: categories on ``tier`` (the serving tier), lines in its colour, thicker for the top tiers."""
    cats = "".join(f'<category render="true" symbol="{i}" value={quoteattr(t)} label={quoteattr("→ " + t)}/>' for i, (t, _) in enumerate(tiers))
    syms = "".join(_line(str(i), tier_colour(lv), max(0.2, 0.8 - 0.25 * lv)) for i, (_, lv) in enumerate(tiers))
    return _qgis(f'<renderer-v2 type="categorizedSymbol" attr="tier" symbollevels="0" enableorderby="0" forceraster="0">'
                 f"<categories>{cats}</categories><symbols>{syms}</symbols></renderer-v2>")


def qml_demand() -> str:
    """QML: demand points grey, red when not covered (rule-based on ``covered``)."""
    rules = ('<rules key="root"><rule key="covered" filter="&quot;covered&quot;" symbol="0" label="covered"/>'
             '<rule key="uncovered" filter="ELSE" symbol="1" label="not covered"/></rules>')
    syms = _marker("0", _DEMAND, 1.6, outline="#3d4f63", alpha=0.8) + _marker("1", _UNCOVERED, 1.8, outline=_UNCOVERED)
    return _qgis(f'<renderer-v2 type="RuleRenderer" symbollevels="0" enableorderby="0" forceraster="0">{rules}'
                 f"<symbols>{syms}</symbols></renderer-v2>")


def sld_categories(layer: str, field: str, classes: Sequence[tuple[str | None, str, float]], *, line: bool = False) -> str:
    """SLD 1.1: one rule per ``(value, colour, size)`` (``value=None``: the else rule)."""
    rules = []
    for value, colour, size in classes:
        filt = ("<se:ElseFilter/>" if value is None else
                f"<ogc:Filter><ogc:PropertyIsEqualTo><ogc:PropertyName>{escape(field)}</ogc:PropertyName>"
                f"<ogc:Literal>{escape(value)}</ogc:Literal></ogc:PropertyIsEqualTo></ogc:Filter>")
        if line:
            sym = (f'<se:LineSymbolizer><se:Stroke><se:SvgParameter name="stroke">{colour}</se:SvgParameter>'
                   f'<se:SvgParameter name="stroke-width">{size}</se:SvgParameter></se:Stroke></se:LineSymbolizer>')
        else:
            sym = (f"<se:PointSymbolizer><se:Graphic><se:Mark><se:WellKnownName>circle</se:WellKnownName>"
                   f'<se:Fill><se:SvgParameter name="fill">{colour}</se:SvgParameter></se:Fill>'
                   f'<se:Stroke><se:SvgParameter name="stroke">#ffffff</se:SvgParameter></se:Stroke></se:Mark>'
                   f"<se:Size>{size}</se:Size></se:Graphic></se:PointSymbolizer>")
        rules.append(f"<se:Rule><se:Name>{escape(str(value if value is not None else 'other'))}</se:Name>{filt}{sym}</se:Rule>")
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" xmlns:se="http://www.opengis.net/se" '
            'xmlns:ogc="http://www.opengis.net/ogc" version="1.1.0">'
            f"<NamedLayer><se:Name>{escape(layer)}</se:Name><UserStyle><se:Name>{escape(layer)}</se:Name>"
            f"<se:FeatureTypeStyle>{''.join(rules)}</se:FeatureTypeStyle></UserStyle></NamedLayer></StyledLayerDescriptor>")


def _tiers(facilities: pd.DataFrame, assignments: pd.DataFrame) -> list[tuple[str, int]]:
    levels: dict[str, int] = {}
    for t, lv in zip(facilities["tier"], facilities["tier_level"], strict=True):
        levels[str(t)] = min(int(lv), levels.get(str(t), 1 << 30))
    for t in assignments["tier"]:
        levels.setdefault(str(t), len(levels))
    return sorted(levels.items(), key=lambda kv: (kv[1], kv[0]))


def write_layer_styles(path: str | os.PathLike[str], frames: Any) -> None:
    """Add the table ``layer_styles`` (one default style per layer) to the GeoPackage at ``path``."""
    tiers = _tiers(frames.facilities, frames.assignments)
    rows = [
        ("facilities", "Point", qml_facilities(tiers),
         sld_categories("facilities", "tier", [(t, tier_colour(lv), 2 * _marker_size(lv)) for t, lv in tiers])),
        ("assignments", "LineString", qml_assignments(tiers),
         sld_categories("assignments", "tier", [(t, tier_colour(lv), 1.5) for t, lv in tiers], line=True)),
        ("demand", "Point", qml_demand(),
         sld_categories("demand", "covered", [("1", _DEMAND, 5.0), (None, _UNCOVERED, 6.0)])),
    ]
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    table = pd.DataFrame(
        {
            "f_table_catalog": "",
            "f_table_schema": "",
            "f_table_name": [r[0] for r in rows],
            "f_geometry_column": "geom",
            "styleName": STYLE_NAME,
            "styleQML": [r[2] for r in rows],
            "styleSLD": [r[3] for r in rows],
            "useAsDefault": True,
            "description": "written by siting: coloured by tier as on map.html",
            "owner": "",
            "ui": None,
            "update_time": now,
        }
    )
    table["ui"] = table["ui"].astype(object)
    pyogrio.write_dataframe(table, path, layer="layer_styles", driver="GPKG", layer_options={"FID": "id"})
