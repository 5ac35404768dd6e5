"""The ``[network] roads`` of a scenario: read once, snap the scenario's points, route the pairs it needs.

:func:`load_road_network` reads the road file with :func:`siting.routing.read_roads` (speed overrides from
``[network] speeds_kmh``); :class:`ScenarioRoads` answers :meth:`~ScenarioRoads.pairs` with
:func:`siting.routing.road_od` (only the pairs within the tier's radius in km and/or minutes, cached on disk
under ``[network] cache_dir``, default :func:`default_cache_dir`) and draws the road path of used
links (:func:`used_link_paths`) for the maps.

Points farther than ``snap_max_km`` from every road are an error with ``fallback = "error"`` (one line each,
from :mod:`siting.routing`), or use the circuity estimate with ``fallback = "circuity"``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from siting.core.errors import DataError, DefectCollector
from siting.scenario.sources import Points
from siting.scenario.spec import Scenario

__all__ = ["MAP_MAX_SEGMENTS", "ScenarioRoads", "default_cache_dir", "load_road_network", "network_layer", "used_link_paths"]


class ScenarioRoads:
    """A scenario's road network with its snapping and cache settings.

    Attributes
    ----------
    net : siting.routing.RoadNetwork
    snap_max_km : float
    fallback : str
        ``"error"`` or ``"circuity"`` (what far points get).
    cache_dir : str or None
    """

    def __init__(self, net: Any, *, snap_max_km: float, fallback: str, cache_dir: str | None):
        self.net = net
        self.snap_max_km = snap_max_km
        self.fallback = fallback
        self.cache_dir = cache_dir
        self._far: dict[int, np.ndarray] = {}
        self._alive: list[Points] = []

    def far(self, pts: Points) -> np.ndarray:
        """Mask of the points farther than ``snap_max_km`` from every road."""
        from siting.routing import snap_points

        k = id(pts)
        if k not in self._far:
            self._far[k] = np.asarray(snap_points(self.net, pts.lon, pts.lat, snap_max_km=self.snap_max_km).far, bool) \
                if len(pts) else np.zeros(0, bool)
            self._alive.append(pts)  # keep ``pts`` alive so that its id() is not reused
        return self._far[k]

    def pairs(self, a: Points, b: Points, radius_km: float, radius_min: float) -> tuple[Any, tuple[np.ndarray, np.ndarray]]:
        """Network pairs (a child, b parent) within the radii, and the two far masks.

        Returns
        -------
        (PairSet, (far_a, far_b))
        """
        from siting.routing import road_od
        from siting.scenario.pairs import SRC_NETWORK, PairSet

        far_a, far_b = self.far(a), self.far(b)
        e = np.empty(0, np.int64)
        if not len(a) or not len(b):
            return PairSet(e, e.copy(), np.empty(0), np.empty(0), np.empty(0, np.int8)), (far_a, far_b)
        od = road_od(self.net, a.lon, a.lat, b.lon, b.lat,
                     max_km=radius_km if math.isfinite(radius_km) else None,
                     max_min=radius_min if math.isfinite(radius_min) else None,
                     snap_max_km=self.snap_max_km, far="skip" if self.fallback == "circuity" else "error",
                     cache_dir=self.cache_dir)
        ia = od["from_id"].to_numpy(np.int64)
        ib = od["to_id"].to_numpy(np.int64)
        return PairSet(ia, ib, od["distance_km"].to_numpy(float), od["time_min"].to_numpy(float),
                       np.full(ia.size, SRC_NETWORK, np.int8)), (far_a, far_b)


def default_cache_dir() -> Path:
    """Where routed pairs and built networks are cached without ``[network] cache_dir``:
    ``$SITING_CACHE_DIR/routing``, else ``$XDG_CACHE_HOME/siting/routing``, else ``~/.cache/siting/routing``."""
    import os

    if os.environ.get("SITING_CACHE_DIR"):
        return Path(os.environ["SITING_CACHE_DIR"]) / "routing"
    base = Path(os.environ["XDG_CACHE_HOME"]) if os.environ.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "siting" / "routing"


def load_road_network(scen: Scenario, found: DefectCollector) -> ScenarioRoads | None:
    """Read ``[network] roads`` (problems go to ``found``; ``None`` then)."""
    from siting.routing import read_roads

    spec = scen.network
    assert spec is not None and spec.roads is not None
    opts = dict(spec.options)
    cache = opts.get("cache_dir")
    if cache is not None:
        cache = str(Path(cache) if Path(cache).is_absolute() else scen.base_dir / cache)
    else:
        cache = str(default_cache_dir())
    try:
        net = read_roads(spec.roads, crs=opts.get("coord_system"), speeds=dict(spec.speeds_kmh) or None,
                         layer=opts.get("layer"), cache_dir=cache)
    except DataError as exc:
        found.extend(exc.defects)
        return None
    return ScenarioRoads(net, snap_max_km=spec.snap_max_km, fallback=spec.fallback, cache_dir=cache)


def used_link_paths(problem: Any, result: Any) -> dict[tuple[int, int], Any]:
    """Road LineStrings of the used upper-tier links that came from the network: ``(tier, link) -> LineString``.

    Upper-tier flows (hub <- park, park <- collection) are drawn along their road path; the bottom tier's many
    short legs stay straight (map size).
    """
    from siting.routing import route_paths

    roads = (problem.meta or {}).get("roads")
    if roads is None:
        return {}
    src = problem.meta.get("link_source") or []
    out: dict[tuple[int, int], Any] = {}
    for t in range(problem.n_tiers - 1):
        lk = problem.links[t]
        used = np.flatnonzero(np.asarray(result.link_used[t], bool) & (np.asarray(src[t]) == "network"))
        if not used.size:
            continue
        child, parent = problem.tiers[t + 1], problem.tiers[t]
        g = route_paths(roads.net, child.lon, child.lat, parent.lon, parent.lat,
                        pairs=(lk.child[used], lk.parent[used]), snap_max_km=roads.snap_max_km)
        key = {(int(i), int(j)): geom for i, j, geom in zip(g["from_id"], g["to_id"], g.geometry)}
        for li in used:
            geom = key.get((int(lk.child[li]), int(lk.parent[li])))
            if geom is not None:
                out[(t, int(li))] = geom
    return out


#: default cap on the road vertices drawn on a map (each ~25 bytes of GeoJSON: ~0.5 MB)
MAP_MAX_SEGMENTS = 20_000


def network_layer(roads: ScenarioRoads, lon: np.ndarray, lat: np.ndarray, *, pad_km: float = 5.0,
                  max_segments: int = MAP_MAX_SEGMENTS) -> Any:
    """The road network as a small line layer for the map: fastest roads first, within the points' extent.

    Edges within the bounding box of ``lon``/``lat`` (plus ``pad_km``) are taken by descending speed (so the
    main roads survive) until ``max_segments``; two-way edges count once; contiguous segments are merged.

    Returns
    -------
    geopandas.GeoDataFrame
        LineStrings (EPSG:4326), at most ``max_segments`` segments in all.
    """
    import geopandas as gpd
    import shapely

    net = roads.net
    pad = pad_km / 111.0
    x0, x1 = float(np.nanmin(lon)) - pad, float(np.nanmax(lon)) + pad
    y0, y1 = float(np.nanmin(lat)) - pad / max(math.cos(math.radians(float(np.nanmean(lat)))), 0.2), float(np.nanmax(lat))
    y1 += pad
    u, v = np.asarray(net.tail), np.asarray(net.head)
    a, b = np.minimum(u, v), np.maximum(u, v)
    _, first = np.unique(a * np.int64(net.n_nodes) + b, return_index=True)  # one per undirected pair
    inside = ((net.lon[a[first]] >= x0) & (net.lon[a[first]] <= x1) & (net.lat[a[first]] >= y0) & (net.lat[a[first]] <= y1))
    e = first[inside]
    e = e[np.argsort(-np.asarray(net.speed_kmh)[e], kind="stable")][:max_segments]
    segs = np.stack([np.c_[net.lon[u[e]], net.lat[u[e]]], np.c_[net.lon[v[e]], net.lat[v[e]]]], axis=1)
    merged = shapely.line_merge(shapely.multilinestrings(list(shapely.linestrings(segs)))) if len(e) else None
    parts = [] if merged is None else (list(merged.geoms) if hasattr(merged, "geoms") else [merged])
    return gpd.GeoDataFrame(geometry=parts, crs="EPSG:4326")
