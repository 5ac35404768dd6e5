"""Scenario files: TOML -> validated, frozen :class:`Scenario` -> :class:`~siting.core.network.NetworkProblem`.

A scenario names its demand, its tiers (top first), their candidate sites, costs, radii and counts, and the
objective. Every parameter carries its unit in its key (``fixed_cost_cny_per_year``, ``radius_km``,
``parcels_per_person_per_year``); the volume unit is declared once (``[scenario] volume_unit = "parcel"``)
and the volume-dependent keys spell it (``handling_cost_cny_per_parcel``,
``transport_cost_cny_per_parcel_km``, ``capacity_parcels_per_year``).

Layout (see ``models/example.toml`` for a complete, commented file)::

    [scenario]   name, description, structure ("2024"|"2025"), data_dir, volume_unit, circuity,
                 od_matrix, single_sourcing, colocation, year (planning year; see growth below)
    [objective]  kind ("cost"|"coverage"), budget_cny_per_year, budget_scope ("total"|"fixed")
    [solver]     time_limit_s, mip_rel_gap, threads, seed, mip_heuristic_effort
    [demand.<component>]   source, <units>_per_person_per_year | <units>_per_year | <units>_per_weight_unit,
                           weight_col, id_col, name_col, lon_col, lat_col, unit_col, region_col, coord_system,
                           growth_rate_per_year, base_year
    [tiers.<name>]         (file order = top to bottom) candidates, fixed_cost_cny_per_year,
                           handling_cost_cny_per_<unit>, transport_cost_cny_per_<unit>_km,
                           capacity_<units>_per_year, radius_km, radius_min, link_same, required, forbidden,
                           count = {exactly|at_least|at_most}, count_per = {by, exactly|at_least|at_most},
                           gateway = {categories, ids, radius_km, source}
    [sweep]      free-form, read by ``siting sweep``

Sources (``source`` / ``candidates``): ``"chongqing:townships"``, ``"chongqing:unit_seats"``,
``"chongqing:district_seats"``, ``"chongqing:logistics"`` (from ``data/geo/`` through :mod:`siting.geo`),
or a path to the user's own point file relative to the scenario file (CSV/GeoPackage/GeoJSON/...; read with
:func:`siting.geo.read_points`), or a table ``{path = "...", id_col = "...", ...}``. A list combines several.

Growth: a component's volumes describe its ``base_year``; with ``[scenario] year`` set, they are multiplied
by ``(1 + growth_rate_per_year) ** (year - base_year)`` (compound annual growth, a documented assumption of
the scenario), so "the 2027 network" is ``--set scenario.year=2027``. Without ``year`` nothing is scaled.

Validation collects every defect (unknown key with a "did you mean" suggestion, wrong type, negative or NaN
number, missing file or column, impossible counts) and raises one :class:`ScenarioError`, one line per
defect naming the file and the dotted key.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from siting.core.errors import DefectCollector, ScenarioError
from siting.scenario.spec import CHONGQING_SOURCES, DemandSpec, Scenario, SourceSpec, TierSpec, VOLUME_UNITS


_SENSES = {"exactly": "==", "at_least": ">=", "at_most": "<="}


_SOURCE_TABLE_KEYS = ("path", "id_col", "name_col", "lon_col", "lat_col", "weight_col", "unit_col", "region_col",
                      "fixed_cost_col", "capacity_col", "category_col", "coord_system", "crs", "layer")


class _V:
    """Validation helpers bound to one collector."""

    def __init__(self, file: str):
        self.found = DefectCollector(file)

    def add(self, key: str, msg: str) -> None:
        self.found.add(msg, row=key)

    def keys(self, table: Mapping[str, Any], allowed: list[str], key: str, *, patterns: list[tuple[str, str]] = ()) -> None:
        for k in table:
            if k in allowed:
                continue
            where = f"{key}.{k}" if key else k
            hint = difflib.get_close_matches(k, allowed + [p for _, p in patterns], n=1, cutoff=0.6)
            extra = ""
            for rx, example in patterns:
                if re.fullmatch(rx, k):
                    extra = f" (the volume unit of this scenario spells it {example!r})"
                    hint = []
                    break
            if hint:
                self.add(where, f"unknown key; did you mean {hint[0]!r}?")
            else:
                self.add(where, f"unknown key{extra}; allowed: {', '.join(allowed)}")

    def table(self, parent: Mapping[str, Any], k: str, key: str, *, required: bool = False) -> dict[str, Any] | None:
        where = f"{key}.{k}" if key else k
        if k not in parent:
            if required:
                self.add(where, "missing table")
            return None
        v = parent[k]
        if not isinstance(v, dict):
            self.add(where, f"must be a table, got {_tname(v)}")
            return None
        return v

    def number(self, t: Mapping[str, Any], k: str, key: str, *, default: float | None = None, minimum: float = 0.0,
               strict: bool = False, allow_inf: bool = False, required: bool = False) -> float | None:
        where = f"{key}.{k}" if key else k
        if k not in t:
            if required:
                self.add(where, "missing (a number is required)")
            return default
        v = t[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.add(where, f"must be a number, got {_tname(v)} {v!r}")
            return default
        v = float(v)
        if math.isnan(v):
            self.add(where, "must be a number, got nan")
            return default
        if math.isinf(v) and not allow_inf:
            self.add(where, f"must be finite, got {v}")
            return default
        if v < minimum or (strict and v <= minimum):
            self.add(where, f"must be {'>' if strict else '>='} {minimum:g}, got {v:g}")
            return default
        return v

    def integer(self, t: Mapping[str, Any], k: str, key: str, *, minimum: int = 0) -> int | None:
        where = f"{key}.{k}" if key else k
        v = t.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and (not v.is_integer())):
            self.add(where, f"must be a whole number, got {_tname(v)} {v!r}")
            return None
        if v < minimum:
            self.add(where, f"must be >= {minimum}, got {int(v)}")
            return None
        return int(v)

    def string(self, t: Mapping[str, Any], k: str, key: str, *, default: str | None = None,
               choices: tuple[str, ...] | None = None) -> str | None:
        where = f"{key}.{k}" if key else k
        if k not in t:
            return default
        v = t[k]
        if isinstance(v, int) and not isinstance(v, bool) and choices is None:
            v = str(v)
        if not isinstance(v, str):
            self.add(where, f"must be a string, got {_tname(v)} {v!r}")
            return default
        if choices is not None and v not in choices:
            hint = difflib.get_close_matches(v, list(choices), n=1)
            self.add(where, f"must be one of {', '.join(map(repr, choices))}, got {v!r}"
                     + (f"; did you mean {hint[0]!r}?" if hint else ""))
            return default
        return v

    def boolean(self, t: Mapping[str, Any], k: str, key: str, *, default: bool) -> bool:
        where = f"{key}.{k}" if key else k
        if k not in t:
            return default
        v = t[k]
        if not isinstance(v, bool):
            self.add(where, f"must be true or false, got {_tname(v)} {v!r}")
            return default
        return v

    def strings(self, t: Mapping[str, Any], k: str, key: str) -> tuple[str, ...]:
        where = f"{key}.{k}" if key else k
        if k not in t:
            return ()
        v = t[k]
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in v):
            self.add(where, f"must be a list of strings, got {_tname(v)} {v!r}")
            return ()
        return tuple(str(x) for x in v)


def _tname(v: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(type(v), type(v).__name__)


def _sources(v: _V, value: Any, key: str, base_dir: Path) -> tuple[SourceSpec, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        v.add(key, "must name at least one source")
    out: list[SourceSpec] = []
    for n, item in enumerate(items):
        where = key if not isinstance(value, list) else f"{key}[{n}]"
        if isinstance(item, str):
            if item.startswith("chongqing:"):
                if item not in CHONGQING_SOURCES:
                    hint = difflib.get_close_matches(item, list(CHONGQING_SOURCES), n=1)
                    v.add(where, f"unknown built-in source {item!r}" + (f"; did you mean {hint[0]!r}?" if hint
                                                                            else f"; known: {', '.join(CHONGQING_SOURCES)}"))
                    continue
                out.append(SourceSpec(layer=item.split(":", 1)[1], key=where))
                continue
            item = {"path": item}
        if not isinstance(item, dict):
            v.add(where, f"must be a source name, a file path or a table with 'path', got {_tname(item)}")
            continue
        v.keys(item, list(_SOURCE_TABLE_KEYS), where)
        path = v.string(item, "path", where)
        if path is None:
            v.add(f"{where}.path", "missing (the file to read)")
            continue
        p = Path(path)
        full = p if p.is_absolute() else (base_dir / p)
        if not full.is_file():
            v.add(f"{where}.path" if isinstance(value, dict) or len(item) > 1 else where,
                  f"file not found: {path} (looked at {full})")
            continue
        opts = tuple((k, item[k]) for k in _SOURCE_TABLE_KEYS if k in item and k != "path")
        out.append(SourceSpec(path=full, options=opts, key=where))
    return tuple(out)


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
    v = _V(file)
    v.keys(raw, ["scenario", "objective", "solver", "demand", "tiers", "sweep"], "")

    sc = v.table(raw, "scenario", "") or {}
    v.keys(sc, ["name", "description", "structure", "data_dir", "volume_unit", "circuity", "od_matrix",
                "single_sourcing", "colocation", "year", "lang"], "scenario")
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
    units = VOLUME_UNITS[vu]
    circuity = v.number(sc, "circuity", "scenario", default=1.0, minimum=1.0) or 1.0
    od = None
    if "od_matrix" in sc:
        s = v.string(sc, "od_matrix", "scenario")
        if s is not None:
            od = Path(s) if Path(s).is_absolute() else base / s
            if not od.is_file():
                v.add("scenario.od_matrix", f"file not found: {s} (looked at {od})")
                od = None
    single = v.boolean(sc, "single_sourcing", "scenario", default=True)
    coloc = v.boolean(sc, "colocation", "scenario", default=True)
    year = v.integer(sc, "year", "scenario", minimum=1900) if "year" in sc else None
    v.string(sc, "lang", "scenario", choices=("en", "zh"))  # language of map, report, CLI summary (read from raw)

    ob = v.table(raw, "objective", "") or {}
    v.keys(ob, ["kind", "budget_cny_per_year", "budget_scope"], "objective")
    kind = v.string(ob, "kind", "objective", default="cost", choices=("cost", "coverage")) or "cost"
    budget = v.number(ob, "budget_cny_per_year", "objective", default=math.inf, allow_inf=True)
    scope = v.string(ob, "budget_scope", "objective", default="total", choices=("total", "fixed")) or "total"
    if kind == "coverage" and (budget is None or math.isinf(budget)):
        v.add("objective.budget_cny_per_year", "the coverage objective needs a budget (a finite number, CNY/yr)")

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

    # demand components
    demand: list[DemandSpec] = []
    dm = v.table(raw, "demand", "", required=True) or {}
    if "demand" in raw and isinstance(raw["demand"], dict) and not dm:
        v.add("demand", "must have at least one component table, e.g. [demand.population]")
    k_pp, k_py, k_pw = f"{units}_per_person_per_year", f"{units}_per_year", f"{units}_per_weight_unit"
    for cname, comp in dm.items():
        key = f"demand.{cname}"
        if not isinstance(comp, dict):
            v.add(key, f"must be a table (a demand component), got {_tname(comp)}")
            continue
        v.keys(comp, ["source", k_pp, k_py, k_pw, "description", "growth_rate_per_year", "base_year"], key,
               patterns=[(r"\w+_per_person_per_year", k_pp), (r"\w+_per_year", k_py), (r"\w+_per_weight_unit", k_pw)])
        if "source" not in comp:
            v.add(f"{key}.source", "missing (e.g. \"chongqing:townships\" or a file path)")
            srcs: tuple[SourceSpec, ...] = ()
        else:
            srcs = _sources(v, comp["source"], f"{key}.source", base)
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
        demand.append(DemandSpec(name=str(cname), sources=srcs, per_person=pp, per_point=ppt, per_weight_unit=pw,
                                 growth_rate_per_year=growth, base_year=base_year))

    # tiers
    tiers: list[TierSpec] = []
    tt = v.table(raw, "tiers", "", required=True) or {}
    if "tiers" in raw and isinstance(raw["tiers"], dict) and not tt:
        v.add("tiers", "must have at least one tier table, e.g. [tiers.hub]")
    k_h, k_t, k_c = f"handling_cost_cny_per_{vu}", f"transport_cost_cny_per_{vu}_km", f"capacity_{units}_per_year"
    tier_keys = ["candidates", "description", "fixed_cost_cny_per_year", k_h, k_t, k_c, "radius_km", "radius_min",
                 "link_same", "required", "forbidden", "count", "count_per", "gateway", "shortlist"]
    patterns = [(r"handling_cost_cny_per_\w+", k_h), (r"transport_cost_cny_per_\w+_km", k_t), (r"capacity_\w+_per_year", k_c)]
    for tname, ts in tt.items():
        key = f"tiers.{tname}"
        if not isinstance(ts, dict):
            v.add(key, f"must be a table (a tier), got {_tname(ts)}")
            continue
        v.keys(ts, tier_keys, key, patterns=patterns)
        if "candidates" not in ts:
            v.add(f"{key}.candidates", "missing (e.g. \"chongqing:townships\" or a file path)")
            srcs = ()
        else:
            srcs = _sources(v, ts["candidates"], f"{key}.candidates", base)
        fixed = v.number(ts, "fixed_cost_cny_per_year", key, default=0.0) or 0.0
        hand = v.number(ts, k_h, key, default=0.0) or 0.0
        trans = v.number(ts, k_t, key, default=0.0) or 0.0
        cap = v.number(ts, k_c, key, default=math.inf, strict=True, allow_inf=True)
        rad = v.number(ts, "radius_km", key, default=math.inf, allow_inf=True)
        radm = v.number(ts, "radius_min", key, default=math.inf, allow_inf=True)
        if "radius_min" in ts and od is None:
            v.add(f"{key}.radius_min", "needs travel times: set scenario.od_matrix to a file with a time_min column")
        same = v.string(ts, "link_same", key, choices=("unit", "region"))
        count = None
        if "count" in ts:
            c = v.table(ts, "count", key)
            if c is not None:
                v.keys(c, list(_SENSES), f"{key}.count")
                sens = [k for k in _SENSES if k in c]
                if len(sens) != 1:
                    v.add(f"{key}.count", "needs exactly one of exactly / at_least / at_most")
                else:
                    n = v.integer(c, sens[0], f"{key}.count")
                    if n is not None:
                        count = (_SENSES[sens[0]], n)
        count_per = None
        if "count_per" in ts:
            c = v.table(ts, "count_per", key)
            if c is not None:
                v.keys(c, ["by", "groups"] + list(_SENSES), f"{key}.count_per")
                by = v.string(c, "by", f"{key}.count_per", choices=("unit", "region"))
                if "by" not in c:
                    v.add(f"{key}.count_per.by", "missing (\"unit\" or \"region\")")
                sens = [k for k in _SENSES if k in c]
                groups = v.strings(c, "groups", f"{key}.count_per")
                if len(sens) != 1:
                    v.add(f"{key}.count_per", "needs exactly one of exactly / at_least / at_most")
                elif by is not None:
                    n = v.integer(c, sens[0], f"{key}.count_per")
                    if n is not None:
                        count_per = (by, _SENSES[sens[0]], n, groups)
        gateway = None
        if "gateway" in ts:
            g = v.table(ts, "gateway", key)
            if g is not None:
                v.keys(g, ["categories", "ids", "radius_km", "source"], f"{key}.gateway")
                cats = v.strings(g, "categories", f"{key}.gateway")
                ids = v.strings(g, "ids", f"{key}.gateway")
                gr = v.number(g, "radius_km", f"{key}.gateway", required=True)
                gsrc = _sources(v, g.get("source", "chongqing:logistics"), f"{key}.gateway.source", base)
                if gr is not None and gsrc:
                    gateway = (cats, ids, gr, gsrc[0])
        shortlist = None
        if "shortlist" in ts:
            c = v.table(ts, "shortlist", key)
            if c is not None:
                v.keys(c, ["per", "top"], f"{key}.shortlist")
                per = v.string(c, "per", f"{key}.shortlist", choices=("unit", "region"))
                if "per" not in c:
                    v.add(f"{key}.shortlist.per", "missing (\"unit\" or \"region\")")
                top = v.integer(c, "top", f"{key}.shortlist", minimum=1) if "top" in c else None
                if "top" not in c:
                    v.add(f"{key}.shortlist.top", "missing (how many candidates to keep per group)")
                if per is not None and top is not None:
                    shortlist = (per, top)
        tiers.append(TierSpec(
            name=str(tname), sources=srcs, shortlist=shortlist, fixed_cost_cny_per_year=fixed, handling_cost_cny_per_unit=hand,
            transport_cost_cny_per_unit_km=trans, capacity_per_year=cap if cap is not None else math.inf,
            radius_km=rad if rad is not None else math.inf, radius_min=radm if radm is not None else math.inf,
            link_same=same, required=v.strings(ts, "required", key), forbidden=v.strings(ts, "forbidden", key),
            count=count, count_per=count_per, gateway=gateway,
        ))
    if tiers and tiers[-1].link_same:
        pass  # demand points carry unit/region labels too: allowed
    v.found.raise_if_any(ScenarioError)
    return Scenario(
        name=name, path=path, base_dir=base, raw=copy.deepcopy(dict(raw)), description=str(sc.get("description", "")),
        structure=structure, data_dir=data_dir, volume_unit=vu, circuity=circuity, od_matrix=od,
        single_sourcing=single, colocation=coloc, objective=kind,
        budget_cny_per_year=budget if budget is not None else math.inf, budget_scope=scope, solver=solver,
        demand=tuple(demand), tiers=tuple(tiers), comments=dict(comments or {}), year=year,
        overrides=dict(overrides or {}),
    )
