"""Routing on generated networks with known distances: grid, river with one bridge, one-way, components."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from road_cases import STEP_DEG, STEP_KM, grid_lines, river_with_one_bridge

from siting.core.errors import DataError
from siting.routing import road_od, roads_from_frame, route_paths, snap_points


def _at(i, j):
    return STEP_DEG * i, STEP_DEG * j


def test_grid_distances_are_manhattan_and_times_follow_the_class_speed():
    net = roads_from_frame(grid_lines(8, 6))
    assert net.n_nodes == 48 and net.n_edges == 2 * (7 * 6 + 5 * 8)
    pts = [(0, 0), (7, 5), (3, 2), (6, 0)]
    lon, lat = np.array([_at(*p) for p in pts]).T
    od = road_od(net, lon, lat, lon, lat)
    assert len(od) == 16
    for _, r in od.iterrows():
        (a, b), (c, d) = pts[int(r["from_id"])], pts[int(r["to_id"])]
        expect = (abs(a - c) + abs(b - d)) * STEP_KM
        assert r["distance_km"] == pytest.approx(expect, rel=1e-5, abs=1e-6)
        assert r["time_min"] == pytest.approx(expect / 60.0 * 60.0, rel=1e-5, abs=1e-6)  # 二级: 60 km/h
        assert r["access_km"] == pytest.approx(0.0, abs=1e-6)


def test_points_between_nodes_enter_at_their_projection_and_pay_the_access_leg():
    net = roads_from_frame(grid_lines(5, 5))
    # a point 0.3 step east of (1, 1) and 0.2 step north of the row: projected onto the row line
    lon = np.array([STEP_DEG * 1.3, STEP_DEG * 3.0])
    lat = np.array([STEP_DEG * 1.2, STEP_DEG * 1.0])
    snapped = snap_points(net, lon, lat, snap_max_km=1.0)
    assert snapped.snap_km[0] == pytest.approx(0.2 * STEP_KM, rel=1e-3)
    assert snapped.t[0] == pytest.approx(0.3, abs=1e-3)
    od = road_od(net, lon[:1], lat[:1], lon[1:], lat[1:])
    r = od.iloc[0]
    assert r["access_km"] == pytest.approx(0.2 * STEP_KM, rel=1e-3)
    assert r["distance_km"] == pytest.approx((1.7 + 0.2) * STEP_KM, rel=1e-3)
    # access leg at 15 km/h, road part at 60 km/h
    assert r["time_min"] == pytest.approx(1.7 * STEP_KM + 0.2 * STEP_KM / 15 * 60, rel=1e-3)


def test_two_points_on_one_segment_use_the_segment_directly():
    net = roads_from_frame(grid_lines(3, 3))
    lon = np.array([STEP_DEG * 0.2, STEP_DEG * 0.7])
    lat = np.zeros(2)
    od = road_od(net, lon, lat, lon, lat)
    d = od.set_index(["from_id", "to_id"])["distance_km"]
    assert d[(0, 1)] == pytest.approx(0.5 * STEP_KM, rel=1e-6)
    assert d[(1, 0)] == pytest.approx(0.5 * STEP_KM, rel=1e-6)
    assert d[(0, 0)] == pytest.approx(0.0, abs=1e-6)


def test_river_with_one_bridge_forces_the_detour():
    n = 6
    net = roads_from_frame(river_with_one_bridge(n, bridge_row=0))
    # facing each other across the river at the top row: straight 1 step, by road down, across and up
    lon = np.array([STEP_DEG * (n - 1), STEP_DEG * n])
    lat = np.array([STEP_DEG * (n - 1)] * 2)
    od = road_od(net, lon[:1], lat[:1], lon[1:], lat[1:])
    assert od["distance_km"].iloc[0] == pytest.approx((2 * (n - 1) + 1) * STEP_KM, rel=1e-6)
    assert road_od(net, lon[:1], lat[:1], lon[1:], lat[1:], max_km=5 * STEP_KM).empty
    # the bridge is 二级 (60 km/h), the banks 三级 (30 km/h)
    assert od["time_min"].iloc[0] == pytest.approx(2 * (n - 1) * STEP_KM * 2 + STEP_KM, rel=1e-6)


def test_one_way_ring_is_long_one_way_round():
    # a square ring drawn anticlockwise, one-way: (0,0)->(1,0)->(1,1)->(0,1)->(0,0)
    ring = shapely.linestrings([[0, 0], [STEP_DEG, 0], [STEP_DEG, STEP_DEG], [0, STEP_DEG], [0, 0]])
    gdf = gpd.GeoDataFrame({"road_class": ["四级"], "oneway": ["yes"]}, geometry=[ring], crs="EPSG:4326")
    net = roads_from_frame(gdf)
    assert net.n_edges == 4
    lon, lat = np.array([0.0, STEP_DEG]), np.array([0.0, 0.0])
    d = road_od(net, lon, lat, lon, lat).set_index(["from_id", "to_id"])["distance_km"]
    assert d[(0, 1)] == pytest.approx(STEP_KM, rel=1e-6)
    assert d[(1, 0)] == pytest.approx(3 * STEP_KM, rel=1e-6)
    rev = gdf.assign(oneway=["-1"])
    d = road_od(roads_from_frame(rev), lon, lat, lon, lat).set_index(["from_id", "to_id"])["distance_km"]
    assert d[(0, 1)] == pytest.approx(3 * STEP_KM, rel=1e-6)


def test_one_way_dead_end_component_is_reported_and_dropped():
    base = grid_lines(4, 4)
    spur = shapely.linestrings([[3 * STEP_DEG, 0], [5 * STEP_DEG, 0]])  # leaves the grid, cannot come back
    gdf = pd.concat([base, gpd.GeoDataFrame({"road_class": ["四级"], "oneway": ["yes"]}, geometry=[spur],
                                            crs="EPSG:4326")], ignore_index=True)
    net = roads_from_frame(gdf)
    assert net.n_nodes == 16
    assert len(net.dropped) == 1 and net.dropped["n_nodes"].iloc[0] == 1


def test_disconnected_network_keeps_the_largest_part_and_says_where_the_others_are():
    big = grid_lines(6, 6)
    small = grid_lines(2, 3, lon0=0.5, lat0=0.5)
    net = roads_from_frame(pd.concat([big, small], ignore_index=True))
    assert net.n_nodes == 36
    d = net.dropped
    assert len(d) == 1
    assert d["n_nodes"].iloc[0] == 6
    assert d["length_km"].iloc[0] == pytest.approx(7 * STEP_KM, rel=1e-4)
    assert d["lon"].iloc[0] == pytest.approx(0.505, abs=1e-6) and d["lat"].iloc[0] == pytest.approx(0.51, abs=1e-6)
    assert "1 other components dropped" in net.summary()
    # a point on the dropped part is far from the kept network
    with pytest.raises(DataError) as err:
        road_od(net, [0.0], [0.0], [0.505], [0.51], snap_max_km=2.0)
    assert len(err.value.defects) == 1 and "row 1" in str(err.value) and "km from the nearest road" in str(err.value)


def test_far_points_each_get_a_line_or_are_skipped():
    net = roads_from_frame(grid_lines(5, 5))
    lon = np.array([0.0, 0.2, 0.01, 0.3])
    lat = np.array([0.0, 0.0, 0.01, 0.3])
    with pytest.raises(DataError) as err:
        road_od(net, lon, lat, lon, lat, from_ids=["a", "b", "c", "d"], to_ids=list("ABCD"), snap_max_km=3.0)
    lines = err.value.lines()
    assert len(lines) == 4  # b and d, as origins and as destinations
    assert any("point b" in x and "row 2" in x for x in lines) and any("point D" in x and "row 4" in x for x in lines)
    od = road_od(net, lon, lat, lon, lat, snap_max_km=3.0, far="skip")
    assert set(od["from_id"]) == {0, 2} and set(od["to_id"]) == {0, 2}


def test_network_that_does_not_overlap_the_points_is_one_line():
    net = roads_from_frame(grid_lines(5, 5))
    lon, lat = np.array([106.5, 106.6, 106.7]), np.array([29.5, 29.6, 29.7])
    with pytest.raises(DataError) as err:
        road_od(net, lon, lat, lon, lat)
    assert len(err.value.defects) == 1 and "does not overlap" in str(err.value)


def test_listed_pairs_small_batches_and_radius_agree_with_the_full_table():
    net = roads_from_frame(river_with_one_bridge(5))
    rng = np.random.default_rng(3)
    lon = rng.uniform(0, 9 * STEP_DEG, 25)
    lat = rng.uniform(0, 4 * STEP_DEG, 25)
    full = road_od(net, lon, lat, lon, lat, snap_max_km=5)
    assert len(full) == 625
    small = road_od(net, lon, lat, lon, lat, snap_max_km=5, batch_size=1)
    pd.testing.assert_frame_equal(full, small)
    radius = road_od(net, lon, lat, lon, lat, snap_max_km=5, max_km=4.0)
    pd.testing.assert_frame_equal(radius, full[full["distance_km"] <= 4.0].reset_index(drop=True))
    fastest = road_od(net, lon, lat, lon, lat, snap_max_km=5, max_min=10.0)
    assert (fastest["time_min"] <= 10.0).all()
    by_time = road_od(net, lon, lat, lon, lat, snap_max_km=5, weight="time")
    assert (by_time["time_min"].to_numpy() <= full["time_min"].to_numpy() + 1e-9).all()
    assert (by_time["distance_km"].to_numpy() >= full["distance_km"].to_numpy() - 1e-9).all()
    pairs = (np.array([0, 3, 7]), np.array([5, 5, 24]))
    listed = road_od(net, lon, lat, lon, lat, snap_max_km=5, pairs=pairs)
    expect = full.set_index(["from_id", "to_id"]).loc[list(zip(*pairs))].reset_index()
    pd.testing.assert_frame_equal(listed, expect, check_dtype=False)


def test_route_paths_follow_the_road():
    n = 4
    net = roads_from_frame(river_with_one_bridge(n))
    lon = np.array([STEP_DEG * (n - 1)])
    lat = np.array([STEP_DEG * (n - 1)])
    lines = route_paths(net, lon, lat, lon + STEP_DEG, lat, pairs=([0], [0]), from_ids=["west"], to_ids=["east"])
    assert len(lines) == 1 and lines["from_id"].iloc[0] == "west"
    geom = lines.geometry.iloc[0]
    xy = shapely.get_coordinates(geom)
    assert xy[:, 1].min() == pytest.approx(0.0)  # goes down to the bridge row
    from siting.geo import haversine_km

    along = haversine_km(xy[:-1, 0], xy[:-1, 1], xy[1:, 0], xy[1:, 1]).sum()
    assert along == pytest.approx(lines["distance_km"].iloc[0], rel=1e-6)


def test_dask_client_gives_the_same_table():
    distributed = pytest.importorskip("dask.distributed")
    net = roads_from_frame(grid_lines(6, 6))
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(0, 0.05, 12), rng.uniform(0, 0.05, 12)
    local = road_od(net, lon, lat, lon, lat, batch_size=3)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        remote = road_od(net, lon, lat, lon, lat, batch_size=3, client=client)
    pd.testing.assert_frame_equal(local, remote)


def test_cache_returns_the_same_table_and_changes_with_the_points(tmp_path):
    net = roads_from_frame(grid_lines(5, 5))
    lon, lat = np.array([0.0, 0.02, 0.04]), np.array([0.0, 0.01, 0.04])
    first = road_od(net, lon, lat, lon, lat, cache_dir=tmp_path, with_paths=True)
    files = list(tmp_path.glob("*.parquet"))
    assert len(files) == 1
    again = road_od(net, lon, lat, lon, lat, cache_dir=tmp_path, with_paths=True)
    pd.testing.assert_frame_equal(first.drop(columns="path"), again.drop(columns="path"))
    assert all(np.array_equal(a, b) for a, b in zip(first["path"], again["path"]))
    road_od(net, lon + 0.001, lat, lon, lat, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.parquet"))) == 2
    assert not list(tmp_path.glob(".road_od-*"))  # no temporary file left
