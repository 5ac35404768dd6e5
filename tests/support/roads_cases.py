"""Generated road-network scenarios for the scenario/pipeline tests (written into a temporary folder).

:func:`river_case`: a river running west-east with one bridge at its western end, a street grid on each bank,
and six towns in the east, three on each bank, 2-4 km apart across the water but ~36 km apart by road.
"""

from __future__ import annotations

import json
from pathlib import Path

#: grid spacing, degrees (~1 km)
STEP = 0.01
LON0, LON1 = 110.00, 110.20
SOUTH = [round(29.93 + STEP * k, 4) for k in range(7)]  # 29.93 .. 29.99
NORTH = [round(30.01 + STEP * k, 4) for k in range(7)]  # 30.01 .. 30.07
BRIDGE_LON = 110.00
TOWNS = [  # id, lon, lat, bank: on grid nodes, so that road distances are node-to-node shortest paths
    ("S1", 110.17, 29.99, "south"), ("S2", 110.18, 29.98, "south"), ("S3", 110.19, 29.99, "south"),
    ("N1", 110.17, 30.01, "north"), ("N2", 110.18, 30.02, "north"), ("N3", 110.19, 30.01, "north"),
]


def _grid(lats: list[float]) -> list[list[tuple[float, float]]]:
    lons = [round(LON0 + STEP * k, 4) for k in range(int(round((LON1 - LON0) / STEP)) + 1)]
    lines = []
    for la in lats:  # west-east streets
        lines += [[(lons[k], la), (lons[k + 1], la)] for k in range(len(lons) - 1)]
    for lo in lons:  # south-north streets
        lines += [[(lo, lats[k]), (lo, lats[k + 1])] for k in range(len(lats) - 1)]
    return lines


def road_lines() -> list[list[tuple[float, float]]]:
    """Every road segment of the river case (both grids and the bridge)."""
    return _grid(SOUTH) + _grid(NORTH) + [[(BRIDGE_LON, SOUTH[-1]), (BRIDGE_LON, NORTH[0])]]


def write_roads(path: Path, lines: list[list[tuple[float, float]]] | None = None) -> Path:
    feats = [{"type": "Feature", "properties": {"highway": "residential"},
              "geometry": {"type": "LineString", "coordinates": [list(p) for p in ln]}} for ln in (lines or road_lines())]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return path


def write_towns(path: Path) -> Path:
    rows = ["id,name,lon,lat,weight,bank"] + [f"{i},Town {i},{lo},{la},1000,{b}" for i, lo, la, b in TOWNS]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


#: the hub of the two-tier case: on the north bank, west, near the bridge
HUB = ("H", 110.03, 30.03)

HUB_TIER = """
[tiers.hub]
candidates = { path = "hubs.csv", id_col = "id" }
fixed_cost_cny_per_year = 1
transport_cost_cny_per_parcel_km = 0.001
"""


def river_case(folder: Path, *, network: bool = True, extra: str = "", hub: bool = False) -> Path:
    """Write roads.geojson, towns.csv and river.toml into ``folder``; return the scenario path.

    With ``hub=True`` a top tier ``hub`` (one candidate, :data:`HUB`) serves the collection points, so that
    upper-tier flows cross the bridge.
    """
    write_roads(folder / "roads.geojson")
    write_towns(folder / "towns.csv")
    (folder / "hubs.csv").write_text(f"id,name,lon,lat\n{HUB[0]},Hub,{HUB[1]},{HUB[2]}\n", encoding="utf-8")
    net = ('[network]\nroads = "roads.geojson"\ncoord_system = "wgs84"\nsnap_max_km = 1.0\ncache_dir = "cache"\n'
           if network else "")
    text = f"""[scenario]
name = "river"
volume_unit = "parcel"
circuity = 1.0

{net}
[objective]
kind = "cost"

[solver]
time_limit_s = 30
mip_rel_gap = 0.0

{HUB_TIER if hub else ""}
[demand.towns]
source = {{ path = "towns.csv", id_col = "id" }}
parcels_per_weight_unit = 1.0

[tiers.collection]
candidates = {{ path = "towns.csv", id_col = "id" }}
fixed_cost_cny_per_year = 10000
transport_cost_cny_per_parcel_km = 0.01
radius_km = 10
{extra}
"""
    p = folder / "river.toml"
    p.write_text(text, encoding="utf-8")
    return p
