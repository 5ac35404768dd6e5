"""Conversions between WGS84 and the Chinese map coordinate systems GCJ-02 and BD-09.

Chinese web maps (Amap/高德, Tencent, Google China) publish coordinates in **GCJ-02**, an obfuscated
datum that shifts WGS84 points by a few hundred metres; Baidu uses **BD-09**, a further shift of GCJ-02.
Coordinates from those services must be converted to WGS84 (EPSG:4326) before they are mixed with
anything else.

* :func:`wgs84_to_gcj02` is the widely published closed-form formula (Krasovsky 1940 ellipsoid,
  ``a = 6378245.0``, ``ee = 0.00669342162296594323``). Like that formula, it does **not** shift points
  outside a rectangle around China (longitude 72.004–137.8347, latitude 0.8293–55.8271): there GCJ-02
  equals WGS84.
* :func:`gcj02_to_wgs84` inverts the formula **exactly** by fixed-point iteration
  ``w <- w - (F(w) - g)``; the residual ``|F(w) - g|`` is below 1e-9 degrees (about 0.1 mm). The
  formula itself reproduces the official transformation to about 1–2 m.
* BD-09 is GCJ-02 with Baidu's published rotation/scaling (``x_pi = pi * 3000 / 180``, offsets
  0.0065/0.006 degrees). :func:`bd09_to_gcj02` also iterates to an exact inverse of the forward formula.

All functions are vectorised over numpy arrays (any broadcastable shapes), propagate NaN, and return
``(lon, lat)`` as float64 arrays (numpy scalars for scalar input).

Examples
--------
>>> lon, lat = wgs84_to_gcj02(106.55, 29.56)
>>> w_lon, w_lat = gcj02_to_wgs84(lon, lat)
>>> bool(abs(w_lon - 106.55) < 1e-9 and abs(w_lat - 29.56) < 1e-9)
True
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "wgs84_to_gcj02",
    "gcj02_to_wgs84",
    "gcj02_to_bd09",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "wgs84_to_bd09",
    "out_of_china",
]

_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid used by GCJ-02 (m)
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0  # BD-09 constant
_TOL_DEG = 1e-10  # iteration stop: 1e-10 degree is about 0.01 mm
_MAX_ITER = 50


def _as_float(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return lon_a.copy(), lat_a.copy()


def _out(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # 0-d arrays come back as numpy scalars
    return lon[()], lat[()]


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """True where the GCJ-02 formula applies no shift (outside the China bounding rectangle).

    NaN coordinates count as outside (they are left unchanged, i.e. NaN).
    """
    lon_a, lat_a = _as_float(lon, lat)
    inside = (lon_a >= 72.004) & (lon_a <= 137.8347) & (lat_a >= 0.8293) & (lat_a <= 55.8271)
    return ~inside


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS84 shift (degrees) at WGS84 point (lon, lat); zero outside China."""
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    six = 20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx
    dlat = dlat + six * 2.0 / 3.0
    dlat = dlat + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx
    dlon = dlon + six * 2.0 / 3.0
    dlon = dlon + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = out_of_china(lon, lat)
    dlon = np.where(outside, 0.0, dlon)
    dlat = np.where(outside, 0.0, dlat)
    return dlon, dlat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 longitude/latitude (degrees) to GCJ-02 with the standard closed-form formula.

    Parameters
    ----------
    lon, lat
        WGS84 degrees, scalars or broadcastable arrays.

    Returns
    -------
    (lon, lat)
        GCJ-02 degrees; unchanged outside China (see :func:`out_of_china`); NaN stays NaN.
    """
    lon_a, lat_a = _as_float(lon, lat)
    dlon, dlat = _delta(lon_a, lat_a)
    return _out(lon_a + dlon, lat_a + dlat)


def _invert(forward, lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Invert ``forward`` at (lon, lat) by the fixed-point iteration ``w <- w - (forward(w) - target)``."""
    t_lon, t_lat = _as_float(lon, lat)
    w_lon, w_lat = t_lon.copy(), t_lat.copy()
    for _ in range(_MAX_ITER):
        f_lon, f_lat = forward(w_lon, w_lat)
        e_lon = np.asarray(f_lon) - t_lon
        e_lat = np.asarray(f_lat) - t_lat
        w_lon = w_lon - e_lon
        w_lat = w_lat - e_lat
        err = np.maximum(np.abs(e_lon), np.abs(e_lat))
        if not np.any(err > _TOL_DEG):  # NaN compares False: NaN inputs do not block convergence
            break
    return _out(w_lon, w_lat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 longitude/latitude to WGS84, the exact inverse of :func:`wgs84_to_gcj02`.

    Iterates until ``wgs84_to_gcj02(result)`` matches the input to 1e-10 degrees (< 1 cm; in practice
    3–5 iterations). Outside China the input is returned unchanged, as the forward formula does.
    """
    return _invert(wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 to Baidu BD-09 (the published forward formula)."""
    x, y = _as_float(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return _out(z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert Baidu BD-09 to GCJ-02, the exact (iterated) inverse of :func:`gcj02_to_bd09`."""
    return _invert(gcj02_to_bd09, lon, lat)


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert Baidu BD-09 to WGS84 (BD-09 → GCJ-02 → WGS84, both exact inverses)."""
    g_lon, g_lat = bd09_to_gcj02(lon, lat)
    return gcj02_to_wgs84(g_lon, g_lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS84 to Baidu BD-09 (WGS84 → GCJ-02 → BD-09)."""
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    return gcj02_to_bd09(g_lon, g_lat)
