"""Road paths as lines, for drawing flows along the roads on a map."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike

from siting.routing.network import RoadNetwork
from siting.routing.route import road_od
from siting.routing.snap import snap_points

__all__ = ["route_paths"]


def route_paths(
    net: RoadNetwork,
    from_lon: ArrayLike,
    from_lat: ArrayLike,
    to_lon: ArrayLike,
    to_lat: ArrayLike,
    *,
    pairs: tuple[ArrayLike, ArrayLike],
    from_ids: ArrayLike | None = None,
    to_ids: ArrayLike | None = None,
    weight: str = "distance",
    snap_max_km: float = 2.0,
    far: str = "skip",
) -> gpd.GeoDataFrame:
    """The road path of each listed pair as a WGS84 LineString (point -> road -> ... -> road -> point).

    Parameters
    ----------
    pairs
        ``(from_index, to_index)`` positions into the two point lists (e.g. the flows of a solution).
    Other parameters
        As :func:`~siting.routing.road_od`; far points are skipped by default (no line drawn).

    Returns
    -------
    geopandas.GeoDataFrame (EPSG:4326)
        ``from_id, to_id, distance_km, time_min, access_km, n_nodes`` and the LineString geometry; pairs
        without a route are absent.
    """
    fl, fa, tl, ta = (np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in (from_lon, from_lat, to_lon, to_lat))
    od = road_od(net, fl, fa, tl, ta, from_ids=None, to_ids=None, pairs=pairs, weight=weight,
                 snap_max_km=snap_max_km, far=far, with_paths=True)
    s_f = snap_points(net, fl, fa, snap_max_km=snap_max_km)
    s_t = snap_points(net, tl, ta, snap_max_km=snap_max_km)
    i, j = od["from_id"].to_numpy(), od["to_id"].to_numpy()
    lines = []
    for a, b, path in zip(i, j, od["path"]):
        xs = np.concatenate([[fl[a], s_f.road_lon[a]], net.lon[path], [s_t.road_lon[b], tl[b]]])
        ys = np.concatenate([[fa[a], s_f.road_lat[a]], net.lat[path], [s_t.road_lat[b], ta[b]]])
        lines.append(shapely.linestrings(np.column_stack([xs, ys])))
    fids = np.arange(fl.size) if from_ids is None else np.asarray(from_ids)
    tids = np.arange(tl.size) if to_ids is None else np.asarray(to_ids)
    out = od.drop(columns="path").assign(from_id=fids[i], to_id=tids[j], n_nodes=[len(p) for p in od["path"]])
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(lines, crs="EPSG:4326"), crs="EPSG:4326")
