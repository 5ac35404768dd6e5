"""Scenario schema, road part: ``[scenario] circuity``, the ``[network]`` table, and tier-name warnings.

``circuity`` is a number >= 1 (one detour factor everywhere), ``"measured"`` (each pair's factor from the
districts of its two ends, :mod:`siting.geo.circuity`) or a table ``{rule = "mean"|"max", path = "own.csv"}``
(measured, with a pair rule or a factor table of one's own).

``[network]``::

    roads = "chongqing.osm.pbf"      # OSM extract or a line layer (GeoPackage/Shapefile/GeoJSON)
    speeds_kmh = { primary = 60 }    # overrides of the default speed per road class, km/h
    snap_max_km = 2.0                # a point farther from every road cannot use the network
    fallback = "circuity"            # pairs neither the OD matrix nor the network gives: "error" | "circuity"
    speed_kmh = 35                   # km/h, turns circuity distances into times (assumption; only with fallback)
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from siting.scenario.spec import NetworkSpec
from siting.scenario.validate import Validator, type_name

__all__ = ["SHIPPED_TIER_NAMES", "parse_circuity", "parse_network", "tier_name_warnings"]

#: tier names of the scenarios shipped in models/ (a misspelt tier name close to one of these is warned about)
SHIPPED_TIER_NAMES = ("hub", "park", "collection", "backbone", "regional", "node", "depot", "point")

_NETWORK_KEYS = ["roads", "speeds_kmh", "snap_max_km", "fallback", "speed_kmh", "layer", "coord_system", "cache_dir"]


def parse_circuity(v: Validator, sc: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """``circuity``, ``circuity_mode``, ``circuity_path`` and ``circuity_rule`` of the ``[scenario]`` table."""
    out: dict[str, Any] = {"circuity": 1.0, "circuity_mode": "constant", "circuity_path": None, "circuity_rule": "mean"}
    if "circuity" not in sc:
        return out
    value = sc["circuity"]
    if isinstance(value, str):
        if value != "measured":
            hint = " (did you mean \"measured\"?)" if difflib.get_close_matches(value, ["measured"], n=1) else ""
            v.add("scenario.circuity", f"must be a number >= 1, \"measured\" or a table, got {value!r}{hint}")
            return out
        out["circuity_mode"] = "measured"
        return out
    if isinstance(value, dict):
        v.keys(value, ["rule", "path"], "scenario.circuity")
        out["circuity_mode"] = "measured"
        out["circuity_rule"] = v.string(value, "rule", "scenario.circuity", default="mean", choices=("mean", "max")) or "mean"
        full = v.path(value, "path", "scenario.circuity", base=base) if "path" in value else None
        if full is not None:
            out["circuity_path"] = full
        return out
    out["circuity"] = v.number(sc, "circuity", "scenario", default=1.0, minimum=1.0) or 1.0
    return out


def parse_network(v: Validator, raw: Mapping[str, Any], base: Path, *, has_od: bool) -> NetworkSpec | None:
    """The ``[network]`` table, or ``None`` without one."""
    nt = v.table(raw, "network", "")
    if nt is None:
        return None
    v.keys(nt, _NETWORK_KEYS, "network")
    roads = v.path(nt, "roads", "network", base=base, kind="any") if "roads" in nt else None
    speeds: list[tuple[str, float]] = []
    sp = v.table(nt, "speeds_kmh", "network")
    for cls in sp or {}:
        x = v.number(sp, cls, "network.speeds_kmh", strict=True)
        if x is not None:
            speeds.append((str(cls), x))
    snap = v.number(nt, "snap_max_km", "network", default=2.0, strict=True)
    fallback = v.string(nt, "fallback", "network", default="error", choices=("error", "circuity")) or "error"
    speed = v.number(nt, "speed_kmh", "network", strict=True) if "speed_kmh" in nt else None
    if speed is not None and fallback != "circuity" and roads is not None:
        v.add("network.speed_kmh", "only used for pairs that fall back to circuity: set fallback = \"circuity\"")
    if "roads" not in nt and not has_od and fallback == "error":
        v.add("network", "gives no distances: set roads = PATH, or scenario.od_matrix, or fallback = \"circuity\"")
    opts = tuple((k, nt[k]) for k in ("layer", "coord_system", "cache_dir") if k in nt)
    for k, x in opts:
        if not isinstance(x, str):
            v.add(f"network.{k}", f"must be a string, got {type_name(x)} {x!r}")
    return NetworkSpec(roads=roads, speeds_kmh=tuple(speeds), snap_max_km=snap if snap is not None else 2.0,
                       fallback=fallback, speed_kmh=speed, options=opts)


def tier_name_warnings(raw: Mapping[str, Any], file: str) -> tuple[str, ...]:
    """A warning per tier whose name looks like a misspelling of a known tier name.

    Known names: the tiers of the shipped scenarios (:data:`SHIPPED_TIER_NAMES`), the file's other tiers,
    and tier names the file mentions elsewhere (``tiers.<name>.<key>`` strings, e.g. in ``[sweep]``).
    """
    tiers = raw.get("tiers")
    if not isinstance(tiers, dict):
        return ()
    names = [str(t) for t in tiers]
    mentioned = set()
    for s in _strings(raw):
        parts = s.split(".")
        if len(parts) >= 3 and parts[0] == "tiers":
            mentioned.add(parts[1])
    out = []
    for n in names:
        if n in SHIPPED_TIER_NAMES or n in mentioned:
            continue
        known = sorted((set(SHIPPED_TIER_NAMES) | mentioned | set(names)) - {n})
        hint = difflib.get_close_matches(n, known, n=1, cutoff=0.8)
        if hint and not (hint[0] in names and _far(n, hint[0])):
            out.append(f"{file}, tiers.{n}: a new tier named {n!r}; did you mean {hint[0]!r}? "
                       "(a misspelt tier name is a separate tier)")
    return tuple(out)


def _far(a: str, b: str) -> bool:
    # two tiers of the same file with close names (e.g. "node1"/"node2") are deliberate when they differ by a digit
    return any(c.isdigit() for c in a + b)


def _strings(x: Any) -> list[str]:
    if isinstance(x, str):
        return [x]
    if isinstance(x, dict):
        return [s for k, y in x.items() for s in (_strings(str(k)) + _strings(y))]
    if isinstance(x, list):
        return [s for y in x for s in _strings(y)]
    return []
