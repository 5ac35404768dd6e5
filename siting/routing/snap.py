"""Snap points to a road network: projection onto the nearest road segment.

A point is placed at the nearest point of the nearest segment (a pair of adjacent nodes), measured in a
local azimuthal-equidistant projection. It then enters the network at both ends of that segment, at the
distance along the segment from its projection (:func:`siting.routing.road_od` adds these partial
segments, honouring one-way). The straight leg from the point to its projection is the *snap distance*.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from siting.core.errors import DataError, DefectCollector
from siting.routing.network import RoadNetwork, local_projection

__all__ = ["Snapped", "segments", "snap_points"]


@dataclass(frozen=True)
class _Segments:
    u: np.ndarray  # lower node id
    v: np.ndarray  # higher node id
    e_uv: np.ndarray  # edge index u -> v, -1 if none (one-way)
    e_vu: np.ndarray  # edge index v -> u, -1 if none
    length_km: np.ndarray
    tree: shapely.STRtree
    proj: object


_SEGMENTS: weakref.WeakKeyDictionary[RoadNetwork, _Segments] = weakref.WeakKeyDictionary()


def segments(net: RoadNetwork) -> _Segments:
    """The undirected segments of ``net`` with a spatial index (built once per network)."""
    seg = _SEGMENTS.get(net)
    if seg is not None:
        return seg
    lo = np.minimum(net.tail, net.head)
    hi = np.maximum(net.tail, net.head)
    key = lo * net.n_nodes + hi
    uniq, inv = np.unique(key, return_inverse=True)
    e_uv = np.full(uniq.size, -1, np.int64)
    e_vu = np.full(uniq.size, -1, np.int64)
    idx = np.arange(net.n_edges)
    fwd = net.tail < net.head
    # with parallel edges, keep the shortest one in each direction
    order = np.argsort(-net.length_km, kind="stable")
    for mask, target in ((fwd, e_uv), (~fwd, e_vu)):
        o = order[mask[order]]
        target[inv[o]] = idx[o]
    u, v = uniq // net.n_nodes, uniq % net.n_nodes
    either = np.where(e_uv >= 0, e_uv, e_vu)
    proj = local_projection(float(np.median(net.lon)), float(np.median(net.lat)))
    x, y = proj.transform(net.lon, net.lat)
    x, y = np.asarray(x), np.asarray(y)
    lines = shapely.linestrings(np.stack([np.column_stack([x[u], y[u]]), np.column_stack([x[v], y[v]])], axis=1))
    seg = _Segments(u=u, v=v, e_uv=e_uv, e_vu=e_vu, length_km=net.length_km[either],
                    tree=shapely.STRtree(lines), proj=proj)
    _SEGMENTS[net] = seg
    return seg


@dataclass(frozen=True)
class Snapped:
    """Points placed on a road network.

    Attributes
    ----------
    lon, lat : (n,)
        The points, WGS84.
    u, v : int64 (n,)
        Segment each point is placed on (node ids, ``u < v``).
    t : float64 (n,)
        Position along the segment, 0 at ``u`` and 1 at ``v``.
    snap_km : float64 (n,)
        Straight distance from the point to its place on the road, km.
    road_lon, road_lat : (n,)
        The place on the road, WGS84.
    snap_max_km : float
    """

    lon: np.ndarray
    lat: np.ndarray
    u: np.ndarray
    v: np.ndarray
    t: np.ndarray
    snap_km: np.ndarray
    road_lon: np.ndarray
    road_lat: np.ndarray
    snap_max_km: float

    @property
    def far(self) -> np.ndarray:
        """Boolean mask of the points farther than ``snap_max_km`` from any road."""
        return self.snap_km > self.snap_max_km

    def far_table(self, ids: ArrayLike | None = None) -> pd.DataFrame:
        """The far points: ``row`` (1-based), ``id``, ``lon``, ``lat``, ``snap_km``."""
        idx = np.flatnonzero(self.far)
        ids_a = np.arange(1, self.lon.size + 1) if ids is None else np.asarray(ids)
        return pd.DataFrame({"row": idx + 1, "id": ids_a[idx], "lon": self.lon[idx], "lat": self.lat[idx],
                             "snap_km": self.snap_km[idx]})


def snap_points(net: RoadNetwork, lon: ArrayLike, lat: ArrayLike, *, snap_max_km: float = 2.0) -> Snapped:
    """Snap WGS84 points to the nearest road segment of ``net``.

    Parameters
    ----------
    net
        The road network.
    lon, lat
        Points, WGS84 degrees (1-D, finite).
    snap_max_km
        Points farther than this from any road are flagged in :attr:`Snapped.far` (not an error here;
        :func:`~siting.routing.road_od` decides).

    Raises
    ------
    DataError
        Coordinates that are missing or out of range (one line per point).
    """
    lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    found = DefectCollector("points")
    if lon.shape != lat.shape or lon.ndim != 1:
        found.add(f"lon and lat must be 1-D arrays of the same length, got {lon.shape} and {lat.shape}")
        found.raise_if_any(DataError)
    for i in np.flatnonzero(~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))):
        found.add(f"coordinates missing or out of range ({lon[i]}, {lat[i]})", row=int(i) + 1, column="lon,lat")
    found.raise_if_any(DataError)
    seg = segments(net)
    px, py = seg.proj.transform(lon, lat)
    px, py = np.atleast_1d(px), np.atleast_1d(py)
    if lon.size == 0:
        e = np.empty(0)
        return Snapped(lon, lat, e.astype(np.int64), e.astype(np.int64), e, e, e, e, float(snap_max_km))
    hit, dist_m = seg.tree.query_nearest(shapely.points(px, py), return_distance=True, all_matches=False)
    which = np.empty(lon.size, np.int64)
    which[hit[0]] = hit[1]
    dist = np.empty(lon.size)
    dist[hit[0]] = dist_m
    u, v = seg.u[which], seg.v[which]
    ux, uy = seg.proj.transform(net.lon[u], net.lat[u])
    vx, vy = seg.proj.transform(net.lon[v], net.lat[v])
    dx, dy = np.asarray(vx) - ux, np.asarray(vy) - uy
    den = dx * dx + dy * dy
    t = np.where(den > 0, ((px - ux) * dx + (py - uy) * dy) / np.where(den > 0, den, 1.0), 0.0)
    t = np.clip(t, 0.0, 1.0)
    road_lon = net.lon[u] + t * (net.lon[v] - net.lon[u])
    road_lat = net.lat[u] + t * (net.lat[v] - net.lat[u])
    return Snapped(lon=lon, lat=lat, u=u, v=v, t=t, snap_km=dist / 1000.0, road_lon=road_lon, road_lat=road_lat,
                   snap_max_km=float(snap_max_km))
