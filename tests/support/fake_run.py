"""A synthetic two-tier run over the real Chongqing districts, built to the outputs contract (tests only).

Hubs (tier 0) sit in three districts, one per planning region; every district gets one park (tier 1);
demand points are drawn uniformly inside the districts (seeded) and served by the nearest park, parks by the
nearest hub. Costs follow simple made-up rates: the point is a realistic size and shape, not real numbers.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import LineString, Point

DISTRICTS = Path(__file__).resolve().parents[2] / "data" / "geo" / "districts.geojson"
HUB_DISTRICTS = ("渝北区", "万州区", "黔江区")


def _km(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * np.arcsin(np.sqrt(a))


def load_districts() -> gpd.GeoDataFrame:
    return gpd.read_file(DISTRICTS).to_crs("EPSG:4326")


def fake_run(n_demand: int = 1000, *, seed: int = 7, scenario: str = "fake two-tier run", drop_parks: int = 0):
    """Return ``(summary, facilities, assignments, demand, boundaries)`` for a synthetic run.

    ``drop_parks`` closes that many parks (the last ones by district order), so that two runs differ.
    """
    rng = np.random.default_rng(seed)
    b = load_districts()
    rp = b.geometry.representative_point()
    region = b["planning_region_zh"].astype(str).tolist()
    parks = pd.DataFrame(
        {
            "facility_id": [f"P{a}" for a in b["adcode"]],
            "name": [f"{n}物流园" for n in b["name_zh"]],
            "tier": "park",
            "tier_level": 1,
            "unit": b["name_zh"].tolist(),
            "region": region,
            "lon": rp.x.to_numpy(),
            "lat": rp.y.to_numpy(),
            "capacity": np.where(np.arange(len(b)) % 3 == 0, 4.0e6, np.nan),
            "required": np.arange(len(b)) < 2,
        }
    )
    if drop_parks:
        parks = parks.iloc[: len(parks) - drop_parks].reset_index(drop=True)
    hub_rows = b.index[b["name_zh"].isin(HUB_DISTRICTS)]
    hubs = pd.DataFrame(
        {
            "facility_id": [f"H{b.loc[i, 'adcode']}" for i in hub_rows],
            "name": [f"{b.loc[i, 'name_zh']}分拨中心" for i in hub_rows],
            "tier": "hub",
            "tier_level": 0,
            "unit": [b.loc[i, "name_zh"] for i in hub_rows],
            "region": [region[i] for i in hub_rows],
            "lon": rp.x.to_numpy()[hub_rows] + 0.05,
            "lat": rp.y.to_numpy()[hub_rows] + 0.03,
            "capacity": np.nan,
            "required": False,
        }
    )

    pts = b.geometry.sample_points(size=max(1, n_demand // len(b)), rng=rng).explode(index_parts=False)
    pts = pts.iloc[:n_demand]
    dx, dy = pts.x.to_numpy(), pts.y.to_numpy()
    weight = rng.gamma(2.0, 500.0, size=len(dx)).round(1)
    dist = _km(dx[:, None], dy[:, None], parks["lon"].to_numpy()[None, :], parks["lat"].to_numpy()[None, :])
    near = dist.argmin(axis=1)
    d_near = dist[np.arange(len(dx)), near]
    covered = d_near <= 40.0
    demand = gpd.GeoDataFrame(
        {
            "demand_id": [f"D{i:04d}" for i in range(len(dx))],
            "name": [f"点{i}" for i in range(len(dx))],
            "weight": weight,
            "assigned_to": parks["facility_id"].to_numpy()[near].astype(object),
            "distance_km": d_near,
            "covered": covered,
        },
        geometry=[Point(x, y) for x, y in zip(dx, dy, strict=True)],
        crs="EPSG:4326",
    )
    # two unassigned points, to exercise None / NaN
    demand.loc[[0, 1], "assigned_to"] = None
    demand.loc[[0, 1], "distance_km"] = np.nan
    demand.loc[[0, 1], "covered"] = False
    served = demand["assigned_to"].notna().to_numpy()

    rate_km = 0.8  # CNY per unit per km, made up
    asg1 = pd.DataFrame(
        {
            "from_id": demand["demand_id"][served],
            "to_id": demand["assigned_to"][served],
            "tier": "park",
            "distance_km": demand["distance_km"][served],
            "volume": demand["weight"][served],
        }
    )
    asg1["cost_cny"] = asg1["volume"] * asg1["distance_km"] * rate_km
    g1 = [LineString([(x, y), (parks["lon"][j], parks["lat"][j])]) for x, y, j in zip(dx[served], dy[served], near[served], strict=True)]
    park_vol = asg1.groupby("to_id")["volume"].sum().reindex(parks["facility_id"], fill_value=0.0).to_numpy()
    hd = _km(parks["lon"].to_numpy()[:, None], parks["lat"].to_numpy()[:, None], hubs["lon"].to_numpy()[None, :], hubs["lat"].to_numpy()[None, :])
    hn = hd.argmin(axis=1)
    asg2 = pd.DataFrame(
        {
            "from_id": parks["facility_id"],
            "to_id": hubs["facility_id"].to_numpy()[hn],
            "tier": "hub",
            "distance_km": hd[np.arange(len(parks)), hn],
            "volume": park_vol,
        }
    )
    asg2["cost_cny"] = asg2["volume"] * asg2["distance_km"] * rate_km * 0.3
    g2 = [LineString([(parks["lon"][i], parks["lat"][i]), (hubs["lon"][j], hubs["lat"][j])]) for i, j in enumerate(hn)]
    assignments = gpd.GeoDataFrame(pd.concat([asg1, asg2], ignore_index=True), geometry=g1 + g2, crs="EPSG:4326")

    parks["volume"] = park_vol
    hubs["volume"] = asg2.groupby("to_id")["volume"].sum().reindex(hubs["facility_id"], fill_value=0.0).to_numpy()
    fac = pd.concat([hubs, parks], ignore_index=True)
    fac["utilisation"] = fac["volume"] / fac["capacity"]
    fac["fixed_cost_cny"] = np.where(fac["tier"] == "hub", 2.0e7, 3.0e6)
    fac["handling_cost_cny"] = fac["volume"] * np.where(fac["tier"] == "hub", 0.5, 1.2)
    inbound = assignments.groupby("to_id")["cost_cny"].sum()
    fac["transport_cost_cny"] = fac["facility_id"].map(inbound).fillna(0.0).to_numpy()
    facilities = gpd.GeoDataFrame(
        fac.drop(columns=["lon", "lat"]), geometry=[Point(x, y) for x, y in zip(fac["lon"], fac["lat"], strict=True)], crs="EPSG:4326"
    )
    cost = {
        t: {k: float(facilities.loc[facilities["tier"] == t, f"{k}_cost_cny"].sum()) for k in ("fixed", "handling", "transport")}
        for t in ("hub", "park")
    }
    objective = float(sum(sum(v.values()) for v in cost.values()))
    summary = {
        "scenario": scenario,
        "model": "fake-two-tier",
        "status": "optimal",
        "termination": "optimal",
        "objective": objective,
        "bound": objective * (1 - 1e-5),
        "gap": 1e-5,
        "build_seconds": 0.5,
        "solve_seconds": 1.5,
        "seconds": 2.0,
        "facility_ids": facilities["facility_id"].tolist(),
        "counts_by_tier": facilities["tier"].value_counts().to_dict(),
        "cost_cny": cost,
        "coverage": {"radius_km": 40.0, "share_covered": float(demand.loc[demand["covered"], "weight"].sum() / demand["weight"].sum())},
    }
    return summary, facilities, assignments, demand, b
