"""Drone / unmanned-vehicle pilot files: TOML -> validated :class:`PilotSpec`.

A pilot file compares, for every township, a road leg from its district's drone base with a straight drone leg
over the same pair, and asks which 1-2 districts save most (see :mod:`siting.pipeline.pilot`). Layout::

    [pilot]   name, description, districts (how many to pick), by ("unit"), origins (drone bases, a source),
              destinations (a source), parcels_per_person_per_year, eligible_share, circuity, od_matrix,
              only_saving (pick only districts whose net saving is positive; default false)
    [drone]   range_km, payload_kg, parcel_kg, speed_kmh, cost_cny_per_km, fixed_cost_cny_per_year
    [road]    cost_cny_per_km, parcels_per_trip, speed_kmh
    [network] as in scenarios (road legs on a road network)

Every number has its unit in its key; the shipped file comments each with its source or "assumption".
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siting.core.errors import Defect, ScenarioError
from siting.scenario.load import scenario_comments
from siting.scenario.schema_roads import parse_circuity, parse_network
from siting.scenario.spec import Scenario, SourceSpec
from siting.scenario.validate import Validator, parse_sources

__all__ = ["PilotSpec", "load_pilot"]

_DRONE = ("range_km", "payload_kg", "parcel_kg", "speed_kmh", "cost_cny_per_km", "fixed_cost_cny_per_year")
_ROAD = ("cost_cny_per_km", "parcels_per_trip", "speed_kmh")


@dataclass(frozen=True, eq=False)
class PilotSpec:
    """A validated pilot: the scenario part (sources, circuity, network) and the drone/road parameters.

    ``scenario`` carries the distance settings (``circuity``, ``od_matrix``, ``network``) so that road legs
    are measured exactly as in a scenario (:class:`~siting.scenario.measure.PairMeasure`).
    """

    scenario: Scenario
    districts: int
    by: str
    origins: tuple[SourceSpec, ...]
    destinations: tuple[SourceSpec, ...]
    parcels_per_person_per_year: float
    eligible_share: float
    only_saving: bool
    drone: Mapping[str, float]
    road: Mapping[str, float]


def load_pilot(path: str | Path) -> PilotSpec:
    """Read and validate a pilot file (every defect at once, one line each, as :class:`ScenarioError`)."""
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(Defect("pilot file not found", str(p)))
    text = p.read_bytes().decode("utf-8", errors="replace").removeprefix("\ufeff")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(Defect(f"not valid TOML: {exc}", str(p))) from None
    return parse_pilot(raw, path=p, comments=scenario_comments(text))


def parse_pilot(raw: Mapping[str, Any], *, path: Path, comments: Mapping[str, str] | None = None) -> PilotSpec:
    """Validate a pilot dict (as read from TOML)."""
    base = path.resolve().parent
    v = Validator(str(path))
    v.keys(raw, ["pilot", "drone", "road", "network"], "")
    pt = v.table(raw, "pilot", "", required=True) or {}
    v.keys(pt, ["name", "description", "districts", "by", "origins", "destinations", "parcels_per_person_per_year",
                "eligible_share", "circuity", "od_matrix", "only_saving"], "pilot")
    name = v.string(pt, "name", "pilot", default=path.stem) or path.stem
    districts = v.integer(pt, "districts", "pilot", minimum=1) if "districts" in pt else 2
    by = v.string(pt, "by", "pilot", default="unit", choices=("unit",)) or "unit"
    origins = parse_sources(v, pt.get("origins", "chongqing:unit_seats"), "pilot.origins", base)
    dests = parse_sources(v, pt.get("destinations", "chongqing:townships"), "pilot.destinations", base)
    rate = v.number(pt, "parcels_per_person_per_year", "pilot", required=True)
    share = v.number(pt, "eligible_share", "pilot", required=True)
    if share is not None and share > 1:
        v.add("pilot.eligible_share", f"must be a fraction in [0, 1], got {share:g}")
    circ = parse_circuity(v, pt, base)
    od = v.path(pt, "od_matrix", "pilot", base=base) if "od_matrix" in pt else None
    network = parse_network(v, raw, base, has_od=od is not None)
    drone = _numbers(v, raw, "drone", _DRONE)
    road = _numbers(v, raw, "road", _ROAD)
    v.found.raise_if_any(ScenarioError)
    scen = Scenario(name=name, path=path, base_dir=base, raw=copy.deepcopy(dict(raw)),
                    description=str(pt.get("description", "")), od_matrix=od, network=network,
                    comments=dict(comments or {}), **circ)
    return PilotSpec(scenario=scen, districts=int(districts or 2), by=by, origins=origins, destinations=dests,
                     parcels_per_person_per_year=float(rate or 0.0), eligible_share=float(share or 0.0),
                     only_saving=v.boolean(pt, "only_saving", "pilot", default=False),
                     drone=drone, road=road)


def _numbers(v: Validator, raw: Mapping[str, Any], table: str, keys: tuple[str, ...]) -> dict[str, float]:
    t = v.table(raw, table, "", required=True) or {}
    v.keys(t, list(keys), table)
    out: dict[str, float] = {}
    for k in keys:
        strict = k not in ("fixed_cost_cny_per_year",)
        x = v.number(t, k, table, required=True, strict=strict)
        if x is not None:
            out[k] = x
    return out
