"""Reading road layers: formats, columns, coordinate systems (GCJ-02, BD-09), speeds and bad input."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from road_cases import STEP_DEG, STEP_KM, grid_lines

from siting.core.errors import DataError
from siting.geo import crs as gcrs
from siting.geo import load_townships
from siting.routing import (
    DEFAULT_SPEEDS,
    dataset_files,
    load_network,
    normalise_class,
    read_roads,
    road_od,
    roads_from_frame,
    save_network,
    speed_table,
)


def test_every_default_speed_has_a_source_and_chinese_classes_follow_jtg_b01():
    for cls, (kmh, source) in DEFAULT_SPEEDS.items():
        assert kmh > 0 and source.strip(), cls
    for cls in ("高速", "一级", "二级", "三级", "四级"):
        assert "JTG B01-2014" in DEFAULT_SPEEDS[cls][1]
    assert [DEFAULT_SPEEDS[c][0] for c in ("高速", "一级", "二级", "三级", "四级")] == sorted(
        [DEFAULT_SPEEDS[c][0] for c in ("高速", "一级", "二级", "三级", "四级")], reverse=True)
    assert normalise_class("一级公路") == "一级" and normalise_class(" Primary ") == "primary"
    assert normalise_class(None) is None and normalise_class(float("nan")) is None
    assert speed_table({"三级公路": 35})["三级"] == 35
    with pytest.raises(ValueError):
        speed_table({"三级": -5})


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson"])
def test_line_layer_files_with_speed_and_oneway_columns(tmp_path, suffix):
    gdf = grid_lines(4, 3).rename(columns={"road_class": "grade"})
    gdf["speed_kmh"] = np.nan
    gdf.loc[0, "speed_kmh"] = 30.0  # bottom row: its own speed beats the class
    gdf.loc[1, "oneway"] = "yes"  # middle row: eastbound only
    path = tmp_path / f"roads{suffix}"
    gdf.to_file(path)
    net = read_roads(path)
    lon = np.array([0.0, 3 * STEP_DEG, 0.0, 3 * STEP_DEG])
    lat = np.array([0.0, 0.0, STEP_DEG, STEP_DEG])
    od = road_od(net, lon, lat, lon, lat).set_index(["from_id", "to_id"])
    assert od.loc[(0, 1), "time_min"] == pytest.approx(3 * STEP_KM / 30 * 60, rel=1e-6)
    assert od.loc[(2, 3), "distance_km"] == pytest.approx(3 * STEP_KM, rel=1e-6)
    assert od.loc[(3, 2), "distance_km"] == pytest.approx(5 * STEP_KM, rel=1e-6)  # around by another row


def test_cache_key_covers_a_shapefiles_attributes_and_a_folder(tmp_path):
    # a Shapefile's speeds live in its .dbf: a new .dbf is a new network, not the cached one
    folder = tmp_path / "roads"
    folder.mkdir()
    gdf = grid_lines(4, 3)
    gdf["speed_kmh"] = 30.0
    gdf.to_file(folder / "roads.shp")
    cache = tmp_path / "cache"
    slow = read_roads(folder / "roads.shp", cache_dir=cache)
    gdf["speed_kmh"] = 60.0
    gdf.to_file(folder / "roads.shp")  # same geometry (.shp bytes), other speeds (.dbf)
    fast = read_roads(folder / "roads.shp", cache_dir=cache)
    assert len(list(cache.glob("network-*.npz"))) == 2
    assert 2 * fast.time_min.sum() == pytest.approx(slow.time_min.sum(), rel=1e-9)
    # a folder of Shapefiles is read and cached like a file
    whole = read_roads(folder, cache_dir=cache)
    again = read_roads(folder, cache_dir=cache)
    assert again.fingerprint == whole.fingerprint and len(list(cache.glob("network-*.npz"))) == 3
    assert [p.name for p in dataset_files(folder / "roads.shp")] == ["roads.shp", "roads.cpg", "roads.dbf",
                                                                    "roads.prj", "roads.shx"]
    assert dataset_files(folder) == sorted(folder.iterdir())


def test_projected_layer_is_reprojected():
    gdf = grid_lines(3, 3).to_crs("EPSG:32631")
    net = roads_from_frame(gdf)
    assert net.bounds() == pytest.approx((0.0, 0.0, 2 * STEP_DEG, 2 * STEP_DEG), abs=1e-9)


def test_snapping_tolerance_joins_ends_that_nearly_meet():
    a = shapely.linestrings([[0, 0], [STEP_DEG, 0]])
    b = shapely.linestrings([[STEP_DEG + 3e-5, 0], [2 * STEP_DEG, 0]])  # starts 3.3 m after a ends
    gdf = gpd.GeoDataFrame({"road_class": ["四级"] * 2}, geometry=[a, b], crs="EPSG:4326")
    assert roads_from_frame(gdf, snap_tolerance_m=5.0).n_nodes == 3
    apart = roads_from_frame(gdf, snap_tolerance_m=1.0)
    assert apart.n_nodes == 2 and len(apart.dropped) == 1


def _chongqing_layer() -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray]:
    """Roads through 60 surveyed township seats: a cross of 2 km arms with a vertex every 50 m at each, and
    a road from seat to seat joining them."""
    t = load_townships()
    t = t[~t["coord_estimated"].astype(bool)].iloc[:60]
    lon, lat = t.geometry.x.to_numpy(), t.geometry.y.to_numpy()
    arm = np.linspace(-0.01, 0.01, 41)
    lines = []
    for x, y in zip(lon, lat):
        lines.append(np.column_stack([x + arm, np.full(arm.size, y)]))
        lines.append(np.column_stack([np.full(arm.size, x), y + arm]))
    lines.append(np.column_stack([lon, lat]))
    gdf = gpd.GeoDataFrame({"highway": ["tertiary"] * len(lines)}, geometry=[shapely.linestrings(x) for x in lines],
                           crs="EPSG:4326")
    return gdf, lon, lat


def _shift(gdf: gpd.GeoDataFrame, fn) -> gpd.GeoDataFrame:
    xy = shapely.get_coordinates(gdf.geometry.to_numpy())
    x, y = fn(xy[:, 0], xy[:, 1])
    return gdf.set_geometry(shapely.set_coordinates(gdf.geometry.to_numpy().copy(), np.column_stack([x, y])))


def test_gcj02_layer_declared_as_wgs84_is_caught_and_converts_when_named(tmp_path):
    gdf, lon, lat = _chongqing_layer()
    assert roads_from_frame(gdf).crs_note == "wgs84"  # the true WGS84 layer passes the check
    gcj = _shift(gdf, gcrs.wgs84_to_gcj02)
    path = tmp_path / "amap_roads.geojson"
    gcj.to_file(path)
    with pytest.raises(DataError) as err:
        read_roads(path)
    assert len(err.value.defects) == 1 and "GCJ-02" in str(err.value) and 'crs="gcj02"' in str(err.value)
    net = read_roads(path, crs="gcj02")
    assert net.crs_note == "gcj02 -> wgs84"
    od = road_od(net, lon[:5], lat[:5], lon[:5], lat[:5], snap_max_km=0.05)
    assert od["access_km"].max() < 1e-3  # the seats are back on their roads
    assert read_roads(path, crs="wgs84").crs_note == "wgs84"  # naming the system skips the check


def test_bd09_layer_converts():
    gdf, lon, lat = _chongqing_layer()
    net = roads_from_frame(_shift(gdf, gcrs.wgs84_to_bd09), crs="bd09")
    od = road_od(net, lon[:3], lat[:3], lon[:3], lat[:3], snap_max_km=0.05)
    assert od["access_km"].max() < 1e-3


def test_bad_lines_are_all_reported_with_row_and_column(tmp_path):
    good = shapely.linestrings([[0, 0], [STEP_DEG, 0]])
    zero = shapely.linestrings([[0.001, 0.001], [0.001, 0.001]])
    gdf = gpd.GeoDataFrame(
        {"road_class": ["四级", "四级", "四级", "四级", "小路", "小路", "二级"],
         "oneway": ["no", "no", "no", "no", "no", "no", "sometimes"]},
        geometry=[good, zero, shapely.Point(0, 0), None, good, good, good], crs="EPSG:4326")
    path = tmp_path / "bad.gpkg"
    gdf.to_file(path)
    with pytest.raises(DataError) as err:
        read_roads(path)
    lines = err.value.lines()
    assert any("row 3" in x and "Point, not a line" in x and "'geometry'" in x for x in lines)
    assert any("row 4" in x and "missing" in x for x in lines)
    assert any("row 5" in x and "unknown road class '小路'" in x and "1 more rows" in x for x in lines)
    assert any("row 7" in x and "one-way value 'sometimes'" in x for x in lines)
    assert all(str(path) in x for x in lines)
    # the zero-length line is found once the others are fixed
    with pytest.raises(DataError, match=r"row 2, column 'geometry': zero-length line"):
        roads_from_frame(gdf.iloc[[0, 1]], source="bad.gpkg")


def test_unknown_class_passes_with_a_speed_or_a_default():
    gdf = grid_lines(3, 3, road_class="小路")
    with pytest.raises(DataError, match="unknown road class '小路'"):
        roads_from_frame(gdf)
    assert roads_from_frame(gdf, speeds={"小路": 12}).speed_kmh.max() == 12
    assert roads_from_frame(gdf, default_speed_kmh=9).speed_kmh.max() == 9


@pytest.mark.parametrize("gdf", [
    gpd.GeoDataFrame({"road_class": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326")),
    gpd.GeoDataFrame({"road_class": ["四级"]}, geometry=[shapely.linestrings([[1, 1], [1, 1]])], crs="EPSG:4326"),
])
def test_empty_network_is_an_error(gdf):
    with pytest.raises(DataError, match="empty"):
        roads_from_frame(gdf, source="empty.gpkg")


def test_missing_file_and_bad_crs_name(tmp_path):
    with pytest.raises(DataError, match="not found"):
        read_roads(tmp_path / "none.gpkg")
    with pytest.raises(DataError, match="crs must be one of"):
        roads_from_frame(grid_lines(2, 2), crs="utm")
    with pytest.raises(DataError, match="speed column 'v' not found"):
        roads_from_frame(grid_lines(2, 2), speed_col="v")


def test_edges_table_and_summary():
    net = roads_from_frame(grid_lines(3, 2))
    e = net.edges()
    assert list(e.columns) == ["tail", "head", "length_km", "time_min", "speed_kmh", "road_class", "line_row"]
    assert (e["road_class"] == "二级").all() and len(e) == net.n_edges
    assert net.total_km == pytest.approx(7 * STEP_KM, rel=1e-6)
    assert pd.Series(net.tail).is_monotonic_increasing
    with pytest.raises(ValueError):
        net.lon[0] = 1.0  # read-only


def test_network_cache_and_save_load_round_trip(tmp_path):
    path = tmp_path / "grid.gpkg"
    grid_lines(4, 4).to_file(path)
    first = read_roads(path, cache_dir=tmp_path / "cache")
    assert len(list((tmp_path / "cache").glob("network-*.npz"))) == 1
    again = read_roads(path, cache_dir=tmp_path / "cache")
    assert again.fingerprint == first.fingerprint and again.source == first.source
    np.testing.assert_array_equal(again.tail, first.tail)
    pd.testing.assert_frame_equal(again.components, first.components, check_dtype=False)
    read_roads(path, cache_dir=tmp_path / "cache", speeds={"二级": 50})
    assert len(list((tmp_path / "cache").glob("network-*.npz"))) == 2  # other options, other entry
    save_network(first, tmp_path / "n.npz")
    assert load_network(tmp_path / "n.npz").summary() == first.summary()
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(DataError, match="not a saved road network"):
        load_network(tmp_path / "junk.npz")
