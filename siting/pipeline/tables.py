"""A solved network -> the three output tables (facilities, assignments, demand), with the chain per township.

:func:`result_tables` is the outputs contract of ``siting run``: every assignment carries its ``distance_km``,
``time_min`` (NaN where unknown) and ``distance_source`` (``"network"``, ``"od"`` or ``"circuity"``) and the
names of both ends; every demand point carries its whole chain up the tiers: for each tier ``<tier>_id`` and
``<tier>_name`` (e.g. ``collection_id``, ``park_id``, ``hub_id``), ``unit_name``, the distance, time and source
of its own leg, and the distance and road time to each upper tier along the chain
(``distance_to_<tier>_km``, ``time_to_<tier>_min``). With road paths (``paths``), assignment lines follow
the road.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from siting.core.network import NetworkProblem, NetworkResult

__all__ = ["link_sources", "result_tables"]


def link_sources(problem: NetworkProblem, t: int) -> np.ndarray:
    """Source name per link of tier ``t`` (``"circuity"`` when the problem does not record it)."""
    src = problem.meta.get("link_source") if problem.meta else None
    if src is None or t >= len(src) or len(src[t]) != len(problem.links[t]):
        label = "od" if problem.meta and str(problem.meta.get("distance_source", "")).startswith("OD") else "circuity"
        return np.full(len(problem.links[t]), label, dtype=object)
    return np.asarray(src[t], dtype=object)


def _times(problem: NetworkProblem, t: int) -> np.ndarray:
    lk = problem.links[t]
    return np.full(len(lk), np.nan) if lk.time_min is None else np.asarray(lk.time_min, dtype=np.float64)


def _parents(problem: NetworkProblem, result: NetworkResult) -> list[np.ndarray]:
    """For each tier t > 0, the link (index into links[t - 1]) serving each candidate, -1 if none."""
    out: list[np.ndarray] = [np.zeros(0, np.int64)]
    for t in range(1, problem.n_tiers):
        lk = problem.links[t - 1]
        serve = np.full(problem.tiers[t].size, -1, dtype=np.int64)
        used = np.flatnonzero(result.link_used[t - 1])
        order = used[np.argsort(result.link_flow[t - 1][used], kind="stable")]  # the largest share wins
        serve[lk.child[order]] = order
        out.append(serve)
    return out


def _facilities(problem: NetworkProblem, result: NetworkResult) -> Any:
    import pandas as pd

    rows = []
    for t, tier in enumerate(problem.tiers):
        lk = problem.links[t]
        o = np.flatnonzero(result.open[t])
        flow = result.link_flow[t]
        inflow = np.bincount(lk.parent, weights=flow, minlength=tier.size)
        handling = np.bincount(lk.parent, weights=flow * tier.handling_cost_cny_per_unit[lk.parent], minlength=tier.size)
        transport = np.bincount(lk.parent, weights=flow * lk.distance_km * tier.transport_cost_cny_per_unit_km, minlength=tier.size)
        cap = tier.capacity[o]
        unit = tier.groups.get("unit")
        region = tier.groups.get("region")
        rows.append(pd.DataFrame({
            "facility_id": [f"{tier.name}:{x}" for x in tier.ids[o]],
            "name": [str(x) for x in tier.names[o]],
            "tier": tier.name,
            "tier_level": t,
            "unit": list(unit[o]) if unit is not None else [None] * len(o),
            "region": list(region[o]) if region is not None else [None] * len(o),
            "volume": inflow[o],
            "capacity": np.where(np.isfinite(cap), cap, np.nan),
            "utilisation": np.where(np.isfinite(cap) & (cap > 0), inflow[o] / np.where(cap > 0, cap, 1), np.nan),
            "fixed_cost_cny": tier.fixed_cost_cny[o],
            "handling_cost_cny": handling[o],
            "transport_cost_cny": transport[o],
            "required": tier.required[o],
            "lon": tier.lon[o],
            "lat": tier.lat[o],
        }))
    return pd.concat(rows, ignore_index=True)


def _assignments(problem: NetworkProblem, result: NetworkResult) -> Any:
    import pandas as pd

    p = problem
    rows = []
    for t, tier in enumerate(p.tiers):
        lk = p.links[t]
        flow = result.link_flow[t]
        used = np.flatnonzero(result.link_used[t])
        child = lk.child[used]
        if t == p.n_tiers - 1:
            from_ids = [f"demand:{x}" for x in p.demand_ids[child]]
            from_names = [str(x) for x in p.demand_names[child]]
            flon, flat = p.demand_lon[child], p.demand_lat[child]
        else:
            ct = p.tiers[t + 1]
            from_ids = [f"{ct.name}:{x}" for x in ct.ids[child]]
            from_names = [str(x) for x in ct.names[child]]
            flon, flat = ct.lon[child], ct.lat[child]
        par = lk.parent[used]
        rows.append(pd.DataFrame({
            "from_id": np.array(from_ids, dtype=object),
            "to_id": [f"{tier.name}:{x}" for x in tier.ids[par]],
            "from_name": from_names,
            "to_name": [str(x) for x in tier.names[par]],
            "tier": tier.name,
            "distance_km": lk.distance_km[used],
            "time_min": _times(p, t)[used],
            "distance_source": link_sources(p, t)[used],
            "volume": flow[used],
            "cost_cny": flow[used] * (lk.distance_km[used] * tier.transport_cost_cny_per_unit_km
                                      + tier.handling_cost_cny_per_unit[par]),
            "flon": flon, "flat": flat, "tlon": tier.lon[par], "tlat": tier.lat[par],
            "_tier": t, "_link": used,
        }))
    return pd.concat(rows, ignore_index=True)


def _demand(problem: NetworkProblem, result: NetworkResult) -> Any:
    """Demand rows with the chain of each point: facility ids/names per tier, leg and cumulative km/min."""
    import pandas as pd

    p = problem
    T = p.n_tiers
    lk = p.links[T - 1]
    bt = p.tiers[T - 1]
    served = np.bincount(lk.child, weights=result.link_flow[T - 1], minlength=p.n_demand)
    used = np.flatnonzero(result.link_used[T - 1])
    order = used[np.argsort(result.link_flow[T - 1][used], kind="stable")]
    main = np.full(p.n_demand, -1, dtype=np.int64)  # the main serving link (largest share) of each demand point
    main[lk.child[order]] = order
    has = main >= 0
    mk = np.where(has, main, 0)
    assigned = np.where(has, np.array([f"{bt.name}:{x}" for x in bt.ids[lk.parent[mk]]], dtype=object), None)
    leg_km = np.where(has, lk.distance_km[mk] if len(lk) else np.nan, np.nan)
    leg_min = np.where(has, _times(p, T - 1)[mk] if len(lk) else np.nan, np.nan)
    dem = pd.DataFrame({
        "demand_id": [str(x) for x in p.demand_ids],
        "name": [str(x) for x in p.demand_names],
        "weight": p.weight,
        "assigned_to": assigned,
        "distance_km": leg_km,
        "time_min": leg_min,
        "distance_source": np.where(has, link_sources(p, T - 1)[mk] if len(lk) else None, None),
        "covered": served >= p.weight * (1 - 1e-9) - 1e-12,
    })
    for key, lab in p.demand_groups.items():
        if key not in dem.columns:
            dem[key] = list(lab)
    names = (p.meta or {}).get("unit_names") or {}
    if "unit" in dem.columns:
        dem["unit_name"] = [names.get(str(u), None) if u is not None else None for u in dem["unit"]]
    _chain(p, result, dem, has, np.where(has, lk.parent[mk] if len(lk) else -1, -1), leg_km, leg_min)
    return dem


def _chain(p: NetworkProblem, result: NetworkResult, dem: Any, has: np.ndarray, fac: np.ndarray,
           km: np.ndarray, minutes: np.ndarray) -> None:
    """Add ``<tier>_id``/``<tier>_name`` and cumulative ``distance_to_<tier>_km``/``time_to_<tier>_min`` columns."""
    parents = _parents(p, result)
    km, minutes = km.copy(), minutes.copy()
    ok = has.copy()
    for t in range(p.n_tiers - 1, -1, -1):
        tier = p.tiers[t]
        j = np.where(ok, fac, 0)
        dem[f"{tier.name}_id"] = np.where(ok, tier.ids[j] if tier.size else None, None)
        dem[f"{tier.name}_name"] = np.where(ok, tier.names[j] if tier.size else None, None)
        if t < p.n_tiers - 1:
            dem[f"distance_to_{tier.name}_km"] = np.where(ok, km, np.nan)
            dem[f"time_to_{tier.name}_min"] = np.where(ok, minutes, np.nan)
        if t == 0:
            break
        link = np.where(ok, parents[t][j] if tier.size else -1, -1)
        ok &= link >= 0
        lk = p.links[t - 1]
        li = np.where(ok, link, 0)
        if len(lk):
            km = km + np.where(ok, lk.distance_km[li], np.nan)
            minutes = minutes + np.where(ok, _times(p, t - 1)[li], np.nan)
            fac = np.where(ok, lk.parent[li], -1)


def result_tables(problem: NetworkProblem, result: NetworkResult, *, paths: Mapping[tuple[int, int], Any] | None = None
                  ) -> tuple[Any, Any, Any]:
    """``(facilities, assignments, demand)`` GeoDataFrames (EPSG:4326) of a solved network.

    Parameters
    ----------
    problem, result
        The solved instance.
    paths
        Optional road geometry per used link: ``(tier, link index) -> LineString`` (lon/lat). Links without a
        path are drawn as straight lines.
    """
    import geopandas as gpd
    from shapely import linestrings, points

    fac = _facilities(problem, result)
    facilities = gpd.GeoDataFrame(fac.drop(columns=["lon", "lat"]),
                                  geometry=points(np.c_[fac["lon"].to_numpy(float), fac["lat"].to_numpy(float)]),
                                  crs="EPSG:4326")
    asg = _assignments(problem, result)
    coords = np.stack([np.c_[asg["flon"].to_numpy(float), asg["flat"].to_numpy(float)],
                       np.c_[asg["tlon"].to_numpy(float), asg["tlat"].to_numpy(float)]], axis=1)
    geom = list(linestrings(coords)) if len(asg) else []
    if paths:
        for k, (t, li) in enumerate(zip(asg["_tier"], asg["_link"])):
            g = paths.get((int(t), int(li)))
            if g is not None:
                geom[k] = g
    assignments = gpd.GeoDataFrame(asg.drop(columns=["flon", "flat", "tlon", "tlat", "_tier", "_link"]),
                                   geometry=geom if len(asg) else gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")
    dem = _demand(problem, result)
    demand = gpd.GeoDataFrame(dem, geometry=points(np.c_[problem.demand_lon, problem.demand_lat]), crs="EPSG:4326")
    return facilities, assignments, demand
