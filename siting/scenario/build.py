"""Scenario -> :class:`~siting.core.network.NetworkProblem`: demand, tier candidates, gateway and shortlist
filters, allowed links (with each link's distance, time and source) and count rules.

Steps of :func:`build_problem`: load the demand components (:func:`_demand`), load and filter each tier's
candidates (:func:`_tier_points`: gateway access, shortlist), check required/forbidden ids, measure the
allowed links (:class:`~siting.scenario.measure.PairMeasure`: OD matrix, road network, circuity), then the
tiers and count rules (:func:`_tiers_and_counts`). ``problem.meta["link_source"]`` holds, per tier, the
source of each link (``"od"``, ``"network"``, ``"circuity"``) and ``meta["pair_sources"]`` their counts.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any
import numpy as np
from siting.core.errors import DataError, Defect, DefectCollector, InputError, ScenarioError
from siting.core.network import CountRule, Gateway, Links, NetworkProblem, Tier
from siting.scenario.measure import SOURCES, PairMeasure, PairSet
from siting.scenario.spec import DemandSpec, Scenario, TierSpec
from siting.scenario.sources import Loader, Points


@dataclass
class _Demand:
    """The demand points of all components, concatenated."""

    ids: np.ndarray  # problem ids (component-prefixed when there are several components)
    raw_ids: np.ndarray  # ids as in the source (what an OD matrix names)
    names: list[str]
    lon: np.ndarray
    lat: np.ndarray
    weight: np.ndarray
    unit: np.ndarray
    region: np.ndarray
    kind: list[str]
    source: np.ndarray  # per point: the file (or shipped layer) it was read from
    row: np.ndarray  # per point: its row in that file (None where unknown)

    @cached_property
    def points(self) -> Points:
        return Points(self.ids, np.asarray(self.names, dtype=object), self.lon, self.lat, self.unit, self.region,
                      source=self.source, row=self.row)


def build_problem(scen: Scenario) -> NetworkProblem:
    """Load the scenario's data and build its :class:`NetworkProblem`.

    Candidate filtering happens here, before any model: forbidden sites are kept (fixed closed by the model);
    gateway access drops candidates farther than the gateway radius (km and/or minutes) from every gateway
    point (the dropped ones are recorded in ``problem.meta["dropped"]`` for the precheck's messages); radii,
    ``max_road_hours`` and ``link_same`` rules define the sparse links.

    Raises
    ------
    ScenarioError
        Unknown required/forbidden ids or demand point names, impossible counts (with the dotted key); a
        data file that is malformed.
    DataError
        Unless ``[scenario] allow_far``: points that are probably at a wrong coordinate (:func:`_far_points`).
    """
    file = str(scen.path) if scen.path else "<scenario>"
    found = DefectCollector(file)
    load = Loader(scen)
    measure = PairMeasure(scen, found)
    found.raise_if_any(ScenarioError)
    dem = _demand(scen, load, found)
    found.raise_if_any(ScenarioError)
    tiers_pts, dropped, gateways = _tier_points(scen, load, measure, dem, found)
    found.raise_if_any(ScenarioError)
    if not scen.allow_far:
        found.extend(_far_points(scen, load, dem))
        found.raise_if_any(DataError)
    _check_ids(scen, tiers_pts, dropped, found)
    found.raise_if_any(ScenarioError)
    links, sources = _links(scen, measure, dem, tiers_pts, found)
    found.raise_if_any(ScenarioError)
    tiers, counts = _tiers_and_counts(scen, dem, tiers_pts, dropped, gateways, found)
    found.raise_if_any(ScenarioError)
    counted = {s: int(sum(int(np.sum(src == k)) for src in sources)) for k, s in enumerate(SOURCES)}
    return NetworkProblem(
        name=scen.name, demand_ids=dem.ids, weight=dem.weight, tiers=tuple(tiers), links=tuple(links),
        counts=tuple(counts), demand_names=np.array(dem.names, dtype=object), demand_lon=dem.lon, demand_lat=dem.lat,
        demand_groups={"unit": dem.unit, "region": dem.region, "kind": np.array(dem.kind, dtype=object)},
        objective=scen.objective, budget_cny=scen.budget_cny_per_year, budget_scope=scen.budget_scope,
        single_sourcing=scen.single_sourcing, colocation=scen.colocation, weight_unit=scen.weight_unit,
        source=file, meta={"dropped": dropped, "structure": scen.structure, "circuity": _circuity_label(scen),
                           "link_source": [np.asarray(SOURCES, dtype=object)[s] for s in sources],
                           "pair_sources": counted, "unit_names": _unit_names(scen),
                           "roads": measure.roads},
    )


def _unit_names(scen: Scenario) -> dict[str, str]:
    """Planning-unit id -> name (Chinese) when the scenario uses the Chongqing layers, else empty."""
    if not scen.uses_chongqing():
        return {}
    import siting.geo as geo

    u = geo.load_units(data_dir=scen.data_dir, structure=scen.structure)
    names = dict(zip(u["unit_id"].astype(str), u["name_zh"].astype(str)))
    d = geo.load_districts(data_dir=scen.data_dir, structure=scen.structure)  # logistics points carry adcodes
    return {**dict(zip(d["adcode"].astype(str), d["name_zh"].astype(str))), **names}


def _circuity_label(scen: Scenario) -> Any:
    if scen.circuity_mode == "measured":
        return f"measured district factors ({scen.circuity_rule} of the two ends)"
    return scen.circuity


def _demand(scen: Scenario, load: Loader, found: DefectCollector) -> _Demand:
    parts = []
    for comp in scen.demand:
        try:
            pts, _ = load.combined(comp.sources)
        except InputError as exc:
            found.extend(exc.defects)
            continue
        got = _component(comp, pts, scen, found)
        if got is not None:
            parts.append((comp, *got))
    single = len(scen.demand) == 1
    raw = [str(x) for _, sub, _ in parts for x in sub.ids]
    ids = raw if single else [f"{c.name}:{x}" for c, sub, _ in parts for x in sub.ids]
    cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0))
    return _Demand(
        ids=np.array(ids, dtype=object), raw_ids=np.array(raw, dtype=object),
        names=[str(x) for _, sub, _ in parts for x in sub.names],
        lon=cat([sub.lon for _, sub, _ in parts]), lat=cat([sub.lat for _, sub, _ in parts]),
        weight=cat([w for _, _, w in parts]),
        unit=np.array([x for _, sub, _ in parts for x in sub.unit], dtype=object),
        region=np.array([x for _, sub, _ in parts for x in sub.region], dtype=object),
        kind=[c.name for c, sub, _ in parts for _ in range(len(sub))],
        source=_where(sub for _, sub, _ in parts), row=_where((sub for _, sub, _ in parts), attr="row"),
    )


def _where(parts: Any, attr: str = "source") -> np.ndarray:
    """The ``source`` (or ``row``) of each point of ``parts`` (``None`` where a part does not say)."""
    return np.array([x for p in parts for x in (getattr(p, attr) if getattr(p, attr) is not None
                                                 else [None] * len(p))], dtype=object)


def _component(comp: DemandSpec, pts: Points, scen: Scenario, found: DefectCollector) -> tuple[Points, np.ndarray] | None:
    """The points and volumes of one demand component (``None`` after a defect)."""
    key = f"demand.{comp.name}"
    if comp.per_point is not None:
        by_id = {str(x): k for k, x in enumerate(pts.ids)}
        by_name: dict[str, int] = {}
        for k, x in enumerate(pts.names):
            by_name.setdefault(str(x), k)
        idx, vol = [], []
        for pn, x in comp.per_point:
            k = by_id.get(pn, by_name.get(pn))
            if k is None:
                hint = difflib.get_close_matches(pn, list(by_name) + list(by_id), n=1)
                found.add(f"no point named {pn!r} in {', '.join(s.describe() for s in comp.sources)}"
                          + (f"; did you mean {hint[0]!r}?" if hint else ""), row=f"{key}.{scen.units}_per_year.{pn}")
                continue
            idx.append(k)
            vol.append(x)
        sub = pts.take(np.asarray(idx, dtype=np.int64))
        w = np.asarray(vol, dtype=float)
    else:
        sub = pts
        if comp.per_person is not None:
            if pts.population is None or np.any(~np.isfinite(pts.population)):
                found.add("the source has no population column to multiply", row=f"{key}.{scen.units}_per_person_per_year")
                return None
            w = pts.population * comp.per_person
        elif comp.per_weight_unit is not None:
            w = (pts.weight if pts.weight is not None else np.ones(len(pts))) * comp.per_weight_unit
        else:
            w = pts.weight if pts.weight is not None else np.ones(len(pts))
    return sub, w * comp.growth_factor(scen.year)  # demand growth to the planning year (1 without a year)


def _tier_points(scen: Scenario, load: Loader, measure: PairMeasure, dem: _Demand, found: DefectCollector
                 ) -> tuple[list[Points], dict[str, list], list[Gateway | None]]:
    """Each tier's candidates after the gateway and shortlist filters; what was dropped; the gateway rules."""
    tiers_pts: list[Points] = []
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
        uniq, cnt = np.unique(pts.ids.astype(str), return_counts=True)
        for u in uniq[cnt > 1][:10]:
            found.add(f"candidate id {u!r} appears more than once across the sources; list each site once",
                      row=f"{key}.candidates")
        gw, every = None, pts.ids
        if ts.gateway is not None:
            gw, pts, lost = _gateway(ts, pts, load, measure, found)
            dropped[ts.name] = lost
        if ts.shortlist is not None:
            cover = (dem, measure) if ts is scen.tiers[-1] else None  # bottom tier: keep every township coverable
            pts, lost = _shortlist(pts, ts, origin, cover=cover)
            if lost:
                dropped.setdefault(ts.name, []).extend(lost)
        gateways.append(None if gw is None else _kept_access(gw, every, pts.ids))
        tiers_pts.append(pts)
    return tiers_pts, dropped, gateways


#: how to accept far points, ending each far-point message
_ALLOW_FAR = "set allow_far = true under [scenario] (siting run --allow-far)"


def _far_points(scen: Scenario, load: Loader, dem: _Demand) -> list[Defect]:
    """Points that are probably at a wrong coordinate (:mod:`siting.geo.far`): a demand point farther than
    :data:`~siting.core.limits.FAR_KM` (great circle) from every candidate of every tier, a candidate that far
    from every demand point, and a gateway point (of the listed categories and ids) that far from every
    candidate of its tier, each named with its file (or shipped layer), row and id.

    The candidates are those of the tiers' sources before the gateway and shortlist filters (a point in Paris
    is a wrong coordinate whether or not a filter would drop it). A record that is both a demand point and a
    candidate, or a candidate and a gateway point (a file used for both), does not count as its own neighbour.
    """
    from siting.geo.far import PlacedPoints, far_defects

    def placed(p: Points, label: str, ids: np.ndarray | None = None) -> PlacedPoints:
        n = len(p)
        source = p.source if p.source is not None else np.full(n, None, dtype=object)
        row = p.row if p.row is not None else np.full(n, None, dtype=object)
        column = np.array(["lon,lat" if r is not None else None for r in row], dtype=object)  # a file's columns
        return PlacedPoints(label, p.ids if ids is None else ids, p.lon, p.lat, source, row, column)

    demand = placed(dem.points, "demand point", ids=dem.raw_ids)  # the ids as written in the file
    tiers = [(ts.name, load.combined(ts.sources)[0]) for ts in scen.tiers]  # loaded by _tier_points (cached)
    parts = [placed(p, "candidate") for _, p in tiers]
    union = PlacedPoints.concat("candidate", parts).unique()
    out = far_defects(demand, union, escape=_ALLOW_FAR)
    for (name, p) in tiers:
        out += far_defects(placed(p, f"{name} candidate"), demand, escape=_ALLOW_FAR)
    for ts, (name, p) in zip(scen.tiers, tiers):
        if ts.gateway is not None:  # its source was loaded by _tier_points (cached)
            gateways = _gateway_points(ts, load.points(ts.gateway[3]))
            out += far_defects(placed(gateways, f"{name} gateway point"), placed(p, f"{name} candidate"),
                               escape=_ALLOW_FAR)
    return out


def _gateway_points(ts: TierSpec, gp: Points) -> Points:
    """The gateway points of tier ``ts`` among its gateway source's points ``gp``: those of the listed categories
    and ids (every point when the gateway lists neither)."""
    cats, gids, _, _ = ts.gateway  # type: ignore[misc]
    keep = np.ones(len(gp), bool)
    if cats:
        keep &= np.isin(gp.category.astype(str) if gp.category is not None else np.full(len(gp), ""), list(cats))
    if gids:
        keep &= np.isin(gp.ids.astype(str), list(gids))
    return gp.take(np.flatnonzero(keep))


def _gateway(ts: TierSpec, pts: Points, load: Loader, measure: PairMeasure, found: DefectCollector
             ) -> tuple[Gateway | None, Points, list]:
    """Apply the gateway-access rule: keep the candidates within the radii of a gateway point."""
    key = f"tiers.{ts.name}"
    cats, gids, grad, gsrc = ts.gateway  # type: ignore[misc]
    try:
        gp = load.points(gsrc)
    except InputError as exc:
        found.extend(exc.defects)
        return None, pts, []
    known = set(str(x) for x in (gp.category if gp.category is not None else []))
    for c in cats:
        if c not in known:
            hint = difflib.get_close_matches(c, sorted(known), n=1)
            found.add(f"no gateway of category {c!r}" + (f"; did you mean {hint[0]!r}?" if hint else
                      f"; categories: {', '.join(sorted(known))}"), row=f"{key}.gateway.categories")
    for gid in gids:
        if gid not in {str(x) for x in gp.ids}:
            found.add(f"no gateway with id {gid!r}", row=f"{key}.gateway.ids")
    g = _gateway_points(ts, gp)
    near = np.zeros(len(pts), bool)
    ps = PairSet.concat([])
    if len(g):
        ps = measure.pairs(pts, pts.ids, g, g.ids, grad, ts.gateway_radius_min)
        near[ps.ia] = True
        if not len(ps) and len(pts) and not measure.fallback and measure.roads is None:  # an OD without these pairs
            found.add("no pair between the candidates and the gateway points is in the OD matrix or on the road "
                      "network within the radius; give them, or set [network] fallback = \"circuity\"",
                      row=f"{key}.gateway")
    else:
        found.add("no gateway point is left after the category/id filter", row=f"{key}.gateway")
    far = np.flatnonzero(~near)
    limits = [f"{grad:g} km" if math.isfinite(grad) else "", f"{ts.gateway_radius_min:g} min"
              if math.isfinite(ts.gateway_radius_min) else ""]
    reason = f"farther than {' / '.join(x for x in limits if x)} from every gateway"
    lost = [(str(pts.ids[j]), reason, {"unit": pts.unit[j], "region": pts.region[j]}) for j in far]
    # the verifier re-checks the rule on the pairs measured here (access), as the build decided it
    gw = Gateway(ids=g.ids, lon=g.lon, lat=g.lat, radius_km=grad, radius_min=ts.gateway_radius_min,
                 access=Links(ps.ia, ps.ib, ps.distance_km, ps.time_min))
    return gw, pts.take(np.flatnonzero(near)), lost


def _kept_access(gw: Gateway, before: np.ndarray, after: np.ndarray) -> Gateway:
    """``gw`` with its access pairs, measured on the candidates ``before`` (ids) the gateway and shortlist
    filters, re-indexed to the candidates kept ``after`` them (the pairs of dropped candidates left out)."""
    a = gw.access
    assert a is not None
    pos = {str(x): k for k, x in enumerate(after)}
    new = np.array([pos.get(str(x), -1) for x in before], dtype=np.int64)[a.child]
    ok = new >= 0
    return replace(gw, access=Links(new[ok], a.parent[ok], a.distance_km[ok], None if a.time_min is None else a.time_min[ok]))


def _check_ids(scen: Scenario, tiers_pts: list[Points], dropped: dict[str, list], found: DefectCollector) -> None:
    """Required / forbidden ids name candidates that exist (or say why they were dropped)."""
    for ts, pts in zip(scen.tiers, tiers_pts):
        known = {str(x) for x in pts.ids}
        gone = {r[0]: r[1] for r in dropped.get(ts.name, [])}
        for kind in ("required", "forbidden"):
            for rid in getattr(ts, kind):
                if rid in known:
                    continue
                if rid in gone:
                    if kind == "required":
                        found.add(f"required site {rid!r} was dropped before the model: {gone[rid]}",
                                  row=f"tiers.{ts.name}.{kind}")
                    continue
                hint = difflib.get_close_matches(rid, sorted(known), n=1)
                found.add(f"no {ts.name} candidate with id {rid!r}" + (f"; did you mean {hint[0]!r}?" if hint else ""),
                          row=f"tiers.{ts.name}.{kind}")


def _links(scen: Scenario, measure: PairMeasure, dem: _Demand, tiers_pts: list[Points], found: DefectCollector
           ) -> tuple[list[Links], list[np.ndarray]]:
    """The allowed links of each tier (radius, road hours, link_same) and each link's source code."""
    T = len(scen.tiers)
    links: list[Links] = []
    sources: list[np.ndarray] = []
    for t, (ts, pts) in enumerate(zip(scen.tiers, tiers_pts)):
        if t == T - 1:
            child, child_ids = dem.points, dem.raw_ids
        else:
            child = tiers_pts[t + 1]
            child_ids = child.ids
        radius_min = min(ts.radius_min, ts.max_road_hours * 60.0)
        ps = measure.pairs(child, child_ids, pts, pts.ids, ts.radius_km, radius_min)
        if ts.link_same:
            cg = child.unit if ts.link_same == "unit" else child.region
            pg = pts.unit if ts.link_same == "unit" else pts.region
            same = (cg[ps.ia] == pg[ps.ib]) & np.array([x is not None for x in cg[ps.ia]], dtype=bool)
            ps = ps.take(same)
        if not len(ps) and len(child) and len(pts) and not measure.fallback and measure.roads is None:
            found.add(f"no pair between the {ts.name} candidates and the points they serve is in the OD matrix or on "
                      "the road network within the radius; give them, or set [network] fallback = \"circuity\"",
                      row=f"tiers.{ts.name}")
        # OD rows (and a network) may give (child, parent) twice when an id names several points: keep the first
        ps = _unique_pairs(ps)
        has_time = bool(np.isfinite(ps.time_min).any())
        links.append(Links(ps.ia, ps.ib, ps.distance_km, ps.time_min if has_time else None))
        sources.append(ps.source)
    return links, sources


def _unique_pairs(ps: PairSet) -> PairSet:
    if len(ps) < 2:
        return ps
    key = ps.ia * (int(ps.ib.max()) + 1) + ps.ib
    _, first = np.unique(key, return_index=True)
    if first.size == len(ps):
        return ps
    mask = np.zeros(len(ps), bool)
    mask[first] = True
    return ps.take(mask)


def _tiers_and_counts(scen: Scenario, dem: _Demand, tiers_pts: list[Points], dropped: dict[str, list],
                      gateways: list[Gateway | None], found: DefectCollector) -> tuple[list[Tier], list[CountRule]]:
    counts: list[CountRule] = []
    tiers: list[Tier] = []
    for t, (ts, pts) in enumerate(zip(scen.tiers, tiers_pts)):
        m = len(pts)
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
            radius_km=ts.radius_km, radius_min=min(ts.radius_min, ts.max_road_hours * 60.0), gateway=gateways[t],
            link_same=ts.link_same,
        ))
        counts.extend(_count_rules(t, ts, pts, dem, dropped, found))
    return tiers, counts


def _count_rules(t: int, ts: TierSpec, pts: Points, dem: _Demand, dropped: dict[str, list],
                 found: DefectCollector) -> list[CountRule]:
    """The count rules of one tier, with the impossible ones reported."""
    out: list[CountRule] = []
    m = len(pts)
    key = f"tiers.{ts.name}"
    label = f"{key}.count"
    n_dropped = len(dropped.get(ts.name, []))
    if ts.count is not None:
        sense, value = ts.count
        out.append(CountRule(t, sense, value, label=label))
        if sense in ("==", ">=") and value > m:
            found.add(f"{value} {ts.name} sites requested but only {m} candidates exist"
                      + (f" ({n_dropped} more were dropped by the gateway rule)" if n_dropped else ""), row=label)
    if ts.count_per is not None:
        by, sense, value, groups = ts.count_per
        lab = pts.unit if by == "unit" else pts.region
        dlab = dem.unit if by == "unit" else dem.region
        universe = tuple(groups) if groups else tuple(sorted({str(x) for x in np.concatenate([lab, dlab]) if x is not None}))
        out.append(CountRule(t, sense, value, by=by, groups=universe, label=f"{key}.count_per"))
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
    return out


def _shortlist(pts: Points, ts: TierSpec, origin: list[str], *, cover: tuple | None = None) -> tuple[Points, list]:
    """Keep the ``top`` most populous candidates of each group (plus every required one); ties by id.

    For the bottom tier (``cover`` = the demand and the scenario's pair measure) candidates are then added
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

        dem, measure = cover
        ps = measure.pairs(dem.points, dem.raw_ids, pts, pts.ids, ts.radius_km, min(ts.radius_min, ts.max_road_hours * 60.0))
        ia, ib = ps.ia, ps.ib
        if ts.link_same:
            cg = dem.unit if ts.link_same == "unit" else dem.region
            pg = pts.unit if ts.link_same == "unit" else pts.region
            ok = cg[ia] == pg[ib]
            ia, ib = ia[ok], ib[ok]
        dlon, dw = dem.lon, dem.weight
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
