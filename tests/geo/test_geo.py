"""Chongqing geodata loaders, the derived township file, and users' point files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from siting.geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from siting.geo.distance import haversine_km
from siting.core.errors import DataError, ScenarioError
from siting.geo.chongqing import default_data_dir, load_development_zones, load_districts, load_logistics_points, load_townships, load_units
from siting.geo.points import read_points, validate_points

def _load_script(name: str):
    """The build-time scripts live in ``scripts/`` (not in the package); load one by path."""
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_derive = _load_script("derive_geo")
derive_townships, largest_remainder = _derive.derive_townships, _derive.largest_remainder

DATA = Path(__file__).resolve().parents[2] / "data" / "geo"
TOTAL = 32_054_159


@pytest.fixture(scope="module")
def layers():
    out = {}
    for s in ("2024", "2025"):
        out[s] = {
            "districts": load_districts(structure=s),
            "units": load_units(structure=s),
            "townships": load_townships(structure=s),
        }
    return out


# --- counts and sums ------------------------------------------------------------------------------


def test_counts_2024(layers):
    d, u, t = (layers["2024"][k] for k in ("districts", "units", "townships"))
    assert (len(d), len(u), len(t)) == (38, 41, 1031)
    assert u["kind"].value_counts().to_dict() == {"district": 26, "county": 12, "zone": 3}
    assert set(u.loc[u["kind"] == "zone", "name_zh"]) == {"两江新区", "西部科学城重庆高新区", "万盛经开区"}
    assert all(g.crs.to_epsg() == 4326 for g in (d, u, t))


def test_counts_2025(layers):
    d, u, t = (layers["2025"][k] for k in ("districts", "units", "townships"))
    assert (len(d), len(u), len(t)) == (37, 39, 1031)
    assert "500105" not in set(d["adcode"]) and "500112" not in set(d["adcode"])
    assert "500157" in set(d["adcode"]) and "500157" in set(u["unit_id"])
    lj = t[t["county_adcode"] == "500157"]
    assert len(lj) == 42 and (lj["type"] == "subdistrict").sum() == 31  # 31 subdistricts + 11 towns, as announced
    assert (t["county_adcode"] == "500109").sum() == 17


def test_population_sums(layers):
    census = layers["2024"]["districts"].set_index("adcode")["pop_census2020"]
    assert census.sum() == TOTAL
    for s in ("2024", "2025"):
        t = layers[s]["townships"]
        assert t["population"].dtype == np.int64 and (t["population"] > 0).all()
        assert t["population"].sum() == TOTAL
        per_county = t.groupby("census_county_adcode")["population"].sum()
        pd.testing.assert_series_equal(per_county.sort_index(), census.sort_index(), check_names=False)
        assert layers[s]["units"]["population"].sum() == TOTAL
        assert layers[s]["districts"]["pop_census2020"].sum() == TOTAL
    d25 = layers["2025"]["districts"].set_index("adcode")
    unchanged = d25.index[~d25["pop_is_estimate"]]
    assert len(unchanged) == 35
    assert (d25.loc[unchanged, "pop_census2020"] == census[unchanged]).all()


def test_every_township_in_exactly_one_unit(layers):
    for s in ("2024", "2025"):
        t, u = layers[s]["townships"], layers[s]["units"]
        assert t["code9"].is_unique and t["unit_id"].notna().all()
        assert set(t["unit_id"]) == set(u["unit_id"])  # every unit has >= 1 township
        assert (u["n_townships"] >= 1).all() and u["n_townships"].sum() == 1031
        assert t["region"].notna().all()
    u24 = layers["2024"]["units"].set_index("unit_id")["n_townships"]
    assert u24["zone_wansheng"] == 10 and u24["zone_gaoxin"] == 8 and u24["zone_liangjiang"] == 17
    assert u24["500105"] >= 1 and u24["500112"] >= 1  # 江北区 and 渝北区 keep townships in 2024
    # the 2024 两江新区 zone lies inside the 2025 两江新区 district
    t24, t25 = layers["2024"]["townships"], layers["2025"]["townships"].set_index("code9")
    lj = t24.loc[t24["unit_id"] == "zone_liangjiang", "code9"]
    assert (t25.loc[lj, "unit_id"] == "500157").all()


def test_membership_file_has_one_row_per_township():
    m = pd.read_csv(DATA / "township_units.csv", dtype=str)
    towns = pd.read_csv(DATA / "townships.csv", dtype=str)
    assert m["code9"].is_unique and set(m["code9"]) == set(towns["code9"])
    wansheng = towns.loc[towns["managed_by_zone"] == "万盛经开区", "code9"]
    assert set(m.loc[m["unit_2024"] == "zone_wansheng", "code9"]) == set(wansheng)


# --- geometry -------------------------------------------------------------------------------------


def test_seats_inside_own_polygons(layers):
    for s in ("2024", "2025"):
        for key, idcol in (("districts", "adcode"), ("units", "unit_id")):
            g = layers[s][key]
            inside = shapely.contains_xy(g.geometry.to_numpy(), g["seat_lon"], g["seat_lat"])
            assert inside.all(), (s, key, list(g.loc[~inside, idcol]))
            assert g.geometry.is_valid.all() and g.geometry.notna().all()


def test_estimated_township_points(layers):
    t = layers["2024"]["townships"]
    assert t["coord_estimated"].sum() == 224 + 21  # no source point + county-seat fallback
    assert t[["lon", "lat"]].notna().all().all()
    assert not t[["lon", "lat"]].duplicated().any()  # no two townships share a point
    polys = layers["2024"]["districts"].set_index("adcode").geometry
    est = t[t["coord_estimated"]]
    inside = shapely.contains_xy(polys.reindex(est["county_adcode"]).to_numpy(), est["lon"], est["lat"])
    assert inside.all(), list(est.loc[~inside, "name_zh"])
    src = pd.read_csv(DATA / "townships.csv", dtype={"code9": str}).set_index("code9")
    geon = t[~t["coord_estimated"]].set_index("code9")
    assert (src.loc[geon.index, "coord_source"] == "geonames").all()
    np.testing.assert_allclose(geon["lon"], src.loc[geon.index, "lon_wgs84"])


def test_zone_geometries_are_flagged_and_cover_members(layers):
    u = layers["2024"]["units"].set_index("unit_id")
    t = layers["2024"]["townships"]
    for zone in ("zone_liangjiang", "zone_gaoxin", "zone_wansheng"):
        assert u.loc[zone, "geometry_approximate"]
        pts = t[t["unit_id"] == zone]
        assert shapely.contains_xy(u.loc[zone, "geometry"], pts["lon"], pts["lat"]).all()
    assert not u.loc[u["kind"] != "zone", "geometry_approximate"].any()


@pytest.mark.slow  # re-derives the township table from the raw files
def test_derived_file_is_reproducible():
    on_disk = pd.read_csv(DATA / "townships_derived.csv", dtype={"code9": str})
    fresh = derive_townships(DATA)
    pd.testing.assert_frame_equal(fresh.reset_index(drop=True), on_disk, check_dtype=False)


def test_largest_remainder():
    out = largest_remainder(10, np.array([1.0, 1.0, 1.0]), np.array(["c", "a", "b"]))
    assert out.sum() == 10 and sorted(out.tolist()) == [3, 3, 4] and out[1] == 4  # tie -> smallest key
    assert largest_remainder(7, np.zeros(3), np.array(["a", "b", "c"])).sum() == 7


def test_other_layers():
    p = load_logistics_points()
    assert len(p) == 12 and p["id"].is_unique and p.crs.to_epsg() == 4326
    assert set(p["category"]) >= {"airport", "river_port"}
    p25 = load_logistics_points(structure="2025")
    assert not p25["district_adcode"].isin(["500105", "500112"]).any()
    assert p25.set_index("id").loc["PORT_GY", "district_adcode"] == "500157"
    z = load_development_zones()
    assert len(z) == 3 and z.crs.to_epsg() == 4326


def test_data_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("SITING_DATA_DIR", str(tmp_path))
    assert default_data_dir() == tmp_path
    with pytest.raises(DataError) as e:
        load_units()
    assert len(e.value.lines()) == 8  # every required file reported missing
    monkeypatch.delenv("SITING_DATA_DIR")
    assert default_data_dir() == DATA.resolve()


def test_bad_structure():
    with pytest.raises(ScenarioError, match="unknown structure"):
        load_units(structure="2023")


def test_corrupted_data_dir_reports_every_problem(tmp_path):
    d = tmp_path / "geo"
    shutil.copytree(DATA, d)
    der = pd.read_csv(d / "townships_derived.csv", dtype=str)
    der.loc[0, "population_2020_est"] = "-5"
    der.loc[1, "lon_wgs84"] = ""
    der.loc[2, ["lon_wgs84", "lat_wgs84"]] = [der.loc[2, "lat_wgs84"], der.loc[2, "lon_wgs84"]]
    der.to_csv(d / "townships_derived.csv", index=False)
    dist = pd.read_csv(d / "districts.csv", dtype=str)
    dist.loc[3, "pop_census2020"] = "many"
    dist.to_csv(d / "districts.csv", index=False)
    with pytest.raises(DataError) as e:
        load_townships(data_dir=d)
    text = str(e.value)
    fd, fc = d / "townships_derived.csv", d / "districts.csv"
    assert f"{fd}, row 1, column 'population_2020_est': population is negative" in text
    assert f"{fd}, row 2, column 'lon_wgs84': coordinate is missing" in text
    assert f"{fd}, row 3, column 'lon_wgs84,lat_wgs84': latitude and longitude look swapped" in text
    assert f"{fc}, row 4, column 'pop_census2020': population is missing or not a number" in text


# --- users' point files ---------------------------------------------------------------------------


def test_validate_points_every_problem(tmp_path):
    df = pd.DataFrame(
        {
            "id": ["a", "b", "b", "", "e", "f", "g"],
            "lon": ["106.5", "", "106.6", "106.7", "29.5", "200", "x"],
            "lat": ["29.5", "29.6", "nan", "29.7", "106.5", "29.0", "29.1"],
            "weight": ["1", "2", "-3", "4", "5", "", "7"],
        }
    )
    with pytest.raises(DataError) as e:
        validate_points(df, file="d.csv", id_col="id", lon_col="lon", lat_col="lat", weight_col="weight")
    lines = e.value.lines()
    expected = [
        "d.csv, row 4, column 'id': id is empty",
        "d.csv, row 3, column 'id': duplicate id 'b' (first in row 2)",
        "d.csv, row 2, column 'lon': coordinate is missing",
        "d.csv, row 3, column 'lat': coordinate is missing",
        "d.csv, row 7, column 'lon': coordinate is not a number",
        "d.csv, row 5, column 'lon,lat': latitude and longitude look swapped",
        "d.csv, row 6, column 'lon': longitude 200 is out of range [-180, 180]",
        "d.csv, row 3, column 'weight': weight is negative (-3)",
        "d.csv, row 6, column 'weight': weight is missing",
    ]
    for x in expected:
        assert any(line.startswith(x) for line in lines), (x, lines)
    assert len(lines) == len(expected)
    validate_points(df.iloc[:1], file="d.csv", id_col="id", lon_col="lon", lat_col="lat", weight_col="weight")


def test_read_points_csv_variants(tmp_path):
    rows = [("p1", 106.55, 29.56, 10.0), ("p2", 107.0, 30.0, 5.5)]
    # GBK-encoded, Chinese header for ids, plain lon/lat
    p = tmp_path / "gbk.csv"
    p.write_bytes("编码,名称,lng,latitude,demand\n".encode("gbk") + "".join(
        f"{i},网点{i},{x},{y},{w}\n" for i, x, y, w in rows).encode("gbk"))
    g = read_points(p)
    assert g["id"].tolist() == ["p1", "p2"] and g["weight"].tolist() == [10.0, 5.5]
    assert g["名称"].tolist() == ["网点p1", "网点p2"]
    np.testing.assert_allclose(g.geometry.x, [106.55, 107.0])
    assert g.crs.to_epsg() == 4326 and g.attrs["columns"]["coord_system"] == "wgs84"
    # UTF-8 with BOM, GCJ-02 columns by suffix -> converted to WGS84
    glon, glat = wgs84_to_gcj02(np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))
    p = tmp_path / "gcj.csv"
    p.write_text("id,lon_gcj02,lat_gcj02\n" + "".join(f"{r[0]},{float(x)!r},{float(y)!r}\n" for r, x, y in zip(rows, glon, glat)),
                 encoding="utf-8-sig")
    g = read_points(p)
    assert g.attrs["columns"]["coord_system"] == "gcj02"
    assert haversine_km(g["lon"], g["lat"], [106.55, 107.0], [29.56, 30.0]).max() < 1e-3
    assert (g["weight"] == 1.0).all()
    # BD-09 by option, projected CRS by option
    blon, blat = wgs84_to_bd09(106.55, 29.56)
    p = tmp_path / "bd.csv"
    p.write_text(f"name,x,y\nA,{float(blon)!r},{float(blat)!r}\n", encoding="utf-8")
    g = read_points(p, coord_system="bd09")
    assert g["id"].tolist() == ["1"] and haversine_km(g["lon"], g["lat"], 106.55, 29.56)[0] < 1e-3
    utm = gpd.GeoSeries(gpd.points_from_xy([106.55], [29.56]), crs=4326).to_crs(32648)
    p = tmp_path / "utm.csv"
    p.write_text(f"id,x,y\nA,{float(utm.x[0])!r},{float(utm.y[0])!r}\n", encoding="utf-8")
    g = read_points(p, crs="EPSG:32648")
    assert haversine_km(g["lon"], g["lat"], 106.55, 29.56)[0] < 1e-6


def test_read_points_vector_formats(tmp_path):
    g0 = gpd.GeoDataFrame({"code": ["a", "b"], "population": [3.0, 4.0]},
                          geometry=gpd.points_from_xy([106.5, 107.5], [29.5, 30.5]), crs=4326)
    for name in ("pts.gpkg", "pts.geojson", "pts.shp"):
        g0.to_crs(3857).to_file(tmp_path / name)
        g = read_points(tmp_path / name)
        assert g["id"].tolist() == ["a", "b"] and g["weight"].tolist() == [3.0, 4.0]
        np.testing.assert_allclose(g["lon"], [106.5, 107.5], atol=1e-9)
        assert g.crs.to_epsg() == 4326


@pytest.mark.filterwarnings("ignore:'crs' was not provided")  # the no-CRS shapefile is on purpose
def test_read_points_errors(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("id,lon,lat,weight\na,106.5,29.5,1\na,29.5,106.5,-2\nc,,29.5,1\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_points(p)
    text = str(e.value)
    assert f"{p}, row 2, column 'id': duplicate id 'a' (first in row 1)" in text
    assert f"{p}, row 2, column 'lon,lat': latitude and longitude look swapped" in text
    assert f"{p}, row 2, column 'weight': weight is negative (-2)" in text
    assert f"{p}, row 3, column 'lon': coordinate is missing" in text
    assert len(e.value.lines()) == 4

    with pytest.raises(DataError, match="unknown CRS 'EPSG:999999'"):
        read_points(p, crs="EPSG:999999")
    p2 = tmp_path / "nocrs.geojson"
    p2.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a"}, "geometry": {"type": "Point", "coordinates": [1, 2]}}]}))
    g = read_points(p2)  # GeoJSON is WGS84 by definition
    assert g.crs.to_epsg() == 4326
    p3 = tmp_path / "swapped.geojson"
    p3.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "a"}, "geometry": {"type": "Point", "coordinates": [29.5, 106.5]}}]}))
    with pytest.raises(DataError, match="row 1, column 'geometry x,geometry y': latitude and longitude look swapped"):
        read_points(p3)
    shp = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"id": ["a"]}, geometry=gpd.points_from_xy([106.0], [29.0])).to_file(shp)
    with pytest.raises(DataError, match="unknown CRS"):
        read_points(shp)
    assert read_points(shp, crs="EPSG:4326")["lon"].iloc[0] == 106.0
    poly = tmp_path / "poly.gpkg"
    gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.box(106, 29, 107, 30)], crs=4326).to_file(poly)
    with pytest.raises(DataError, match="row 1, column 'geometry': geometry is a Polygon"):
        read_points(poly)
    bad_bytes = tmp_path / "binary.csv"
    bad_bytes.write_bytes(b"id,lon,lat\n\xff\xfe\xfa\xfb,1,2\n\x81\x30")
    with pytest.raises(DataError, match="cannot decode the file as UTF-8 or GBK"):
        read_points(bad_bytes)
    nocols = tmp_path / "nocols.csv"
    nocols.write_text("id,a,b\n1,2,3\n")
    with pytest.raises(DataError, match="no longitude/latitude columns found"):
        read_points(nocols)
    with pytest.raises(DataError, match="file not found"):
        read_points(tmp_path / "missing.csv")
    with pytest.raises(DataError, match="unknown coordinate system"):
        read_points(p, coord_system="utm")


def test_bad_membership_file(tmp_path):
    d = tmp_path / "geo"
    shutil.copytree(DATA, d)
    m = pd.read_csv(d / "township_units.csv", dtype=str)
    m.loc[m["unit_2024"] == "zone_gaoxin", "unit_2024"] = "500106"  # the zone loses every township
    m.loc[0, "unit_2024"] = "zone_nowhere"
    m = m.drop(index=5)
    m.to_csv(d / "township_units.csv", index=False)
    with pytest.raises(DataError) as e:
        load_units(data_dir=d)
    text = str(e.value)
    fm, fp = d / "township_units.csv", d / "planning_units.csv"
    assert f"{fm}, row 1, column 'unit_2024': unit 'zone_nowhere' is not a structure-2024 unit" in text
    assert f"{fp}, row 40, column 'unit_id': unit 'zone_gaoxin' has no township" in text
    assert "has no row here" in text and "500101" in text
