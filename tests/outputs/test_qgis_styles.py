"""The GeoPackage carries a default QGIS style per layer (table layer_styles), coloured by tier as the web map."""

from __future__ import annotations

import sqlite3
import xml.etree.ElementTree as ET

import pyogrio
import pytest
from fake_run import fake_run

from siting.outputs import write_run
from siting.outputs.legend import tier_colour


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory):
    s, f, a, d, _ = fake_run(n_demand=120, seed=4)
    out = write_run(tmp_path_factory.mktemp("q") / "run", summary=s, facilities=f, assignments=a, demand=d)
    return out / "solution.gpkg", f


def _rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return ",".join(str(int(h[i:i + 2], 16)) for i in (0, 2, 4))


def _styles(path):
    with sqlite3.connect(path) as con:
        rows = con.execute("SELECT f_table_name, f_geometry_column, styleName, styleQML, styleSLD, useAsDefault "
                           "FROM layer_styles ORDER BY f_table_name").fetchall()
        kinds = dict(con.execute("SELECT table_name, data_type FROM gpkg_contents").fetchall())
        geom_cols = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
    return rows, kinds, geom_cols


def test_one_default_style_per_layer(gpkg):
    path, _ = gpkg
    rows, kinds, geom_cols = _styles(path)
    assert [r[0] for r in rows] == ["assignments", "demand", "facilities"]
    assert all(r[5] == 1 for r in rows)  # useAsDefault: QGIS applies it when the layer is added
    assert all(r[1] == geom_cols[r[0]] for r in rows)  # the geometry column the layer really has
    assert kinds["layer_styles"] == "attributes" and kinds["facilities"] == "features"
    for r in rows:
        ET.fromstring(r[3].split("\n", 1)[1])  # QML parses (after its DOCTYPE line)
        ET.fromstring(r[4].split("?>", 1)[1])  # SLD parses
    # the three geometry layers read as before
    for layer in ("facilities", "assignments", "demand"):
        assert len(pyogrio.read_dataframe(path, layer=layer)) > 0


def test_facility_style_is_coloured_by_tier_as_the_map(gpkg):
    path, fac = gpkg
    rows, _, _ = _styles(path)
    qml = ET.fromstring(dict((r[0], r[3]) for r in rows)["facilities"].split("\n", 1)[1])
    renderer = qml.find("renderer-v2")
    assert renderer.get("type") == "categorizedSymbol" and renderer.get("attr") == "tier"
    cats = {c.get("value"): c.get("symbol") for c in renderer.iter("category")}
    levels = fac.drop_duplicates("tier").set_index("tier")["tier_level"].to_dict()
    assert set(cats) == set(levels)
    symbols = {s.get("name"): s for s in renderer.iter("symbol")}
    sizes = {}
    for tier, sym in cats.items():
        opts = {o.get("name"): o.get("value") for o in symbols[sym].iter("Option") if o.get("name")}
        assert opts["color"].startswith(_rgb(tier_colour(levels[tier]))), tier
        sizes[tier] = float(opts["size"])
    assert sizes["hub"] > sizes["park"]  # the top tier is drawn larger, as on the web map
    sld = dict((r[0], r[4]) for r in rows)["facilities"]
    assert tier_colour(levels["hub"]) in sld and "<ogc:Literal>hub</ogc:Literal>" in sld


def test_demand_style_marks_uncovered_points(gpkg):
    path, _ = gpkg
    rows, _, _ = _styles(path)
    qml = ET.fromstring(dict((r[0], r[3]) for r in rows)["demand"].split("\n", 1)[1])
    rules = [(r.get("filter"), r.get("symbol")) for r in qml.iter("rule")]
    assert rules == [('"covered"', "0"), ("ELSE", "1")]
