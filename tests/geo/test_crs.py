"""GCJ-02 / BD-09 / WGS84 conversions: published values, exact inverses, round trips over China."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting.geo.crs import bd09_to_gcj02, bd09_to_wgs84, gcj02_to_bd09, gcj02_to_wgs84, out_of_china, wgs84_to_bd09, wgs84_to_gcj02
from siting.geo.distance import haversine_km

DATA = Path(__file__).resolve().parents[2] / "data" / "geo"


def _china_grid():
    lon, lat = np.meshgrid(np.arange(73.5, 135.01, 0.25), np.arange(18.0, 53.51, 0.25))
    return lon.ravel(), lat.ravel()


def test_published_forward_values():
    # values printed in the README of the widely used `coordTransform` library (wandergis), Beijing
    lon, lat = wgs84_to_gcj02(116.404, 39.915)
    assert lon == pytest.approx(116.41024449916938, abs=1e-12)
    assert lat == pytest.approx(39.91640428150164, abs=1e-12)
    lon, lat = gcj02_to_bd09(116.404, 39.915)
    assert lon == pytest.approx(116.41036949371029, abs=1e-12)
    assert lat == pytest.approx(39.92133699351021, abs=1e-12)
    # that library's *approximate* inverses agree with our exact ones to a few cm
    lon, lat = bd09_to_gcj02(116.404, 39.915)
    assert haversine_km(lon, lat, 116.39762729119315, 39.90865673957631) < 1e-4
    lon, lat = gcj02_to_wgs84(116.404, 39.915)
    assert haversine_km(lon, lat, 116.39775550083061, 39.91359571849836) < 1e-4


def test_district_seats_match_the_data_builders_conversion():
    # districts.csv was converted GCJ-02 -> WGS84 independently (rounded to 6 decimals)
    d = pd.read_csv(DATA / "districts.csv")
    lon, lat = gcj02_to_wgs84(d["seat_lon_gcj02"].to_numpy(), d["seat_lat_gcj02"].to_numpy())
    assert np.abs(lon - d["seat_lon_wgs84"]).max() < 1e-6
    assert np.abs(lat - d["seat_lat_wgs84"]).max() < 1e-6


def test_gcj02_round_trip_better_than_1_m_over_china():
    lon, lat = _china_grid()
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    w_lon, w_lat = gcj02_to_wgs84(g_lon, g_lat)
    assert haversine_km(lon, lat, w_lon, w_lat).max() * 1000 < 1.0
    # exact inverse: the forward formula reproduces the GCJ-02 input to < 1 cm
    f_lon, f_lat = wgs84_to_gcj02(*gcj02_to_wgs84(g_lon, g_lat))
    assert haversine_km(g_lon, g_lat, f_lon, f_lat).max() * 1000 < 0.01
    # and the shift is real (hundreds of metres) inside China
    shift_m = haversine_km(lon, lat, g_lon, g_lat) * 1000
    assert np.median(shift_m) > 100


def test_bd09_round_trips():
    lon, lat = _china_grid()
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    w_lon, w_lat = bd09_to_wgs84(b_lon, b_lat)
    assert haversine_km(lon, lat, w_lon, w_lat).max() * 1000 < 1.0
    g_lon, g_lat = bd09_to_gcj02(b_lon, b_lat)
    f_lon, f_lat = gcj02_to_bd09(g_lon, g_lat)
    assert haversine_km(b_lon, b_lat, f_lon, f_lat).max() * 1000 < 0.01


def test_outside_china_is_unchanged_and_nan_propagates():
    lon = np.array([2.35, -74.0, 151.2, np.nan, 106.5])
    lat = np.array([48.85, 40.7, -33.9, 29.5, np.nan])
    assert out_of_china(lon, lat).tolist() == [True, True, True, True, True]
    for fn in (wgs84_to_gcj02, gcj02_to_wgs84):
        o_lon, o_lat = fn(lon, lat)
        np.testing.assert_array_equal(o_lon, lon)
        np.testing.assert_array_equal(o_lat, lat)


def test_shapes_and_scalars():
    lon, lat = wgs84_to_gcj02(np.full((3, 4), 106.5), 29.5)  # broadcasting
    assert lon.shape == lat.shape == (3, 4)
    s_lon, s_lat = gcj02_to_wgs84(106.5, 29.5)
    assert np.ndim(s_lon) == 0 and np.ndim(s_lat) == 0


hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None)
@given(st.floats(72.1, 137.8), st.floats(0.9, 55.8))
def test_gcj02_inverse_property(lon, lat):
    w_lon, w_lat = gcj02_to_wgs84(lon, lat)
    f_lon, f_lat = wgs84_to_gcj02(w_lon, w_lat)
    assert abs(f_lon - lon) < 1e-9 and abs(f_lat - lat) < 1e-9
