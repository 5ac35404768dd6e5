"""Great-circle distances, sparse pairs within a radius, OD matrix files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from siting.geo.distance import EARTH_RADIUS_KM, distance_matrix_km, haversine_km, pairs_within
from siting.geo.od import ODMatrix, read_od_matrix
from siting.core.errors import DataError, InputError


def test_hand_computed_distances():
    # one degree of latitude on the mean-radius sphere: 2*pi*6371.0088/360
    assert float(haversine_km(106.0, 29.0, 106.0, 30.0)) == pytest.approx(111.19508, abs=1e-4)
    # a quarter of the equator
    assert float(haversine_km(0.0, 0.0, 90.0, 0.0)) == pytest.approx(math.pi / 2 * 6371.0088, rel=1e-12)
    # antipodes
    assert float(haversine_km(10.0, 20.0, -170.0, -20.0)) == pytest.approx(math.pi * 6371.0088, rel=1e-9)
    # 渝中区 seat to 万州区 seat, by the spherical law of cosines written out by hand
    lon1, lat1, lon2, lat2 = map(math.radians, (106.56888, 29.55275, 108.375671, 30.810082))
    c = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(lon2 - lon1)
    expected = 6371.0088 * math.acos(c)
    assert float(haversine_km(106.56888, 29.55275, 108.375671, 30.810082)) == pytest.approx(expected, rel=1e-9)
    assert 200 < expected < 240
    assert EARTH_RADIUS_KM == 6371.0088


def test_broadcasting_and_nan():
    a = np.array([106.0, 107.0, 108.0])
    d = haversine_km(a[:, None], 29.0, a[None, :], 29.0)
    assert d.shape == (3, 3)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-9)
    np.testing.assert_allclose(d, d.T)
    assert np.isnan(haversine_km(np.nan, 29.0, 106.0, 29.0))
    m = distance_matrix_km(a, [29.0] * 3, a[:2], [29.0] * 2, circuity=1.3)
    np.testing.assert_allclose(m, d[:, :2] * 1.3)


def _brute(la, pa, lb, pb, radius, circuity):
    d = haversine_km(la[:, None], pa[:, None], lb[None, :], pb[None, :]) * circuity
    ia, ib = np.nonzero(d <= radius)
    return ia, ib, d[ia, ib]


@pytest.mark.parametrize("radius,circuity", [(0.0, 1.0), (5.0, 1.0), (25.0, 1.3), (80.0, 1.25), (500.0, 1.0)])
def test_pairs_within_equals_brute_force(radius, circuity):
    rng = np.random.default_rng(20240611)
    la, pa = rng.uniform(105.3, 110.2, 400), rng.uniform(28.2, 32.2, 400)
    lb, pb = rng.uniform(105.3, 110.2, 250), rng.uniform(28.2, 32.2, 250)
    lb[:5], pb[:5] = la[:5], pa[:5]  # coincident points (distance 0)
    ia, ib, d = pairs_within(la, pa, lb, pb, radius, circuity=circuity)
    ea, eb, ed = _brute(la, pa, lb, pb, radius, circuity)  # np.nonzero is already sorted by (ia, ib)
    assert ia.dtype == np.int64 and ib.dtype == np.int64 and d.dtype == np.float64
    np.testing.assert_array_equal(ia, ea)
    np.testing.assert_array_equal(ib, eb)
    np.testing.assert_allclose(d, ed, rtol=1e-12)
    assert len(ia) >= 5


def test_pairs_within_across_the_antimeridian_and_poles():
    la, pa = np.array([179.99, 0.0]), np.array([0.0, 89.99])
    lb, pb = np.array([-179.99, 180.0]), np.array([0.0, 89.99])
    ia, ib, d = pairs_within(la, pa, lb, pb, 5.0)
    ea, eb, _ = _brute(la, pa, lb, pb, 5.0, 1.0)
    np.testing.assert_array_equal(ia, ea)
    np.testing.assert_array_equal(ib, eb)
    assert (0, 0) in set(zip(ia.tolist(), ib.tolist()))


def test_pairs_within_infinite_radius_and_empty():
    rng = np.random.default_rng(1)
    la, pa = rng.uniform(100, 110, 7), rng.uniform(20, 30, 7)
    ia, ib, d = pairs_within(la, pa, la[:3], pa[:3], np.inf, circuity=1.2)
    assert len(ia) == 21
    np.testing.assert_allclose(d, distance_matrix_km(la, pa, la[:3], pa[:3], circuity=1.2).ravel())
    ia, ib, d = pairs_within([], [], la, pa, 10.0)
    assert ia.size == ib.size == d.size == 0


def test_pairs_within_bad_input():
    with pytest.raises(DataError) as e:
        pairs_within([106.0, np.nan], [29.0, 29.0], [106.0], [91.0], 10.0)
    text = str(e.value)
    assert "points a, row 2, column 'lon'" in text
    assert "points b, row 1, column 'lat'" in text
    with pytest.raises(DataError, match="radius_km"):
        pairs_within([106.0], [29.0], [106.0], [29.0], -1.0)
    with pytest.raises(DataError, match="circuity"):
        pairs_within([106.0], [29.0], [106.0], [29.0], 1.0, circuity=0.5)


def _od_frame():
    return pd.DataFrame(
        {
            "from_id": ["a", "a", "b", "c"],
            "to_id": ["x", "y", "x", "y"],
            "distance_km": [1.5, 2.0, 0.0, 12.25],
            "time_min": [3.0, 4.0, 0.0, 20.0],
        }
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_read_od_matrix_and_lookup(tmp_path, fmt):
    p = tmp_path / f"od.{fmt}"
    df = _od_frame()
    df.to_csv(p, index=False) if fmt == "csv" else df.to_parquet(p, index=False)
    od = read_od_matrix(p)
    assert isinstance(od, ODMatrix) and len(od) == 4
    dist, time, found = od.lookup(["a", "c", "b", "z"], ["y", "y", "y", "x"])
    np.testing.assert_array_equal(found, [True, True, False, False])
    np.testing.assert_array_equal(dist[:2], [2.0, 12.25])
    assert np.isnan(dist[2:]).all()
    np.testing.assert_array_equal(time[:2], [4.0, 20.0])
    assert od.missing_pairs(["a", "b", "z"], ["y", "y", "x"]) == [("b", "y"), ("z", "x")]
    with pytest.raises(DataError) as e:
        od.require(["a", "b"], ["x", "y"])
    assert "no distance for pair from 'b' to 'y'" in str(e.value)


def test_od_matrix_without_time_and_numeric_ids(tmp_path):
    p = tmp_path / "od.csv"
    p.write_text("from_id,to_id,distance_km\n1,10,5\n2,10,7\n", encoding="utf-8")
    od = read_od_matrix(p)
    dist, time, found = od.lookup([1, 2], [10, 10])  # ids compared as strings
    assert time is None and found.all()
    np.testing.assert_array_equal(dist, [5.0, 7.0])


def test_od_matrix_every_problem_at_once(tmp_path):
    p = tmp_path / "bad_od.csv"
    p.write_text(
        "from_id,to_id,distance_km,time_min\n"
        "a,x,1.0,2\n"
        "a,y,-3,2\n"  # row 2 negative distance
        "b,x,inf,1\n"  # row 3 infinite
        "a,x,4.0,abc\n"  # row 4 duplicate pair + bad time
        "c,y,,1\n",  # row 5 missing distance
        encoding="utf-8",
    )
    with pytest.raises(DataError) as e:
        read_od_matrix(p)
    lines = e.value.lines()
    assert len(lines) == 5, lines
    joined = "\n".join(lines)
    assert f"{p}, row 2, column 'distance_km': value is negative" in joined
    assert f"{p}, row 3, column 'distance_km': value is not a finite number" in joined
    assert f"{p}, row 4, column 'time_min': value is not a finite number" in joined
    assert f"{p}, row 4, column 'from_id,to_id': duplicate pair ('a', 'x'), first seen in row 1" in joined
    assert f"{p}, row 5, column 'distance_km': value is missing" in joined


def test_od_matrix_missing_columns_and_file(tmp_path):
    p = tmp_path / "od.csv"
    p.write_text("origin,to_id,km\na,b,1\n", encoding="utf-8")
    with pytest.raises(DataError) as e:
        read_od_matrix(p)
    assert len(e.value.lines()) == 2
    assert "column 'from_id': required column is missing" in str(e.value)
    assert "column 'distance_km': required column is missing" in str(e.value)
    od = read_od_matrix(p, id_from="origin", distance_col="km")
    assert od.lookup(["a"], ["b"])[0][0] == 1.0
    with pytest.raises(InputError, match="file not found"):
        read_od_matrix(tmp_path / "nope.parquet")
