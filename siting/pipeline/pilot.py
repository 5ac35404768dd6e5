"""Drone / unmanned-vehicle pilot: the 1-2 districts where drone legs save most against road legs.

Model (every parameter from the pilot file, :mod:`siting.scenario.pilot`):

- each destination (township) is served from the drone base of its district (``[pilot] origins``, the
  nearest one of its unit): today by a road leg of ``road_km`` (measured like scenario pairs: OD matrix, road
  network, or great-circle x circuity), with a drone by a straight leg of ``straight_km`` on the *same pair*;
- eligible parcels per year ``E = population x parcels_per_person_per_year x eligible_share``;
- road cost per parcel ``2 x road_km x road.cost_cny_per_km / road.parcels_per_trip`` (out and back);
  drone cost per parcel ``2 x straight_km x drone.cost_cny_per_km / floor(payload_kg / parcel_kg)``;
- a township is flown only within ``drone.range_km`` (straight, one way) and where the drone is cheaper; its
  saving is ``E x (road - drone)`` CNY/yr; a district's net saving is the sum minus
  ``drone.fixed_cost_cny_per_year``;
- pick ``districts`` districts maximising the total net saving (with ``only_saving = true``, only districts
  whose net saving is positive). The objective is a sum of independent per-district terms with no shared
  constraint besides the count, so taking the largest net savings is exactly optimal (the tests check it by
  enumerating every subset). The ranking does not depend on the fixed cost (the same for every district).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from siting.core.errors import DefectCollector, ScenarioError

__all__ = ["PilotOutcome", "pick_districts", "pilot_savings", "run_pilot"]


@dataclass
class PilotOutcome:
    """What :func:`run_pilot` returns: the ranked districts, the township legs, the pick and the summary."""

    districts: Any
    townships: Any
    picked: list[str]
    summary: dict[str, Any]
    out_dir: Path | None = None


def _bases(dest: Any, orig: Any) -> np.ndarray:
    """Index of each destination's drone base: the nearest origin of the same unit (-1 if its unit has none)."""
    from siting.geo.distance import haversine_km

    out = np.full(len(dest), -1, dtype=np.int64)
    units = np.array([None if u is None else str(u) for u in orig.unit], dtype=object)
    for i in range(len(dest)):
        cand = np.flatnonzero(units == (None if dest.unit[i] is None else str(dest.unit[i])))
        if cand.size:
            d = haversine_km(dest.lon[i], dest.lat[i], orig.lon[cand], orig.lat[cand])
            out[i] = cand[int(np.argmin(d))]
    return out


def pilot_savings(spec: Any) -> tuple[Any, Any]:
    """``(districts, townships)`` DataFrames: every district's net saving and every township's legs."""
    import pandas as pd

    from siting.geo.distance import haversine_km
    from siting.scenario.measure import SOURCES, PairMeasure
    from siting.scenario.sources import Loader

    scen = spec.scenario
    found = DefectCollector(str(scen.path))
    measure = PairMeasure(scen, found)
    found.raise_if_any(ScenarioError)
    load = Loader(scen)
    orig, _ = load.combined(spec.origins)
    dest, _ = load.combined(spec.destinations)
    base = _bases(dest, orig)
    has = base >= 0
    bk = np.where(has, base, 0)
    straight = np.where(has, haversine_km(dest.lon, dest.lat, orig.lon[bk], orig.lat[bk]), np.nan)
    d, r = spec.drone, spec.road
    near = has & (straight <= d["range_km"])
    sub = np.flatnonzero(near)
    road_km = np.full(len(dest), np.nan)
    source = np.full(len(dest), None, dtype=object)
    if sub.size:
        pts = dest.take(sub)
        ps = measure.pairs(pts, pts.ids, orig, orig.ids)
        want = base[sub][ps.ia] == ps.ib
        road_km[sub[ps.ia[want]]] = ps.distance_km[want]
        source[sub[ps.ia[want]]] = np.asarray(SOURCES, dtype=object)[ps.source[want]]
    pop = np.where(np.isfinite(dest.population), dest.population, 0.0) if dest.population is not None else np.zeros(len(dest))
    parcels = pop * spec.parcels_per_person_per_year * spec.eligible_share
    per_flight = max(1, math.floor(d["payload_kg"] / d["parcel_kg"]))
    road_cost = 2 * road_km * r["cost_cny_per_km"] / r["parcels_per_trip"]
    drone_cost = 2 * straight * d["cost_cny_per_km"] / per_flight
    gain = parcels * (road_cost - drone_cost)
    flown = near & np.isfinite(gain) & (gain > 0)
    towns = pd.DataFrame({
        "township_id": [str(x) for x in dest.ids], "township_name": [str(x) for x in dest.names],
        "unit": list(dest.unit), "base_id": np.where(has, orig.ids[bk], None),
        "straight_km": straight, "road_km": road_km, "distance_source": source,
        "eligible_parcels_per_year": parcels, "road_cost_cny_per_parcel": road_cost,
        "drone_cost_cny_per_parcel": drone_cost,
        "minutes_saved_per_parcel": road_km / r["speed_kmh"] * 60 - straight / d["speed_kmh"] * 60,
        "in_range": near, "flown": flown, "saving_cny_per_year": np.where(flown, gain, 0.0),
    })
    return _district_table(towns, d["fixed_cost_cny_per_year"], orig), towns


def _district_table(towns: Any, fixed: float, orig: Any) -> Any:
    import pandas as pd

    names = dict(zip([str(u) for u in orig.unit], [str(n) for n in orig.names]))
    g = towns.groupby("unit", dropna=True)
    flown = towns[towns["flown"]]
    fg = flown.groupby("unit")
    out = pd.DataFrame({
        "townships": g.size(),
        "townships_in_range": g["in_range"].sum(),
        "townships_flown": fg.size(),
        "eligible_parcels_flown_per_year": fg["eligible_parcels_per_year"].sum(),
        "road_km_per_parcel_mean": fg.apply(lambda x: float(np.average(x["road_km"], weights=x["eligible_parcels_per_year"]))
                                            if x["eligible_parcels_per_year"].sum() > 0 else float("nan")),
        "straight_km_per_parcel_mean": fg.apply(lambda x: float(np.average(x["straight_km"], weights=x["eligible_parcels_per_year"]))
                                                if x["eligible_parcels_per_year"].sum() > 0 else float("nan")),
        "minutes_saved_per_parcel_mean": fg.apply(
            lambda x: float(np.average(x["minutes_saved_per_parcel"], weights=x["eligible_parcels_per_year"]))
            if x["eligible_parcels_per_year"].sum() > 0 else float("nan")),
        "saving_cny_per_year": fg["saving_cny_per_year"].sum(),
    }).fillna({"townships_flown": 0, "eligible_parcels_flown_per_year": 0.0, "saving_cny_per_year": 0.0})
    out["fixed_cost_cny_per_year"] = fixed
    out["net_saving_cny_per_year"] = out["saving_cny_per_year"] - fixed
    out.insert(0, "unit_name", [names.get(str(u), str(u)) for u in out.index])
    out.index.name = "unit"
    return out.sort_values(["net_saving_cny_per_year", "unit_name"], ascending=[False, True])


def pick_districts(net_saving: dict[str, float], k: int, *, only_saving: bool = False) -> list[str]:
    """The ``k`` districts with the largest net saving (exactly optimal: the objective is a separable sum).

    The plan asks for pilots, so by default the best ``k`` are picked even when a pilot costs more than it
    saves (its net saving is then negative: the pilot's net cost); ``only_saving`` keeps only positive ones.
    Ties are broken by unit id.
    """
    ranked = sorted(((v, u) for u, v in net_saving.items() if v > 0 or not only_saving), key=lambda x: (-x[0], x[1]))
    return [u for _, u in ranked[:k]]


def run_pilot(path_or_spec: Any, *, out_dir: str | Path | None = None, overwrite: bool = False,
              write: bool = True) -> PilotOutcome:
    """Compute the pilot's savings, pick the districts and write ``summary.json`` and two CSVs atomically.

    Raises
    ------
    ScenarioError, DataError
        Bad pilot file or data (every defect at once); nothing is written.
    OutputError
        ``out_dir`` cannot be used (checked before computing).
    """
    from siting.scenario.pilot import PilotSpec, load_pilot

    spec = path_or_spec if isinstance(path_or_spec, PilotSpec) else load_pilot(path_or_spec)
    target = Path(out_dir) if out_dir is not None else Path("maps") / spec.scenario.name
    if write:
        from siting.outputs.tables import prepare_out_dir

        prepare_out_dir(target, overwrite=overwrite)
    districts, towns = pilot_savings(spec)
    net = {str(u): float(v) for u, v in districts["net_saving_cny_per_year"].items()}
    picked = pick_districts(net, spec.districts, only_saving=spec.only_saving)
    summary = {
        "scenario": spec.scenario.name, "model": "drone-pilot", "districts_to_pick": spec.districts,
        "picked": [{"unit": u, "unit_name": str(districts.loc[u, "unit_name"]),
                    "net_saving_cny_per_year": round(net[u], 2),
                    "saving_cny_per_year": round(float(districts.loc[u, "saving_cny_per_year"]), 2),
                    "townships_flown": int(districts.loc[u, "townships_flown"]),
                    "minutes_saved_per_parcel": round(float(districts.loc[u, "minutes_saved_per_parcel_mean"]), 1)}
                   for u in picked],
        "total_net_saving_cny_per_year": round(sum(net[u] for u in picked), 2),
        "distance_sources": {str(k): int(v) for k, v in towns["distance_source"].value_counts().items()},
        "assumptions": dict(spec.scenario.comments),
    }
    outcome = PilotOutcome(districts=districts, townships=towns, picked=picked, summary=summary)
    if write:
        from siting.outputs.tables import atomic_dir, summary_to_json

        with atomic_dir(target, overwrite=overwrite) as tmp:
            (tmp / "summary.json").write_text(summary_to_json(summary), encoding="utf-8")
            districts.to_csv(tmp / "pilot_districts.csv", encoding="utf-8")
            towns.to_csv(tmp / "pilot_townships.csv", index=False, encoding="utf-8")
        outcome.out_dir = target.absolute()
    return outcome
