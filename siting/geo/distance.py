"""Distances: great-circle (haversine), sparse pairs within a radius, and user origin–destination matrices.

Road distances are estimated as ``great-circle distance × circuity``. The library default circuity is
**1.0** (pure great circle). Road detour factors of about **1.2–1.4** are typical for regional road
networks (assumption, from the facility-location literature's usual range; calibrate it on a few known
road distances of your region, or supply a real OD matrix with :func:`read_od_matrix`).

The Earth is a sphere of mean radius :data:`EARTH_RADIUS_KM` = 6371.0088 km (the IUGG mean radius
R1 = (2a + b) / 3 of the WGS84 ellipsoid). Spherical great-circle distances differ from ellipsoidal
geodesics by at most about 0.5 %.
"""

from __future__ import annotations

import math
import numpy as np
from numpy.typing import ArrayLike
from scipy.spatial import cKDTree
from siting.core.errors import DataError, DefectCollector


EARTH_RADIUS_KM = 6371.0088


"""Mean Earth radius (IUGG R1 of WGS84), km."""


def haversine_km(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> np.ndarray:
    """Great-circle distance in km between points given in degrees (WGS84), with numpy broadcasting.

    Parameters
    ----------
    lon1, lat1, lon2, lat2
        Degrees; any shapes that broadcast together (e.g. ``lon1[:, None]`` against ``lon2[None, :]``
        for a full matrix).

    Returns
    -------
    numpy.ndarray
        Distances in km on a sphere of radius :data:`EARTH_RADIUS_KM`; NaN where an input is NaN.

    Examples
    --------
    >>> round(float(haversine_km(0.0, 0.0, 0.0, 1.0)), 3)  # one degree of latitude
    111.195
    """
    lam1, phi1, lam2, phi2 = (np.radians(np.asarray(v, dtype=np.float64)) for v in (lon1, lat1, lon2, lat2))
    s_dphi = np.sin((phi2 - phi1) / 2.0)
    s_dlam = np.sin((lam2 - lam1) / 2.0)
    h = s_dphi * s_dphi + np.cos(phi1) * np.cos(phi2) * s_dlam * s_dlam
    return 2.0 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _unit_xyz(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lam, phi = np.radians(lon), np.radians(lat)
    c = np.cos(phi)
    return np.column_stack([c * np.cos(lam), c * np.sin(lam), np.sin(phi)])


def _check_coords(
    name: str, lon: ArrayLike, lat: ArrayLike, found: DefectCollector
) -> tuple[np.ndarray, np.ndarray]:
    """Flatten to float64 and record missing / out-of-range coordinates (rows are 1-based)."""
    lon_a = np.asarray(lon, dtype=np.float64).ravel()
    lat_a = np.asarray(lat, dtype=np.float64).ravel()
    if lon_a.shape != lat_a.shape:
        found.add(f"{lon_a.size} longitudes but {lat_a.size} latitudes", file=name)
        return lon_a, lat_a
    for col, arr, lim in (("lon", lon_a, 180.0), ("lat", lat_a, 90.0)):
        bad = np.flatnonzero(~np.isfinite(arr) | (np.abs(arr) > lim))
        for i in bad[:20]:
            what = "is missing" if np.isnan(arr[i]) else f"{float(arr[i]):g} is out of range [-{lim:g}, {lim:g}]"
            found.add(f"coordinate {what}", file=name, row=int(i) + 1, column=col)
        if bad.size > 20:
            found.add(f"... and {bad.size - 20} more bad values", file=name, column=col)
    return lon_a, lat_a


def _check_all(
    lon_a: ArrayLike, lat_a: ArrayLike, lon_b: ArrayLike, lat_b: ArrayLike, radius_km: float, circuity: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    found = DefectCollector()
    la, pa = _check_coords("points a", lon_a, lat_a, found)
    lb, pb = _check_coords("points b", lon_b, lat_b, found)
    if not (radius_km >= 0):  # also rejects NaN
        found.add(f"radius_km must be >= 0, got {radius_km!r}", column="radius_km")
    if not (np.isfinite(circuity) and circuity >= 1.0):
        found.add(f"circuity must be a finite number >= 1, got {circuity!r}", column="circuity")
    found.raise_if_any(DataError)
    return la, pa, lb, pb


def pairs_within(
    lon_a: ArrayLike,
    lat_a: ArrayLike,
    lon_b: ArrayLike,
    lat_b: ArrayLike,
    radius_km: float,
    *,
    circuity: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All pairs (a, b) whose estimated road distance ``great-circle × circuity`` is at most ``radius_km``.

    Uses a k-d tree (:class:`scipy.spatial.cKDTree`) on 3-D unit-sphere coordinates: a great-circle
    radius ``r`` is the chord ``2 sin(r / 2R)``, so the candidate search is exact on the sphere and never
    builds an n×m matrix. Candidates are then filtered by the exact haversine distance. With
    ``radius_km = inf`` every pair is returned (dense, n·m rows).

    Parameters
    ----------
    lon_a, lat_a, lon_b, lat_b
        WGS84 degrees of the two point sets (1-D, same length within a set).
    radius_km
        Maximum road-estimate distance, km (``>= 0``, may be ``inf``).
    circuity
        Road-detour factor applied to great-circle distances (``>= 1``; library default 1.0, typical
        road networks 1.2–1.4 — assumption).

    Returns
    -------
    (ia, ib, distance_km)
        int64 indices into a and b, and float64 road-estimate distances (great-circle × circuity),
        sorted by (ia, ib).
    """
    la, pa, lb, pb = _check_all(lon_a, lat_a, lon_b, lat_b, radius_km, circuity)
    gc_max_km = radius_km / circuity
    if la.size == 0 or lb.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty.copy(), np.empty(0, dtype=np.float64)
    if gc_max_km >= math.pi * EARTH_RADIUS_KM:  # covers the whole sphere (incl. inf): dense
        ia = np.repeat(np.arange(la.size, dtype=np.int64), lb.size)
        ib = np.tile(np.arange(lb.size, dtype=np.int64), la.size)
    else:
        chord = 2.0 * math.sin(gc_max_km / (2.0 * EARTH_RADIUS_KM))
        chord = chord * (1.0 + 1e-9) + 1e-12  # never lose a boundary pair to rounding; exact filter below
        tree_b = cKDTree(_unit_xyz(lb, pb))
        hits = tree_b.query_ball_point(_unit_xyz(la, pa), r=chord, return_sorted=False)
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        ia = np.repeat(np.arange(la.size, dtype=np.int64), counts)
        ib = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits]) if counts.sum() else np.empty(0, np.int64)
    d_km = haversine_km(la[ia], pa[ia], lb[ib], pb[ib]) * circuity
    keep = d_km <= radius_km
    ia, ib, d_km = ia[keep], ib[keep], d_km[keep]
    order = np.lexsort((ib, ia))
    return ia[order], ib[order], d_km[order].astype(np.float64)


def nearest_km(lon: ArrayLike, lat: ArrayLike, to_lon: ArrayLike, to_lat: ArrayLike, *,
               skip: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Great-circle distance (km) from each point to its nearest target, and that target's index.

    A k-d tree on unit-sphere coordinates finds the nearest target (the nearest chord is the nearest arc);
    the distance is then the haversine one. ``skip[i]``, when given, is a target index that does not count
    for point ``i`` (``-1``: none), e.g. the same record read as both a point and a target. A point with no
    target left gets ``inf`` and index ``-1``.

    Examples
    --------
    >>> km, idx = nearest_km([0.0], [0.0], [0.0, 0.0], [2.0, 1.0])
    >>> round(float(km[0]), 3), int(idx[0])
    (111.195, 1)
    >>> km, idx = nearest_km([0.0], [0.0], [0.0, 0.0], [2.0, 1.0], skip=[1])
    >>> round(float(km[0]), 3), int(idx[0])
    (222.39, 0)
    """
    la, pa = np.asarray(lon, dtype=np.float64).ravel(), np.asarray(lat, dtype=np.float64).ravel()
    lb, pb = np.asarray(to_lon, dtype=np.float64).ravel(), np.asarray(to_lat, dtype=np.float64).ravel()
    if la.size == 0 or lb.size == 0:
        return np.full(la.size, np.inf), np.full(la.size, -1, dtype=np.int64)
    tree = cKDTree(_unit_xyz(lb, pb))
    if skip is None:
        _, idx = tree.query(_unit_xyz(la, pa))
        idx = np.asarray(idx, dtype=np.int64)
    else:
        # the two nearest: the first unless it is the one to skip (ties at the same place are both returned)
        _, two = tree.query(_unit_xyz(la, pa), k=2)
        two = np.asarray(two, dtype=np.int64).reshape(la.size, 2)
        two = np.where(two >= lb.size, -1, two)  # cKDTree's "no such neighbour"
        idx = np.where(two[:, 0] == np.asarray(skip, dtype=np.int64).ravel(), two[:, 1], two[:, 0])
    found = idx >= 0
    km = np.full(la.size, np.inf)
    km[found] = haversine_km(la[found], pa[found], lb[idx[found]], pb[idx[found]])
    return km, idx


def distance_matrix_km(
    lon_a: ArrayLike, lat_a: ArrayLike, lon_b: ArrayLike, lat_b: ArrayLike, *, circuity: float = 1.0
) -> np.ndarray:
    """Dense n×m matrix of road-estimate distances (great-circle × circuity), km.

    Use for small problems only; :func:`pairs_within` is the sparse alternative.
    """
    la, pa, lb, pb = _check_all(lon_a, lat_a, lon_b, lat_b, 0.0, circuity)
    return haversine_km(la[:, None], pa[:, None], lb[None, :], pb[None, :]) * circuity
