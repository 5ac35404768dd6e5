"""Scenario files: TOML -> validated, frozen :class:`Scenario` -> :class:`~siting.core.network.NetworkProblem`.

A scenario names its demand, its tiers (top first), their candidate sites, costs, radii and counts, and the
objective. Every parameter carries its unit in its key (``fixed_cost_cny_per_year``, ``radius_km``,
``parcels_per_person_per_year``); the volume unit is declared once (``[scenario] volume_unit = "parcel"``)
and the volume-dependent keys spell it (``handling_cost_cny_per_parcel``,
``transport_cost_cny_per_parcel_km``, ``capacity_parcels_per_year``).

Layout (see ``models/example.toml`` for a complete, commented file)::

    [scenario]   name, description, structure ("2024"|"2025"), data_dir, volume_unit,
                 circuity (a number >= 1, "measured", or {measured = true, rule = "mean"|"max", path = ...}),
                 od_matrix, single_sourcing, colocation, year (planning year; see growth below), lang,
                 allow_far (accept points > 500 km from every point of the other side; see below)
    [network]    roads (road file: .osm.pbf or a line layer), speeds_kmh = {class = km/h}, snap_max_km,
                 fallback ("error"|"circuity"), speed_kmh (km/h for circuity fallback times)
    [objective]  kind ("cost"|"coverage"), budget_cny_per_year, budget_scope ("total"|"fixed")
    [solver]     time_limit_s, mip_rel_gap, threads, seed, mip_heuristic_effort
    [demand.<component>]   source, <units>_per_person_per_year | <units>_per_year | <units>_per_weight_unit,
                           weight_col, id_col, name_col, lon_col, lat_col, unit_col, region_col, coord_system,
                           growth_rate_per_year, base_year
    [tiers.<name>]         (file order = top to bottom) candidates, fixed_cost_cny_per_year,
                           handling_cost_cny_per_<unit>, transport_cost_cny_per_<unit>_km,
                           capacity_<units>_per_year, radius_km, radius_min, link_same, required, forbidden,
                           count = {exactly|at_least|at_most}, count_per = {by, exactly|at_least|at_most},
                           gateway = {categories, ids, radius_km, radius_min, source}, max_road_hours
    [sweep]      free-form, read by ``siting sweep``

Distances of a pair, in order: the OD matrix's row for it; else the road network's shortest path; else (only
with ``fallback = "circuity"``, or when the scenario has neither) great-circle km x circuity, where
``"measured"`` takes each pair's factor from the districts of its two ends (:mod:`siting.geo.circuity`).

Sources (``source`` / ``candidates``): ``"chongqing:townships"``, ``"chongqing:unit_seats"``,
``"chongqing:district_seats"``, ``"chongqing:logistics"`` (from ``data/geo/`` through :mod:`siting.geo`),
or a path to the user's own point file relative to the scenario file (CSV/GeoPackage/GeoJSON/...; read with
:func:`siting.geo.read_points`), or a table ``{path = "...", id_col = "...", ...}``. A list combines several.

Growth: a component's volumes describe its ``base_year``; with ``[scenario] year`` set, they are multiplied
by ``(1 + growth_rate_per_year) ** (year - base_year)`` (compound annual growth, a documented assumption of
the scenario), so "the 2027 network" is ``--set scenario.year=2027``. Without ``year`` nothing is scaled.

Far points: building the problem refuses a demand point farther than :data:`siting.core.limits.FAR_KM`
(500 km, great circle) from every candidate of every tier, a candidate that far from every demand point, and a
gateway point that far from every candidate of its tier, as a probable wrong coordinate (file, row and id
named), unless ``allow_far = true`` (``siting run --allow-far``).

Validation collects every defect (unknown key with a "did you mean" suggestion, wrong type, negative or NaN
number, missing file or column, impossible counts) and raises one :class:`ScenarioError`, one line per
defect naming the file and the dotted key.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from siting.core.errors import ScenarioError
from siting.scenario.schema_roads import parse_circuity, parse_network, tier_name_warnings
from siting.scenario.spec import DemandSpec, Scenario, SourceSpec, TierSpec, VOLUME_UNITS
from siting.scenario.validate import SENSES, Validator, parse_sources, type_name

_TOP_KEYS = ["scenario", "objective", "solver", "demand", "tiers", "network", "sweep"]
_SCENARIO_KEYS = ["name", "description", "structure", "data_dir", "volume_unit", "circuity", "od_matrix",
                  "single_sourcing", "colocation", "year", "lang", "allow_far"]


def parse_scenario(raw: Mapping[str, Any], *, path: Path | None = None, base_dir: Path | None = None,
                   comments: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Validate a scenario dict (as read from TOML) into a frozen :class:`Scenario`.

    Raises
    ------
    ScenarioError
        Listing every defect.
    """
    file = str(path) if path is not None else "<scenario>"
    base = base_dir or (path.resolve().parent if path is not None else Path.cwd())
    v = Validator(file)
    if "pilot" in raw and "scenario" not in raw:
        v.add("pilot", "this is a drone-pilot file, not a scenario: run it with `siting pilot FILE`")
        v.found.raise_if_any(ScenarioError)
    v.keys(raw, _TOP_KEYS, "")
    sc_raw = v.table(raw, "scenario", "") or {}
    sc = _scenario_table(v, sc_raw, path, base)
    network = parse_network(v, raw, base, has_od=sc["od_matrix"] is not None)
    objective = _objective_table(v, raw)
    solver = _solver_table(v, raw)
    units = VOLUME_UNITS[sc["volume_unit"]]
    demand = _demand_tables(v, raw, base, units, sc["year"])
    timed = network is not None and (network.roads is not None or network.speed_kmh is not None)
    tiers = _tier_tables(v, raw, base, sc["volume_unit"], units, timed=timed or sc["od_matrix"] is not None)
    v.found.raise_if_any(ScenarioError)
    warns = tier_name_warnings(raw, file)
    return Scenario(
        path=path, base_dir=base, raw=copy.deepcopy(dict(raw)), description=str(sc_raw.get("description", "")),
        **sc, network=network, **objective, solver=solver, demand=tuple(demand), tiers=tuple(tiers),
        comments=dict(comments or {}), overrides=dict(overrides or {}), warnings=warns,
    )


def _scenario_table(v: Validator, sc: Mapping[str, Any], path: Path | None, base: Path) -> dict[str, Any]:
    v.keys(sc, _SCENARIO_KEYS, "scenario")
    name = v.string(sc, "name", "scenario", default=path.stem if path is not None else "scenario") or "scenario"
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        v.add("scenario.name", f"must use only letters, digits, '-', '_' and '.', got {name!r} (it names the output folder)")
    structure = str(sc.get("structure", "2024"))
    if structure not in ("2024", "2025"):
        v.add("scenario.structure", f"must be \"2024\" or \"2025\", got {sc.get('structure')!r}")
    data_dir = None
    if "data_dir" in sc:
        dd = v.string(sc, "data_dir", "scenario")
        if dd is not None:
            data_dir = Path(dd) if Path(dd).is_absolute() else base / dd
            if not data_dir.is_dir():
                v.add("scenario.data_dir", f"folder not found: {dd}")
    vu = v.string(sc, "volume_unit", "scenario", default="unit", choices=tuple(VOLUME_UNITS)) or "unit"
    od = v.path(sc, "od_matrix", "scenario", base=base) if "od_matrix" in sc else None
    out = {"name": name, "structure": structure, "data_dir": data_dir, "volume_unit": vu, "od_matrix": od,
           "single_sourcing": v.boolean(sc, "single_sourcing", "scenario", default=True),
           "colocation": v.boolean(sc, "colocation", "scenario", default=True),
           "year": v.integer(sc, "year", "scenario", minimum=1900) if "year" in sc else None,
           # accept points farther than siting.core.limits.FAR_KM from every point of the other side
           "allow_far": v.boolean(sc, "allow_far", "scenario", default=False)}
    v.string(sc, "lang", "scenario", choices=("en", "zh"))  # language of map, report, CLI summary (read from raw)
    out.update(parse_circuity(v, sc, base))
    return out


def _objective_table(v: Validator, raw: Mapping[str, Any]) -> dict[str, Any]:
    ob = v.table(raw, "objective", "") or {}
    v.keys(ob, ["kind", "budget_cny_per_year", "budget_scope"], "objective")
    kind = v.string(ob, "kind", "objective", default="cost", choices=("cost", "coverage")) or "cost"
    budget = v.number(ob, "budget_cny_per_year", "objective", default=math.inf, allow_inf=True)
    scope = v.string(ob, "budget_scope", "objective", default="total", choices=("total", "fixed")) or "total"
    if kind == "coverage" and (budget is None or math.isinf(budget)):
        v.add("objective.budget_cny_per_year", "the coverage objective needs a budget (a finite number, CNY/yr)")
    return {"objective": kind, "budget_cny_per_year": budget if budget is not None else math.inf, "budget_scope": scope}


def _solver_table(v: Validator, raw: Mapping[str, Any]) -> dict[str, Any]:
    so = v.table(raw, "solver", "") or {}
    v.keys(so, ["time_limit_s", "mip_rel_gap", "threads", "seed", "mip_heuristic_effort"], "solver")
    solver: dict[str, Any] = {}
    if "time_limit_s" in so:
        x = v.number(so, "time_limit_s", "solver", strict=True)
        if x is not None:
            solver["time_limit_s"] = x
    if "mip_rel_gap" in so:
        x = v.number(so, "mip_rel_gap", "solver")
        if x is not None and x >= 1:
            v.add("solver.mip_rel_gap", f"must be a fraction in [0, 1) (0.005 = 0.5 %), got {x:g}")
        elif x is not None:
            solver["mip_rel_gap"] = x
    if "mip_heuristic_effort" in so:
        x = v.number(so, "mip_heuristic_effort", "solver")
        if x is not None and x > 1:
            v.add("solver.mip_heuristic_effort", f"must be between 0 and 1, got {x:g}")
        elif x is not None:
            solver["mip_heuristic_effort"] = x
    for k in ("threads", "seed"):
        if k in so:
            x = v.integer(so, k, "solver", minimum=1 if k == "threads" else 0)
            if x is not None:
                solver[k] = x
    return solver


def _demand_tables(v: Validator, raw: Mapping[str, Any], base: Path, units: str, year: int | None) -> list[DemandSpec]:
    demand: list[DemandSpec] = []
    dm = v.table(raw, "demand", "", required=True) or {}
    if "demand" in raw and isinstance(raw["demand"], dict) and not dm:
        v.add("demand", "must have at least one component table, e.g. [demand.population]")
    for cname, comp in dm.items():
        key = f"demand.{cname}"
        if not isinstance(comp, dict):
            v.add(key, f"must be a table (a demand component), got {type_name(comp)}")
            continue
        demand.append(_demand_component(v, str(cname), comp, base, units, year))
    return demand


def _demand_component(v: Validator, cname: str, comp: Mapping[str, Any], base: Path, units: str,
                      year: int | None) -> DemandSpec:
    key = f"demand.{cname}"
    k_pp, k_py, k_pw = f"{units}_per_person_per_year", f"{units}_per_year", f"{units}_per_weight_unit"
    v.keys(comp, ["source", k_pp, k_py, k_pw, "description", "growth_rate_per_year", "base_year"], key,
           patterns=[(r"\w+_per_person_per_year", k_pp), (r"\w+_per_year", k_py), (r"\w+_per_weight_unit", k_pw)])
    if "source" not in comp:
        v.add(f"{key}.source", "missing (e.g. \"chongqing:townships\" or a file path)")
        srcs: tuple[SourceSpec, ...] = ()
    else:
        srcs = parse_sources(v, comp["source"], f"{key}.source", base)
    given = [k for k in (k_pp, k_py, k_pw) if k in comp]
    if len(given) > 1:
        v.add(key, f"give only one of {k_pp}, {k_py}, {k_pw}")
    pp = v.number(comp, k_pp, key) if k_pp in comp else None
    pw = v.number(comp, k_pw, key) if k_pw in comp else None
    ppt = None
    if k_py in comp:
        t = comp[k_py]
        if not isinstance(t, dict) or not t:
            v.add(f"{key}.{k_py}", f"must be a table of point name or id -> {units} per year")
        else:
            vals = []
            for pn in t:
                x = v.number(t, pn, f"{key}.{k_py}")
                if x is not None:
                    vals.append((str(pn), x))
            ppt = tuple(vals)
    if not given and srcs and any(s.layer == "townships" for s in srcs):
        v.add(key, f"says nothing about volume: give {k_pp} (population x rate) for a Chongqing layer")
    growth = v.number(comp, "growth_rate_per_year", key, default=0.0, minimum=-0.99) or 0.0
    base_year = v.integer(comp, "base_year", key, minimum=1900) if "base_year" in comp else None
    if "growth_rate_per_year" in comp and "base_year" not in comp:
        v.add(f"{key}.base_year", "missing: the year the volumes describe, from which growth_rate_per_year compounds")
    if year is not None and "growth_rate_per_year" not in comp:
        v.add(key, f"scenario.year = {year} but this component has no growth_rate_per_year and base_year "
                   "(give them; 0 for no growth)")
    return DemandSpec(name=cname, sources=srcs, per_person=pp, per_point=ppt, per_weight_unit=pw,
                      growth_rate_per_year=growth, base_year=base_year)


def _tier_tables(v: Validator, raw: Mapping[str, Any], base: Path, vu: str, units: str, *, timed: bool) -> list[TierSpec]:
    tiers: list[TierSpec] = []
    tt = v.table(raw, "tiers", "", required=True) or {}
    if "tiers" in raw and isinstance(raw["tiers"], dict) and not tt:
        v.add("tiers", "must have at least one tier table, e.g. [tiers.hub]")
    for tname, ts in tt.items():
        if not isinstance(ts, dict):
            v.add(f"tiers.{tname}", f"must be a table (a tier), got {type_name(ts)}")
            continue
        tiers.append(_tier(v, str(tname), ts, base, vu, units, timed=timed))
    return tiers


def _tier(v: Validator, tname: str, ts: Mapping[str, Any], base: Path, vu: str, units: str, *, timed: bool) -> TierSpec:
    key = f"tiers.{tname}"
    k_h, k_t, k_c = f"handling_cost_cny_per_{vu}", f"transport_cost_cny_per_{vu}_km", f"capacity_{units}_per_year"
    tier_keys = ["candidates", "description", "fixed_cost_cny_per_year", k_h, k_t, k_c, "radius_km", "radius_min",
                 "link_same", "required", "forbidden", "count", "count_per", "gateway", "shortlist", "max_road_hours"]
    patterns = [(r"handling_cost_cny_per_\w+", k_h), (r"transport_cost_cny_per_\w+_km", k_t), (r"capacity_\w+_per_year", k_c)]
    v.keys(ts, tier_keys, key, patterns=patterns)
    if "candidates" not in ts:
        v.add(f"{key}.candidates", "missing (e.g. \"chongqing:townships\" or a file path)")
        srcs: tuple[SourceSpec, ...] = ()
    else:
        srcs = parse_sources(v, ts["candidates"], f"{key}.candidates", base)
    cap = v.number(ts, k_c, key, default=math.inf, strict=True, allow_inf=True)
    rad = v.number(ts, "radius_km", key, default=math.inf, allow_inf=True)
    radm = v.number(ts, "radius_min", key, default=math.inf, allow_inf=True)
    hours = v.number(ts, "max_road_hours", key, default=math.inf, strict=True, allow_inf=True)
    for k in ("radius_min", "max_road_hours"):
        if k in ts and not timed:
            v.add(f"{key}.{k}", "needs travel times: give [network] roads, an od_matrix with a time_min column, "
                                "or [network] speed_kmh for estimated times")
    gateway, gateway_min = _gateway(v, ts, key, base, timed=timed)
    return TierSpec(
        name=tname, sources=srcs, shortlist=_shortlist(v, ts, key),
        fixed_cost_cny_per_year=v.number(ts, "fixed_cost_cny_per_year", key, default=0.0) or 0.0,
        handling_cost_cny_per_unit=v.number(ts, k_h, key, default=0.0) or 0.0,
        transport_cost_cny_per_unit_km=v.number(ts, k_t, key, default=0.0) or 0.0,
        capacity_per_year=cap if cap is not None else math.inf,
        radius_km=rad if rad is not None else math.inf, radius_min=radm if radm is not None else math.inf,
        link_same=v.string(ts, "link_same", key, choices=("unit", "region")),
        required=v.strings(ts, "required", key), forbidden=v.strings(ts, "forbidden", key),
        count=_count(v, ts, key), count_per=_count_per(v, ts, key), gateway=gateway, gateway_radius_min=gateway_min,
        max_road_hours=hours if hours is not None else math.inf,
    )


def _count(v: Validator, ts: Mapping[str, Any], key: str) -> tuple[str, int] | None:
    if "count" not in ts:
        return None
    c = v.table(ts, "count", key)
    if c is None:
        return None
    v.keys(c, list(SENSES), f"{key}.count")
    sens = [k for k in SENSES if k in c]
    if len(sens) != 1:
        v.add(f"{key}.count", "needs exactly one of exactly / at_least / at_most")
        return None
    n = v.integer(c, sens[0], f"{key}.count")
    return (SENSES[sens[0]], n) if n is not None else None


def _count_per(v: Validator, ts: Mapping[str, Any], key: str) -> tuple[str, str, int, tuple[str, ...]] | None:
    if "count_per" not in ts:
        return None
    c = v.table(ts, "count_per", key)
    if c is None:
        return None
    v.keys(c, ["by", "groups"] + list(SENSES), f"{key}.count_per")
    by = v.string(c, "by", f"{key}.count_per", choices=("unit", "region"))
    if "by" not in c:
        v.add(f"{key}.count_per.by", "missing (\"unit\" or \"region\")")
    sens = [k for k in SENSES if k in c]
    groups = v.strings(c, "groups", f"{key}.count_per")
    if len(sens) != 1:
        v.add(f"{key}.count_per", "needs exactly one of exactly / at_least / at_most")
        return None
    if by is None:
        return None
    n = v.integer(c, sens[0], f"{key}.count_per")
    return (by, SENSES[sens[0]], n, groups) if n is not None else None


def _gateway(v: Validator, ts: Mapping[str, Any], key: str, base: Path, *, timed: bool) -> tuple[Any, float]:
    if "gateway" not in ts:
        return None, math.inf
    g = v.table(ts, "gateway", key)
    if g is None:
        return None, math.inf
    k = f"{key}.gateway"
    v.keys(g, ["categories", "ids", "radius_km", "radius_min", "source"], k)
    cats = v.strings(g, "categories", k)
    ids = v.strings(g, "ids", k)
    if "radius_km" not in g and "radius_min" not in g:
        v.add(f"{k}.radius_km", "missing (give radius_km, radius_min or both)")
    gr = v.number(g, "radius_km", k, default=math.inf, allow_inf=True)
    gm = v.number(g, "radius_min", k, default=math.inf, allow_inf=True)
    if "radius_min" in g and not timed:
        v.add(f"{k}.radius_min", "needs travel times: give [network] roads, an od_matrix with a time_min column, "
                                 "or [network] speed_kmh for estimated times")
    gsrc = parse_sources(v, g.get("source", "chongqing:logistics"), f"{k}.source", base)
    if gr is None or gm is None or not gsrc:
        return None, math.inf
    return (cats, ids, gr, gsrc[0]), gm


def _shortlist(v: Validator, ts: Mapping[str, Any], key: str) -> tuple[str, int] | None:
    if "shortlist" not in ts:
        return None
    c = v.table(ts, "shortlist", key)
    if c is None:
        return None
    v.keys(c, ["per", "top"], f"{key}.shortlist")
    per = v.string(c, "per", f"{key}.shortlist", choices=("unit", "region"))
    if "per" not in c:
        v.add(f"{key}.shortlist.per", "missing (\"unit\" or \"region\")")
    top = v.integer(c, "top", f"{key}.shortlist", minimum=1) if "top" in c else None
    if "top" not in c:
        v.add(f"{key}.shortlist.top", "missing (how many candidates to keep per group)")
    return (per, top) if per is not None and top is not None else None
