"""The frozen multi-tier problem (:class:`NetworkProblem`) and its solution (:class:`NetworkResult`).

A hierarchical network has tiers ``t = 0 .. T-1``: tier 0 is the top (city hubs), tier ``T-1`` the bottom
(points that serve demand). Every tier holds a list of *candidate* sites; demand points are served by the
bottom tier, and every open facility of tier ``t > 0`` is served by (sends its volume to) exactly one open
facility of tier ``t - 1``.

The *links serving tier t*, ``links[t]``, are the allowed (child, parent) pairs whose parent is a tier-``t``
candidate: for the bottom tier the children are demand points, otherwise candidates of tier ``t + 1``.
A pair that is not listed cannot be used, so coverage radii, "same planning unit" rules and forbidden
sites are applied once, here, and never as a big-M in a formulation.

Everything is numpy arrays plus labels; nothing here knows about Pyomo, files or maps. Formulations
(:mod:`siting.model.multitier`) and the verifier (:mod:`siting.network.verify`) read these arrays
independently.

Co-location: the same physical site (``Tier.site``) may be a candidate of several tiers, e.g. a township
point that is both a district-park candidate and a collection-point candidate. By default it may host
several tiers at once (a park usually also serves as the collection point of its own township) and each
opened tier pays its own fixed cost; set ``colocation=False`` to allow at most one tier per site.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from siting.core.errors import DataError, DefectCollector
from siting.core.results import SolveInfo

__all__ = ["Gateway", "Tier", "Links", "CountRule", "NetworkProblem", "NetworkResult", "COUNT_SENSES"]

COUNT_SENSES = ("==", ">=", "<=")


def _ro(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _objects(values: Any, n: int, default: Any = None) -> np.ndarray:
    out = np.empty(n, dtype=object)
    if values is None:
        out[:] = default
        return out
    vals = list(values)
    if len(vals) != n:
        raise DataError(f"label array has {len(vals)} values for {n} rows")
    for k, v in enumerate(vals):
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out[k] = None
        else:
            out[k] = str(v)
    return out


def _floats(values: Any, n: int, default: float) -> np.ndarray:
    if values is None:
        return np.full(n, default, dtype=np.float64)
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(n, float(arr), dtype=np.float64)
    return arr.astype(np.float64, copy=True)


def _bools(values: Any, n: int) -> np.ndarray:
    if values is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(values, dtype=bool)
    if arr.ndim == 0:
        return np.full(n, bool(arr))
    return arr.copy()


@dataclass(frozen=True, eq=False)
class Gateway:
    """Gateway-access rule of a tier: each open site must lie within ``radius_km`` and ``radius_min`` of one
    of these points (the same point for both).

    The scenario applies it by dropping candidates before the model is built; it is kept here so that the
    verifier can check it again.

    Attributes
    ----------
    ids : (g,) object array of str
        Gateway point ids.
    lon, lat : (g,) float64
        WGS84 coordinates of the gateway points.
    radius_km, radius_min : float
        Access limits in road km and minutes (``inf`` = none).
    circuity : float
        Without ``access`` (a problem built by hand): distances are great-circle km times this factor (and
        minutes cannot be checked). A scenario build gives ``access`` and leaves this at 1.
    access : Links or None
        The (site, gateway point) pairs as the scenario build measured them (OD matrix, road network or
        circuity, the source each pair has in the build), within the limits: ``child`` indexes the tier's
        candidates, ``parent`` the gateway points, with ``distance_km`` and ``time_min`` (NaN: no time).
    """

    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    radius_km: float
    circuity: float = 1.0
    radius_min: float = math.inf
    access: Links | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "ids", _ro(_objects(self.ids, len(self.ids))))
        set_(self, "lon", _ro(_floats(self.lon, len(self.ids), math.nan)))
        set_(self, "lat", _ro(_floats(self.lat, len(self.ids), math.nan)))
        set_(self, "radius_km", float(self.radius_km))
        set_(self, "radius_min", float(self.radius_min))


@dataclass(frozen=True, eq=False)
class Tier:
    """One tier of candidate sites.

    Attributes
    ----------
    name : str
        Tier name (``"hub"``, ``"park"``, ``"collection"``); unique within the problem.
    ids : (m,) object array of str
        Candidate ids, unique within the tier.
    names : (m,) object array of str
        Human-readable names.
    lon, lat : (m,) float64
        WGS84 coordinates.
    site : (m,) object array of str
        Physical-site key, equal across tiers for the same place (co-location); defaults to ``ids``.
    groups : mapping str -> (m,) object array
        Group labels per candidate (``"unit"``, ``"region"``, ...; ``None`` = in no group). Count rules
        ``by`` a group name use them.
    fixed_cost_cny : (m,) float64
        Annual fixed cost of opening each candidate, CNY/yr.
    handling_cost_cny_per_unit : (m,) float64
        Cost per unit of volume handled at each candidate, CNY/unit.
    transport_cost_cny_per_unit_km : float
        Cost per unit of volume and km on the links serving this tier (child -> this tier), CNY/(unit·km).
    capacity : (m,) float64
        Maximum volume handled per year, ``inf`` where uncapacitated.
    required, forbidden : (m,) bool
        Candidates that must open / stay closed.
    radius_km, radius_min : float
        Coverage radius on the links serving this tier (``inf`` = none); informational, the links are
        already filtered.
    gateway : Gateway or None
        Gateway-access rule (already applied to the candidates; kept for the verifier).
    link_same : str or None
        Name of a group (e.g. ``"unit"``) that a child and its parent in this tier must share (a collection
        point is served by the park of its own planning unit); already applied to the links.
    """

    name: str
    ids: np.ndarray
    names: np.ndarray | None = None
    lon: np.ndarray | None = None
    lat: np.ndarray | None = None
    site: np.ndarray | None = None
    groups: Mapping[str, np.ndarray] = field(default_factory=dict)
    fixed_cost_cny: np.ndarray | None = None
    handling_cost_cny_per_unit: np.ndarray | None = None
    transport_cost_cny_per_unit_km: float = 0.0
    capacity: np.ndarray | None = None
    required: np.ndarray | None = None
    forbidden: np.ndarray | None = None
    radius_km: float = math.inf
    radius_min: float = math.inf
    gateway: Gateway | None = None
    link_same: str | None = None

    def __post_init__(self) -> None:
        m = len(self.ids)
        set_ = object.__setattr__
        ids = _objects(self.ids, m)
        set_(self, "ids", _ro(ids))
        set_(self, "names", _ro(_objects(self.names, m) if self.names is not None else ids.copy()))
        set_(self, "lon", _ro(_floats(self.lon, m, math.nan)))
        set_(self, "lat", _ro(_floats(self.lat, m, math.nan)))
        set_(self, "site", _ro(_objects(self.site, m) if self.site is not None else ids.copy()))
        set_(self, "groups", {str(k): _ro(_objects(v, m)) for k, v in dict(self.groups).items()})
        set_(self, "fixed_cost_cny", _ro(_floats(self.fixed_cost_cny, m, 0.0)))
        set_(self, "handling_cost_cny_per_unit", _ro(_floats(self.handling_cost_cny_per_unit, m, 0.0)))
        set_(self, "capacity", _ro(_floats(self.capacity, m, math.inf)))
        set_(self, "required", _ro(_bools(self.required, m)))
        set_(self, "forbidden", _ro(_bools(self.forbidden, m)))
        set_(self, "transport_cost_cny_per_unit_km", float(self.transport_cost_cny_per_unit_km))
        set_(self, "radius_km", float(self.radius_km))
        set_(self, "radius_min", float(self.radius_min))

    @property
    def size(self) -> int:
        return len(self.ids)

    def group(self, by: str) -> np.ndarray:
        """Labels of group ``by`` (``"unit"``, ``"region"``, ...) per candidate."""
        if by not in self.groups:
            raise DataError(f"tier {self.name!r} has no group labels {by!r} (has: {sorted(self.groups)})")
        return self.groups[by]


@dataclass(frozen=True, eq=False)
class Links:
    """Allowed (child, parent) pairs serving one tier, sorted by child then parent.

    ``child`` indexes demand points (bottom tier) or candidates of the tier below; ``parent`` indexes the
    candidates of the tier served. ``time_min`` is present when an OD matrix gave travel times.
    """

    child: np.ndarray
    parent: np.ndarray
    distance_km: np.ndarray
    time_min: np.ndarray | None = None

    def __post_init__(self) -> None:
        c = np.asarray(self.child, dtype=np.int64).ravel()
        p = np.asarray(self.parent, dtype=np.int64).ravel()
        d = np.asarray(self.distance_km, dtype=np.float64).ravel()
        t = None if self.time_min is None else np.asarray(self.time_min, dtype=np.float64).ravel()
        if not (len(p) == len(c) == len(d) and (t is None or len(t) == len(c))):
            raise DataError(f"link arrays differ in length ({len(c)}, {len(p)}, {len(d)})")
        order = np.lexsort((p, c))
        c, p, d = c[order], p[order], d[order]
        t = None if t is None else t[order]
        set_ = object.__setattr__
        set_(self, "child", _ro(c))
        set_(self, "parent", _ro(p))
        set_(self, "distance_km", _ro(d))
        set_(self, "time_min", None if t is None else _ro(t))

    def __len__(self) -> int:
        return len(self.child)

    def matrix(self, n_child: int, n_parent: int, values: np.ndarray | None = None) -> sp.csr_matrix:
        """The links as a sparse ``(n_child, n_parent)`` matrix of ``values`` (default: ones)."""
        v = np.ones(len(self)) if values is None else values
        return sp.csr_matrix((v, (self.child, self.parent)), shape=(n_child, n_parent))


@dataclass(frozen=True)
class CountRule:
    """``number of open candidates of tier `tier` {sense} value`` overall, or in every group.

    With ``by`` set (a group name of the tier, e.g. ``"unit"``), the rule holds separately in each group
    listed in ``groups`` (e.g. all 41 planning units, including any that has no candidate: that one makes
    the problem infeasible, which the precheck reports).
    """

    tier: int
    sense: str
    value: int
    by: str | None = None
    groups: tuple[str, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        if self.sense not in COUNT_SENSES:
            raise DataError(f"count rule sense must be one of {COUNT_SENSES}, got {self.sense!r}")
        object.__setattr__(self, "groups", tuple(str(g) for g in self.groups))

    def describe(self, tier_name: str) -> str:
        words = {"==": "exactly", ">=": "at least", "<=": "at most"}[self.sense]
        where = f" per {self.by}" if self.by else " in total"
        return f"{words} {self.value} {tier_name}{where}"


@dataclass(frozen=True, eq=False)
class NetworkProblem:
    """A multi-tier facility-location instance (see the module docstring).

    Attributes
    ----------
    name : str
        Scenario name (for messages and outputs).
    demand_ids, demand_names : (n,) object arrays of str
    weight : (n,) float64
        Demand volume per year (``weight_unit``).
    demand_lon, demand_lat : (n,) float64
    demand_groups : mapping str -> (n,) object array
        Labels of the demand points (``"unit"``, ``"region"``, ``"kind"``) carried to outputs.
    tiers : tuple of Tier, top (0) to bottom (T-1)
    links : tuple of Links, ``links[t]`` serve tier ``t``
    counts : tuple of CountRule
    objective : ``"cost"`` (minimise total annual cost, every demand served) or ``"coverage"`` (maximise
        the demand served within the radii, subject to the budget)
    budget_cny : float, ``inf`` for none; cap on the annual cost in ``budget_scope``
    budget_scope : ``"total"`` (fixed + handling + transport) or ``"fixed"``
    single_sourcing : bool
        Each demand point is served by exactly one facility (default). If false its volume may split.
    colocation : bool
        A physical site may host several tiers (default); if false, at most one.
    weight_unit : str
        Unit of ``weight`` (``"parcels/yr"``, ``"t/yr"``).
    source : str
        Where the instance came from (for messages).
    meta : dict
        Free-form labels carried to outputs.
    """

    name: str
    demand_ids: np.ndarray
    weight: np.ndarray
    tiers: tuple[Tier, ...]
    links: tuple[Links, ...]
    counts: tuple[CountRule, ...] = ()
    demand_names: np.ndarray | None = None
    demand_lon: np.ndarray | None = None
    demand_lat: np.ndarray | None = None
    demand_groups: Mapping[str, np.ndarray] = field(default_factory=dict)
    objective: str = "cost"
    budget_cny: float = math.inf
    budget_scope: str = "total"
    single_sourcing: bool = True
    colocation: bool = True
    weight_unit: str = "units/yr"
    source: str = "network"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.demand_ids)
        set_ = object.__setattr__
        ids = _objects(self.demand_ids, n)
        set_(self, "demand_ids", _ro(ids))
        set_(self, "demand_names", _ro(_objects(self.demand_names, n) if self.demand_names is not None else ids.copy()))
        set_(self, "weight", _ro(_floats(self.weight, n, 1.0)))
        set_(self, "demand_lon", _ro(_floats(self.demand_lon, n, math.nan)))
        set_(self, "demand_lat", _ro(_floats(self.demand_lat, n, math.nan)))
        set_(self, "demand_groups", {str(k): _ro(_objects(v, n)) for k, v in dict(self.demand_groups).items()})
        set_(self, "tiers", tuple(self.tiers))
        set_(self, "links", tuple(self.links))
        set_(self, "counts", tuple(self.counts))
        set_(self, "budget_cny", float(self.budget_cny))
        self._validate()

    # ------------------------------------------------------------------ validation
    def _validate(self) -> None:
        found = DefectCollector(self.source)
        T = len(self.tiers)
        if T == 0:
            found.add("a network needs at least one tier")
            found.raise_if_any(DataError)
        if len(self.links) != T:
            found.add(f"{len(self.links)} link sets for {T} tiers")
            found.raise_if_any(DataError)
        if self.objective not in ("cost", "coverage"):
            found.add(f"objective must be 'cost' or 'coverage', got {self.objective!r}")
        if self.budget_scope not in ("total", "fixed"):
            found.add(f"budget_scope must be 'total' or 'fixed', got {self.budget_scope!r}")
        if math.isnan(self.budget_cny) or self.budget_cny < 0:
            found.add(f"budget must be >= 0, got {self.budget_cny}")
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            found.add(f"tier names must be unique, got {names}")
        bad = np.flatnonzero(~np.isfinite(self.weight) | (self.weight < 0))
        for b in bad[:20]:
            found.add(f"demand weight must be finite and >= 0, got {self.weight[b]}", row=str(self.demand_ids[b]))
        uniq, counts = np.unique(self.demand_ids.astype(str), return_counts=True)
        for dup in [str(u) for u in uniq[counts > 1][:20]]:
            found.add(f"duplicate demand id {dup!r}", row=str(dup))
        for t, tier in enumerate(self.tiers):
            m = tier.size
            for name in ("fixed_cost_cny", "handling_cost_cny_per_unit", "capacity", "required", "forbidden"):
                if len(getattr(tier, name)) != m:
                    found.add(f"tier {tier.name!r}: {name} has {len(getattr(tier, name))} values for {m} candidates")
            for name in ("fixed_cost_cny", "handling_cost_cny_per_unit", "capacity"):
                arr = getattr(tier, name)
                if len(arr) != m:
                    continue
                bad = np.flatnonzero(np.isnan(arr) | (arr < 0) | (np.isinf(arr) & (name != "capacity")))
                for b in bad[:20]:
                    found.add(f"tier {tier.name!r}: {name} must be finite and >= 0, got {arr[b]}", row=str(tier.ids[b]))
            if not math.isfinite(tier.transport_cost_cny_per_unit_km) or tier.transport_cost_cny_per_unit_km < 0:
                found.add(f"tier {tier.name!r}: transport cost must be finite and >= 0")
            uniq, counts = np.unique(tier.ids.astype(str), return_counts=True)
            for dup in [str(u) for u in uniq[counts > 1][:20]]:
                found.add(f"tier {tier.name!r}: duplicate candidate id {dup!r}", row=str(dup))
            if len(tier.required) == m and len(tier.forbidden) == m:
                for b in np.flatnonzero(tier.required & tier.forbidden):
                    found.add(f"tier {tier.name!r}: candidate is both required and forbidden", row=str(tier.ids[b]))
            lk = self.links[t]
            n_child = self.n_demand if t == T - 1 else self.tiers[t + 1].size
            if len(lk) and (lk.child.min() < 0 or lk.child.max() >= n_child or lk.parent.min() < 0 or lk.parent.max() >= m):
                found.add(f"tier {tier.name!r}: a link refers to an index out of range")
            elif len(lk) > 1:
                key = lk.child * max(m, 1) + lk.parent
                if np.any(np.diff(key) == 0):
                    found.add(f"tier {tier.name!r}: the same (child, parent) link is listed twice")
            bad = np.flatnonzero(~np.isfinite(lk.distance_km) | (lk.distance_km < 0))
            if len(bad):
                found.add(f"tier {tier.name!r}: {len(bad)} links have a distance that is not finite and >= 0")
            acc = tier.gateway.access if tier.gateway is not None else None
            if acc is not None and len(acc) and (acc.child.min() < 0 or acc.child.max() >= m or acc.parent.min() < 0
                                                 or acc.parent.max() >= len(tier.gateway.ids)):  # type: ignore[union-attr]
                found.add(f"tier {tier.name!r}: a gateway access pair refers to an index out of range")
        for rule in self.counts:
            if not 0 <= rule.tier < T:
                found.add(f"count rule {rule.label or rule}: tier index {rule.tier} out of range")
            elif rule.by is not None and rule.by not in self.tiers[rule.tier].groups:
                found.add(f"count rule {rule.label or rule}: tier {self.tiers[rule.tier].name!r} has no group {rule.by!r}")
            if rule.value < 0:
                found.add(f"count rule {rule.label or rule}: value must be >= 0")
        found.raise_if_any(DataError)

    # ------------------------------------------------------------------ views
    @property
    def n_demand(self) -> int:
        return len(self.demand_ids)

    @property
    def n_tiers(self) -> int:
        return len(self.tiers)

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tiers)

    def n_children(self, t: int) -> int:
        """Number of possible children of tier ``t`` (demand points for the bottom tier)."""
        return self.n_demand if t == self.n_tiers - 1 else self.tiers[t + 1].size

    def child_ids(self, t: int) -> np.ndarray:
        return self.demand_ids if t == self.n_tiers - 1 else self.tiers[t + 1].ids

    def tier_index(self, name: str) -> int:
        return self.tier_names.index(name)

    def reachable_demand(self) -> list[np.ndarray]:
        """Per tier, the total demand weight that can reach each candidate through allowed links.

        Computed by sparse boolean matrix products, demand -> bottom -> ... -> tier; each demand point is
        counted once per candidate even when several paths lead to it. This is the tightest a-priori bound on
        the volume a candidate can handle (before capacities).
        """
        return [np.asarray(r.T @ self.weight, dtype=np.float64).ravel() for r in self.reach_matrices()]

    def reach_matrices(self) -> list[sp.csr_matrix]:
        """Per tier, the sparse 0/1 ``(n_demand, m_t)`` matrix of which demand can reach which candidate."""
        T = self.n_tiers
        out: list[sp.csr_matrix] = [sp.csr_matrix((self.n_demand, t.size)) for t in self.tiers]
        reach = None  # (n_demand, m_t)
        for t in range(T - 1, -1, -1):
            lk = self.links[t]
            a = lk.matrix(self.n_children(t), self.tiers[t].size).astype(bool).astype(np.int32)
            reach = a if reach is None else (reach @ a)
            reach = (reach > 0).astype(np.int32).tocsr()
            out[t] = reach
        return out

    def summary_sizes(self) -> dict[str, Any]:
        """Sizes for logs: candidates and links per tier."""
        return {
            "demand": self.n_demand,
            "tiers": {t.name: {"candidates": t.size, "links": len(lk)} for t, lk in zip(self.tiers, self.links)},
        }


@dataclass(frozen=True, eq=False)
class NetworkResult:
    """Solution of a :class:`NetworkProblem`.

    Attributes
    ----------
    name : str
        Scenario name.
    info : SolveInfo
        The solve certificate.
    open : tuple of (m_t,) bool arrays
        Which candidates of each tier are open. Empty tuple when there is no solution.
    link_used : tuple of (k_t,) bool arrays
        Which links of each tier are used (assignment variables at 1; for split demand, flow > 0).
    link_flow : tuple of (k_t,) float64 arrays
        Volume per year on each link (child -> parent), in the problem's ``weight_unit``.
    objective_kind : ``"cost"`` or ``"coverage"``
    params : dict
        Parameters for reports and the verifier.
    """

    name: str
    info: SolveInfo
    open: tuple[np.ndarray, ...] = ()
    link_used: tuple[np.ndarray, ...] = ()
    link_flow: tuple[np.ndarray, ...] = ()
    objective_kind: str = "cost"
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        return self.info.has_solution and len(self.open) > 0

    @property
    def objective(self) -> float:
        return self.info.objective

    def open_ids(self, problem: NetworkProblem) -> dict[str, list[str]]:
        """Open candidate ids per tier name."""
        return {t.name: [str(x) for x in t.ids[o]] for t, o in zip(problem.tiers, self.open)}


def labels(values: Sequence[Any] | np.ndarray | None, n: int) -> np.ndarray:
    """Object array of ``str``/``None`` labels (helper for builders)."""
    return _objects(values, n)
