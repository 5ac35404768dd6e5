"""Scenario files: TOML -> validated, frozen :class:`Scenario` -> :class:`~siting.network.NetworkProblem`.

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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DataError, Defect, DefectCollector, InputError, ScenarioError
from .network import CountRule, Gateway, Links, NetworkProblem, Tier

__all__ = [
    "Scenario",
    "TierSpec",
    "DemandSpec",
    "VOLUME_UNITS",
    "CHONGQING_SOURCES",
    "load_scenario",
    "parse_scenario",
    "apply_overrides",
    "parse_value",
    "build_problem",
    "scenario_comments",
]

#: supported volume units: singular (in ``..._per_<unit>``) -> plural (in ``<units>_per_...``)
VOLUME_UNITS = {"parcel": "parcels", "t": "t", "unit": "units", "pallet": "pallets", "trip": "trips"}

#: the built-in Chongqing layers
CHONGQING_SOURCES = ("chongqing:townships", "chongqing:unit_seats", "chongqing:district_seats", "chongqing:logistics")

_SENSES = {"exactly": "==", "at_least": ">=", "at_most": "<="}
_SOURCE_TABLE_KEYS = ("path", "id_col", "name_col", "lon_col", "lat_col", "weight_col", "unit_col", "region_col",
                      "fixed_cost_col", "capacity_col", "category_col", "coord_system", "crs", "layer")


# ---------------------------------------------------------------------------------------------------------
# frozen specs


@dataclass(frozen=True)
class SourceSpec:
    """One point source: a built-in layer (``layer``) or a user file (``path`` + column names)."""

    layer: str | None = None
    path: Path | None = None
    options: tuple[tuple[str, Any], ...] = ()
    key: str = ""  # dotted key, for messages

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    def describe(self) -> str:
        return self.layer if self.layer else str(self.path)


@dataclass(frozen=True)
class DemandSpec:
    """One demand component (consumption, a farm product, ...)."""

    name: str
    sources: tuple[SourceSpec, ...]
    per_person: float | None = None  # volume per person per year
    per_point: tuple[tuple[str, float], ...] | None = None  # (point name or id, volume per year)
    per_weight_unit: float | None = None  # multiplier of the file's weight column
    growth_rate_per_year: float = 0.0  # compound annual growth of the volumes (0.12 = 12 %/yr)
    base_year: int | None = None  # the year the volumes describe

    def growth_factor(self, year: int | None) -> float:
        """Volume multiplier ``(1 + growth_rate_per_year) ** (year - base_year)``; 1 without a year."""
        if year is None or self.base_year is None:
            return 1.0
        return (1.0 + self.growth_rate_per_year) ** (year - self.base_year)


@dataclass(frozen=True)
class TierSpec:
    """One tier of the scenario (top first)."""

    name: str
    sources: tuple[SourceSpec, ...]
    fixed_cost_cny_per_year: float = 0.0
    handling_cost_cny_per_unit: float = 0.0
    transport_cost_cny_per_unit_km: float = 0.0
    capacity_per_year: float = math.inf
    radius_km: float = math.inf
    radius_min: float = math.inf
    link_same: str | None = None
    required: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    count: tuple[str, int] | None = None  # (sense, value)
    count_per: tuple[str, str, int, tuple[str, ...]] | None = None  # (by, sense, value, groups)
    gateway: tuple[tuple[str, ...], tuple[str, ...], float, SourceSpec] | None = None  # categories, ids, radius, source
    shortlist: tuple[str, int] | None = None  # (group, n): keep the n most populous candidates per group


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario (build the problem with :func:`build_problem`).

    ``raw`` is the resolved TOML dict (``overrides``, the dotted-key overrides, applied); ``comments`` maps
    dotted keys to the comment written next to them in the file (their source or "assumption").
    """

    name: str
    path: Path | None
    base_dir: Path
    raw: Mapping[str, Any]
    description: str = ""
    structure: str = "2024"
    data_dir: Path | None = None
    volume_unit: str = "unit"
    circuity: float = 1.0
    od_matrix: Path | None = None
    single_sourcing: bool = True
    colocation: bool = True
    objective: str = "cost"
    budget_cny_per_year: float = math.inf
    budget_scope: str = "total"
    solver: Mapping[str, Any] = field(default_factory=dict)
    year: int | None = None  # planning year: demand components grow to it from their base_year
    demand: tuple[DemandSpec, ...] = ()
    tiers: tuple[TierSpec, ...] = ()
    comments: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)

    @property
    def units(self) -> str:
        return VOLUME_UNITS[self.volume_unit]

    @property
    def weight_unit(self) -> str:
        return f"{self.units}/yr"

    def with_overrides(self, overrides: Mapping[str, Any] | None) -> Scenario:
        """A re-validated copy with dotted-key overrides applied."""
        if not overrides:
            return self
        raw = apply_overrides(self.raw, overrides, file=str(self.path) if self.path else "<scenario>")
        return parse_scenario(raw, path=self.path, base_dir=self.base_dir, comments=self.comments,
                              overrides={**self.overrides, **overrides})

    def solver_options(self, default: Any) -> Any:
        """``default`` (a :class:`~siting.solve.SolverOptions`) updated with the ``[solver]`` table."""
        from dataclasses import replace

        mapping = {"time_limit_s": "time_limit_s", "mip_rel_gap": "mip_rel_gap", "threads": "threads", "seed": "seed"}
        out = replace(default, **{mapping[k]: v for k, v in self.solver.items() if k in mapping})
        extra = {k: v for k, v in self.solver.items() if k not in mapping}  # raw HiGHS options
        return replace(out, extra={**out.extra, **extra}) if extra else out

    def default_out_dir(self) -> Path:
        """``maps/<scenario-name>/`` under the current directory."""
        return Path("maps") / self.name

    def uses_chongqing(self) -> bool:
        srcs = [s for d in self.demand for s in d.sources] + [s for t in self.tiers for s in t.sources]
        return any(s.layer for s in srcs)

    def boundaries(self) -> Any:
        """District polygons for the map when the scenario uses the Chongqing layers, else ``None``."""
        if not self.uses_chongqing():
            return None
        from . import geo

        d = geo.load_districts(data_dir=self.data_dir, structure=self.structure)
        return d[["adcode", "name_zh", "region", "geometry"]]

    def assumptions(self) -> dict[str, str]:
        """Dotted key -> comment (source or "assumption") for every commented parameter."""
        return dict(self.comments)


# ---------------------------------------------------------------------------------------------------------
# reading, overrides


def scenario_comments(text: str) -> dict[str, str]:
    """Dotted key -> trailing comment (or the comment lines just above) for each ``key = value`` line.

    Only simple ``key = value`` lines are read (not multi-line arrays' items); table headers set the prefix.
    """
    out: dict[str, str] = {}
    prefix = ""
    above: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            above = []
            continue
        if s.startswith("#"):
            above.append(s.lstrip("#").strip())
            continue
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", s)
        if m:
            prefix = ".".join(p.strip().strip('"') for p in m.group(1).split("."))
            above = []
            continue
        m = re.match(r'^([A-Za-z0-9_\-."]+)\s*=\s*(.*)$', s)
        if m:
            key = ".".join(p.strip().strip('"') for p in m.group(1).split("."))
            rest = m.group(2)
            comment = ""
            # a trailing comment: the last '#' outside quotes
            in_str, quote = False, ""
            for k, ch in enumerate(rest):
                if ch in "\"'" and (not in_str or ch == quote):
                    in_str, quote = (not in_str), ch
                elif ch == "#" and not in_str:
                    comment = rest[k + 1 :].strip()
                    break
            if not comment and above:
                comment = " ".join(above)
            if comment:
                out[f"{prefix}.{key}" if prefix else key] = comment
        above = []
    return out


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML value (number, bool, string, array, inline table), else the raw string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: Mapping[str, Any], overrides: Mapping[str, Any], *, file: str = "<scenario>") -> dict[str, Any]:
    """A deep copy of ``raw`` with each dotted key of ``overrides`` set (tables created as needed).

    Unknown keys are left to validation, which reports them with a suggestion.
    """
    out = copy.deepcopy(dict(raw))
    found = DefectCollector(file)
    for key, value in overrides.items():
        parts = [p for p in str(key).split(".")]
        if not all(parts):
            found.add(f"--set {key!r}: not a dotted key", row=str(key))
            continue
        node: Any = out
        ok = True
        for p in parts[:-1]:
            if isinstance(node, dict):
                node = node.setdefault(p, {})
            else:
                ok = False
                break
        if not ok or not isinstance(node, dict):
            found.add(f"--set {key!r}: {'.'.join(parts[:-1])} is not a table", row=str(key))
            continue
        node[parts[-1]] = parse_value(value) if isinstance(value, str) and value and _looks_literal(value) else value
    found.raise_if_any(ScenarioError)
    return out


def _looks_literal(s: str) -> bool:
    return bool(re.match(r"^\s*([-+]?[0-9.]|true|false|inf|nan|\[|\{|\")", s))


def load_scenario(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, override and validate a scenario file.

    Raises
    ------
    ScenarioError
        Every defect at once, one line each (file, dotted key, message).
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(Defect("scenario file not found", str(p)))
    text = p.read_bytes().decode("utf-8", errors="replace")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(Defect(f"not valid TOML: {exc}", str(p))) from None
    if overrides:
        raw = apply_overrides(raw, overrides, file=str(p))
    return parse_scenario(raw, path=p, base_dir=p.resolve().parent, comments=scenario_comments(text),
                          overrides=overrides)


# ---------------------------------------------------------------------------------------------------------
# validation


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
                "single_sourcing", "colocation", "year"], "scenario")
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


# ---------------------------------------------------------------------------------------------------------
# building the problem


@dataclass
class _Points:
    """Points of one source, normalised: ids, names, lon, lat, unit, region, population, category, extras."""

    ids: np.ndarray
    names: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    unit: np.ndarray
    region: np.ndarray
    population: np.ndarray | None = None
    weight: np.ndarray | None = None
    category: np.ndarray | None = None
    fixed_cost: np.ndarray | None = None
    capacity: np.ndarray | None = None
    site: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx: np.ndarray) -> _Points:
        def t(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx]

        return _Points(self.ids[idx], self.names[idx], self.lon[idx], self.lat[idx], self.unit[idx], self.region[idx],
                       t(self.population), t(self.weight), t(self.category), t(self.fixed_cost), t(self.capacity),
                       t(self.site))


def _obj(values: Any) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for k, x in enumerate(values):
        out[k] = None if x is None or (isinstance(x, float) and math.isnan(x)) or (x != x) else str(x)
    return out


class _Loader:
    """Loads and caches point sources of one scenario."""

    def __init__(self, scen: Scenario):
        self.scen = scen
        self._cache: dict[Any, _Points] = {}

    def layer(self, name: str) -> _Points:
        if name in self._cache:
            return self._cache[name]
        from . import geo

        kw = {"data_dir": self.scen.data_dir, "structure": self.scen.structure}
        if name == "townships":
            t = geo.load_townships(**kw)
            pts = _Points(_obj(t["code9"]), _obj(t["name_zh"]), t["lon"].to_numpy(float), t["lat"].to_numpy(float),
                          _obj(t["unit_id"]), _obj(t["region"]), population=t["population"].to_numpy(float),
                          site=_obj("township:" + t["code9"].astype(str)))
        elif name == "unit_seats":
            u = geo.load_units(**kw)
            pts = _Points(_obj(u["unit_id"]), _obj(u["name_zh"]), u["seat_lon"].to_numpy(float), u["seat_lat"].to_numpy(float),
                          _obj(u["unit_id"]), _obj(u["region"]), population=u["population"].to_numpy(float),
                          site=_obj("seat:" + u["unit_id"].astype(str)))
        elif name == "district_seats":
            d = geo.load_districts(**kw)
            pts = _Points(_obj(d["adcode"]), _obj(d["name_zh"]), d["seat_lon"].to_numpy(float), d["seat_lat"].to_numpy(float),
                          _obj(d["adcode"]), _obj(d["region"]), population=d["pop_census2020"].to_numpy(float),
                          site=_obj("seat:" + d["adcode"].astype(str)))
        elif name == "logistics":
            g = geo.load_logistics_points(**kw)
            d = geo.load_districts(**kw).set_index("adcode")
            region = g["district_adcode"].map(d["region"])
            pts = _Points(_obj(g["id"]), _obj(g["name_zh"]), g["lon"].to_numpy(float), g["lat"].to_numpy(float),
                          _obj(g["district_adcode"]), _obj(region), category=_obj(g["category"]),
                          site=_obj("logistics:" + g["id"].astype(str)))
        else:  # pragma: no cover - validated before
            raise ScenarioError(f"unknown layer {name}")
        self._cache[name] = pts
        return pts

    def file(self, src: SourceSpec) -> _Points:
        key = (str(src.path), src.options)
        if key in self._cache:
            return self._cache[key]
        from . import geo

        o = dict(src.options)
        g = geo.read_points(src.path, id_col=o.get("id_col"), lon_col=o.get("lon_col"), lat_col=o.get("lat_col"),
                            weight_col=o.get("weight_col"), crs=o.get("crs"), coord_system=o.get("coord_system"),
                            layer=o.get("layer"))
        found = DefectCollector(str(src.path))

        def col(opt: str, defaults: tuple[str, ...]) -> Any:
            name = o.get(opt)
            if name is not None:
                if name not in g.columns:
                    found.add(f"column named by {src.key}.{opt} is missing (columns: {', '.join(map(str, g.columns))})",
                              column=name)
                    return None
                return g[name]
            for d in defaults:
                if d in g.columns:
                    return g[d]
            return None

        names = col("name_col", ("name", "name_zh"))
        unit = col("unit_col", ("unit", "unit_id"))
        region = col("region_col", ("region",))
        cat = col("category_col", ("category",))
        fixed = col("fixed_cost_col", ())
        cap = col("capacity_col", ())
        n = len(g)

        def num(s: Any, what: str) -> np.ndarray | None:
            if s is None:
                return None
            import pandas as pd

            x = pd.to_numeric(s, errors="coerce").to_numpy(float)
            for r in np.flatnonzero(~np.isfinite(x) | (x < 0)):
                if what == "capacity" and np.isposinf(x[r]):
                    continue
                found.add(f"{what} must be a number >= 0, got {s.iloc[r]!r}", row=int(r) + 1, column=str(s.name))
            return x

        fx, cx = num(fixed, "fixed cost"), num(cap, "capacity")
        found.raise_if_any(DataError)
        ids = _obj(g["id"])
        pts = _Points(ids, _obj(names) if names is not None else ids.copy(), g["lon"].to_numpy(float), g["lat"].to_numpy(float),
                      _obj(unit) if unit is not None else np.full(n, None, dtype=object),
                      _obj(region) if region is not None else np.full(n, None, dtype=object),
                      population=g["weight"].to_numpy(float), weight=g["weight"].to_numpy(float),
                      category=_obj(cat) if cat is not None else None, fixed_cost=fx, capacity=cx,
                      site=_obj(f"{src.path.name}:" + g["id"].astype(str)))
        self._cache[key] = pts
        return pts

    def points(self, src: SourceSpec) -> _Points:
        return self.layer(src.layer) if src.layer else self.file(src)

    def combined(self, sources: tuple[SourceSpec, ...]) -> tuple[_Points, list[str]]:
        parts = [self.points(s) for s in sources]
        origin = [s.key for s, p in zip(sources, parts) for _ in range(len(p))]
        if len(parts) == 1:
            return parts[0], origin

        def cat(attr: str) -> np.ndarray | None:
            vals = [getattr(p, attr) for p in parts]
            if all(x is None for x in vals):
                return None
            filled = []
            for p, x in zip(parts, vals):
                if x is None:
                    x = np.full(len(p), np.nan) if attr in ("population", "weight", "fixed_cost", "capacity") else np.full(len(p), None, dtype=object)
                filled.append(x)
            return np.concatenate(filled)

        return _Points(*(cat(a) for a in ("ids", "names", "lon", "lat", "unit", "region", "population", "weight",
                                          "category", "fixed_cost", "capacity", "site"))), origin


def _pairs(scen: Scenario, od: Any, c: _Points, p: _Points, radius_km: float, radius_min: float,
           child_ids: np.ndarray, parent_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Allowed (child, parent) pairs within the radius: a spatial index, or the OD matrix when given."""
    from .distance import pairs_within

    if od is None:
        ia, ib, d = pairs_within(c.lon, c.lat, p.lon, p.lat, radius_km, circuity=scen.circuity)
        return ia, ib, d, None
    # OD matrix: the listed pairs between these ids (an id may name several points, e.g. one county seat in
    # two demand components), filtered by the radii
    import pandas as pd

    odf = pd.DataFrame({"f": od.from_id.astype(str), "t": od.to_id.astype(str), "d": od.distance_km,
                        "m": od.time_min if od.time_min is not None else np.full(len(od.distance_km), np.nan)})
    cdf = pd.DataFrame({"f": child_ids.astype(str), "ia": np.arange(len(child_ids))})
    pdf = pd.DataFrame({"t": parent_ids.astype(str), "ib": np.arange(len(parent_ids))})
    j = odf.merge(cdf, on="f").merge(pdf, on="t")
    ok = (j["d"] <= radius_km).to_numpy().copy()
    if od.time_min is not None:
        ok &= (j["m"] <= radius_min).to_numpy()
    j = j[ok]
    t = j["m"].to_numpy(float) if od.time_min is not None else None
    return j["ia"].to_numpy(np.int64), j["ib"].to_numpy(np.int64), j["d"].to_numpy(float), t


def build_problem(scen: Scenario) -> NetworkProblem:
    """Load the scenario's data and build its :class:`NetworkProblem`.

    Candidate filtering happens here, before any model: forbidden sites are kept (fixed closed by the model);
    gateway access drops candidates farther than the gateway radius from every gateway point (the dropped ones
    are recorded in ``problem.meta["dropped"]`` for the precheck's messages); radii and ``link_same`` rules
    define the sparse links.

    Raises
    ------
    ScenarioError
        Unknown required/forbidden ids or demand point names, impossible counts (with the dotted key).
    DataError
        A data file is malformed.
    """
    file = str(scen.path) if scen.path else "<scenario>"
    found = DefectCollector(file)
    load = _Loader(scen)
    units = scen.units
    od = None
    if scen.od_matrix is not None:
        from .distance import read_od_matrix

        od = read_od_matrix(scen.od_matrix)

    # ---- demand
    d_ids, d_names, d_lon, d_lat, d_w, d_unit, d_region, d_kind, d_raw = [], [], [], [], [], [], [], [], []
    for comp in scen.demand:
        key = f"demand.{comp.name}"
        try:
            pts, _ = load.combined(comp.sources)
        except InputError as exc:
            found.extend(exc.defects)
            continue
        if comp.per_point is not None:
            by_id = {str(x): k for k, x in enumerate(pts.ids)}
            by_name = {}
            for k, x in enumerate(pts.names):
                by_name.setdefault(str(x), k)
            idx, vol = [], []
            for pn, x in comp.per_point:
                k = by_id.get(pn, by_name.get(pn))
                if k is None:
                    hint = difflib.get_close_matches(pn, list(by_name) + list(by_id), n=1)
                    found.add(f"no point named {pn!r} in {', '.join(s.describe() for s in comp.sources)}"
                              + (f"; did you mean {hint[0]!r}?" if hint else ""), row=f"{key}.{units}_per_year.{pn}")
                    continue
                idx.append(k)
                vol.append(x)
            idx_a = np.asarray(idx, dtype=np.int64)
            sub = pts.take(idx_a)
            w = np.asarray(vol, dtype=float)
        else:
            sub = pts
            if comp.per_person is not None:
                if pts.population is None or np.any(~np.isfinite(pts.population)):
                    found.add("the source has no population column to multiply", row=f"{key}.{units}_per_person_per_year")
                    continue
                w = pts.population * comp.per_person
            elif comp.per_weight_unit is not None:
                w = (pts.weight if pts.weight is not None else np.ones(len(pts))) * comp.per_weight_unit
            else:
                w = pts.weight if pts.weight is not None else np.ones(len(pts))
        w = w * comp.growth_factor(scen.year)  # demand growth to the planning year (1 without a year)
        d_ids.extend(f"{comp.name}:{x}" for x in sub.ids)
        d_raw.extend(str(x) for x in sub.ids)
        d_names.extend(str(x) for x in sub.names)
        d_lon.append(sub.lon)
        d_lat.append(sub.lat)
        d_w.append(w)
        d_unit.extend(sub.unit)
        d_region.extend(sub.region)
        d_kind.extend([comp.name] * len(sub))
    found.raise_if_any(ScenarioError)
    single_comp = len(scen.demand) == 1
    demand_ids = np.array(d_raw if single_comp else d_ids, dtype=object)
    dem_lon = np.concatenate(d_lon) if d_lon else np.zeros(0)
    dem_lat = np.concatenate(d_lat) if d_lat else np.zeros(0)
    weight = np.concatenate(d_w) if d_w else np.zeros(0)
    dem_unit = np.array(d_unit, dtype=object)
    dem_region = np.array(d_region, dtype=object)

    # ---- tiers
    tiers_pts: list[_Points] = []
    dropped: dict[str, list] = {}
    gateways: list[Gateway | None] = []
    for ts in scen.tiers:
        key = f"tiers.{ts.name}"
        try:
            pts, origin = load.combined(ts.sources)
        except InputError as exc:
            found.extend(exc.defects)
            tiers_pts.append(None)  # type: ignore[arg-type]
            gateways.append(None)
            continue
        uniq, inv, cnt = np.unique(pts.ids.astype(str), return_inverse=True, return_counts=True)
        for u in uniq[cnt > 1][:10]:
            found.add(f"candidate id {u!r} appears more than once across the sources; list each site once",
                      row=f"{key}.candidates")
        gw = None
        if ts.gateway is not None:
            cats, gids, grad, gsrc = ts.gateway
            try:
                gp = load.points(gsrc)
            except InputError as exc:
                found.extend(exc.defects)
                gp = None
            if gp is not None:
                keep = np.ones(len(gp), bool)
                if cats:
                    known = set(str(x) for x in (gp.category if gp.category is not None else []))
                    for c in cats:
                        if c not in known:
                            hint = difflib.get_close_matches(c, sorted(known), n=1)
                            found.add(f"no gateway of category {c!r}" + (f"; did you mean {hint[0]!r}?" if hint else
                                      f"; categories: {', '.join(sorted(known))}"), row=f"{key}.gateway.categories")
                    keep &= np.isin(gp.category.astype(str) if gp.category is not None else np.full(len(gp), ""), list(cats))
                if gids:
                    for gid in gids:
                        if gid not in {str(x) for x in gp.ids}:
                            found.add(f"no gateway with id {gid!r}", row=f"{key}.gateway.ids")
                    keep &= np.isin(gp.ids.astype(str), list(gids))
                g = gp.take(np.flatnonzero(keep))
                gw = Gateway(ids=g.ids, lon=g.lon, lat=g.lat, radius_km=grad, circuity=scen.circuity)
                from .distance import pairs_within

                near = np.zeros(len(pts), bool)
                if len(g):
                    ia, _, _ = pairs_within(pts.lon, pts.lat, g.lon, g.lat, grad, circuity=scen.circuity)
                    near[ia] = True
                else:
                    found.add("no gateway point is left after the category/id filter", row=f"{key}.gateway")
                far = np.flatnonzero(~near)
                reason = f"farther than {grad:g} km from every gateway"
                dropped[ts.name] = [(str(pts.ids[j]), reason, {"unit": pts.unit[j], "region": pts.region[j]}) for j in far]
                pts = pts.take(np.flatnonzero(near))
        if ts.shortlist is not None:
            cover = None
            if ts is scen.tiers[-1]:  # bottom tier: keep every demand point coverable (greedy cover)
                cover = (dem_lon, dem_lat, weight, dem_unit, dem_region, scen.circuity)
            pts, lost = _shortlist(pts, ts, origin, cover=cover)
            if lost:
                dropped.setdefault(ts.name, []).extend(lost)
        gateways.append(gw)
        tiers_pts.append(pts)
    found.raise_if_any(ScenarioError)

    # required / forbidden ids
    for ts, pts in zip(scen.tiers, tiers_pts):
        known = {str(x) for x in pts.ids}
        gone = {r[0]: r[1] for r in dropped.get(ts.name, [])}
        for kind in ("required", "forbidden"):
            for rid in getattr(ts, kind):
                if rid not in known:
                    if rid in gone:
                        if kind == "required":
                            found.add(f"required site {rid!r} was dropped before the model: {gone[rid]}",
                                      row=f"tiers.{ts.name}.{kind}")
                        continue
                    hint = difflib.get_close_matches(rid, sorted(known), n=1)
                    found.add(f"no {ts.name} candidate with id {rid!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""),
                              row=f"tiers.{ts.name}.{kind}")
    found.raise_if_any(ScenarioError)

    # ---- links
    T = len(scen.tiers)
    links: list[Links] = []
    for t, (ts, pts) in enumerate(zip(scen.tiers, tiers_pts)):
        if t == T - 1:
            child = _Points(demand_ids, demand_ids, dem_lon, dem_lat, dem_unit, dem_region)
            child_ids = np.array(d_raw, dtype=object)
        else:
            child = tiers_pts[t + 1]
            child_ids = child.ids
        ia, ib, d, tm = _pairs(scen, od, child, pts, ts.radius_km, ts.radius_min, child_ids, pts.ids)
        if ts.link_same:
            cg = child.unit if ts.link_same == "unit" else child.region
            pg = pts.unit if ts.link_same == "unit" else pts.region
            same = (cg[ia] == pg[ib]) & np.array([x is not None for x in cg[ia]], dtype=bool)
            ia, ib, d = ia[same], ib[same], d[same]
            tm = None if tm is None else tm[same]
        links.append(Links(ia, ib, d, tm))

    # ---- groups and counts
    counts: list[CountRule] = []
    tiers: list[Tier] = []
    for t, (ts, pts) in enumerate(zip(scen.tiers, tiers_pts)):
        m = len(pts)
        key = f"tiers.{ts.name}"
        fixed = np.full(m, ts.fixed_cost_cny_per_year)
        if pts.fixed_cost is not None:
            fixed = np.where(np.isfinite(pts.fixed_cost), pts.fixed_cost, fixed)
        cap = np.full(m, ts.capacity_per_year)
        if pts.capacity is not None:
            cap = np.where(np.isfinite(pts.capacity) | np.isposinf(pts.capacity), pts.capacity, cap)
        ids_s = pts.ids.astype(str)
        tiers.append(Tier(
            name=ts.name, ids=pts.ids, names=pts.names, lon=pts.lon, lat=pts.lat,
            site=pts.site if pts.site is not None else pts.ids,
            groups={"unit": pts.unit, "region": pts.region},
            fixed_cost_cny=fixed, handling_cost_cny_per_unit=np.full(m, ts.handling_cost_cny_per_unit),
            transport_cost_cny_per_unit_km=ts.transport_cost_cny_per_unit_km, capacity=cap,
            required=np.isin(ids_s, list(ts.required)), forbidden=np.isin(ids_s, list(ts.forbidden)),
            radius_km=ts.radius_km, radius_min=ts.radius_min, gateway=gateways[t], link_same=ts.link_same,
        ))
        label = f"{key}.count"
        n_dropped = len(dropped.get(ts.name, []))
        if ts.count is not None:
            sense, value = ts.count
            counts.append(CountRule(t, sense, value, label=label))
            if sense in ("==", ">=") and value > m:
                found.add(f"{value} {ts.name} sites requested but only {m} candidates exist"
                          + (f" ({n_dropped} more were dropped by the gateway rule)" if n_dropped else ""), row=label)
        if ts.count_per is not None:
            by, sense, value, groups = ts.count_per
            lab = pts.unit if by == "unit" else pts.region
            dlab = dem_unit if by == "unit" else dem_region
            universe = tuple(groups) if groups else tuple(sorted({str(x) for x in np.concatenate([lab, dlab]) if x is not None}))
            counts.append(CountRule(t, sense, value, by=by, groups=universe, label=f"{key}.count_per"))
            have = {str(x) for x in lab if x is not None}
            empty = [g for g in universe if g not in have]
            if sense in ("==", ">=") and value > 0 and empty:
                gone = dropped.get(ts.name, [])
                for g in empty:
                    lost = sum(1 for r in gone if r[2].get(by) == g)
                    found.add(f"{by} {g} has no {ts.name} candidate (needs {_word(sense)} {value}); "
                              f"{len(universe) - len(empty)} of {len(universe)} {by}s have one"
                              + (f"; {lost} dropped by the gateway rule" if lost else ""), row=f"{key}.count_per")
            if ts.count is not None:
                lo = value * len(universe) if sense in ("==", ">=") else 0
                hi = value * len(universe) if sense in ("==", "<=") else math.inf
                csense, cval = ts.count
                if (csense in ("==", "<=") and lo > cval) or (csense in ("==", ">=") and hi < cval):
                    found.add(f"{_word(csense)} {cval} {ts.name} sites in total contradicts {_word(sense)} {value} per "
                              f"{by} over {len(universe)} {by}s", row=label)
    found.raise_if_any(ScenarioError)
    return NetworkProblem(
        name=scen.name, demand_ids=demand_ids, weight=weight, tiers=tuple(tiers), links=tuple(links),
        counts=tuple(counts), demand_names=np.array(d_names, dtype=object), demand_lon=dem_lon, demand_lat=dem_lat,
        demand_groups={"unit": dem_unit, "region": dem_region, "kind": np.array(d_kind, dtype=object)},
        objective=scen.objective, budget_cny=scen.budget_cny_per_year, budget_scope=scen.budget_scope,
        single_sourcing=scen.single_sourcing, colocation=scen.colocation, weight_unit=scen.weight_unit,
        source=file, meta={"dropped": dropped, "structure": scen.structure, "circuity": scen.circuity},
    )


def _shortlist(pts: _Points, ts: TierSpec, origin: list[str], *, cover: tuple | None = None) -> tuple[_Points, list]:
    """Keep the ``top`` most populous candidates of each group (plus every required one); ties by id.

    For the bottom tier (``cover`` = demand coordinates, weights, groups, circuity) candidates are then added
    greedily (largest uncovered demand first) until every demand point that some candidate can serve within
    the radius (and ``link_same`` group) is served by a kept one: the shortlist never makes a township
    unservable.
    """
    per, top = ts.shortlist  # type: ignore[misc]
    lab = pts.unit if per == "unit" else pts.region
    pop = pts.population if pts.population is not None else np.zeros(len(pts))
    pop = np.where(np.isfinite(pop), pop, 0.0)
    keys = np.array(["" if x is None else str(x) for x in lab], dtype=object)
    order = np.lexsort((pts.ids.astype(str), -pop, keys))
    rank = np.empty(len(pts), dtype=np.int64)
    sk = keys[order]
    start = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
    first = np.repeat(start, np.diff(np.r_[start, len(sk)]))
    rank[order] = np.arange(len(sk)) - first
    keep = (rank < top) | np.isin(pts.ids.astype(str), list(ts.required)) | (keys == "")
    if cover is not None:
        import scipy.sparse as sp

        from .distance import pairs_within

        dlon, dlat, dw, dunit, dregion, circuity = cover
        ia, ib, _ = pairs_within(dlon, dlat, pts.lon, pts.lat, ts.radius_km, circuity=circuity)
        if ts.link_same:
            cg = dunit if ts.link_same == "unit" else dregion
            pg = pts.unit if ts.link_same == "unit" else pts.region
            ok = cg[ia] == pg[ib]
            ia, ib = ia[ok], ib[ok]
        a = sp.csr_matrix((np.ones(len(ia)), (ia, ib)), shape=(len(dlon), len(pts))).tocsc()
        covered = np.asarray(a[:, np.flatnonzero(keep)].sum(axis=1)).ravel() > 0
        coverable = np.asarray(a.sum(axis=1)).ravel() > 0
        wpos = np.maximum(np.asarray(dw, dtype=float), 1e-9)
        while np.any(coverable & ~covered):
            gain = a.T @ (wpos * (coverable & ~covered))
            gain[keep] = -1.0
            j = int(np.argmax(gain))
            if gain[j] <= 0:
                break
            keep[j] = True
            covered |= a[:, j].toarray().ravel() > 0
    reason = f"not among the {top} most populous {ts.name} candidates of its {per} (shortlist) nor needed for coverage"
    lost = [(str(pts.ids[j]), reason, {"unit": pts.unit[j], "region": pts.region[j]}) for j in np.flatnonzero(~keep)]
    return pts.take(np.flatnonzero(keep)), lost


def _word(sense: str) -> str:
    return {"==": "exactly", ">=": "at least", "<=": "at most"}[sense]
