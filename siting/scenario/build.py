from __future__ import annotations

import difflib
import math
from typing import Any
import numpy as np
from siting.core.errors import DefectCollector, InputError, ScenarioError
from siting.core.network import CountRule, Gateway, Links, NetworkProblem, Tier
from siting.scenario.spec import Scenario, TierSpec
from siting.scenario.sources import Loader, Points


def _pairs(scen: Scenario, od: Any, c: Points, p: Points, radius_km: float, radius_min: float,
           child_ids: np.ndarray, parent_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Allowed (child, parent) pairs within the radius: a spatial index, or the OD matrix when given."""
    from siting.geo.distance import pairs_within

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
    load = Loader(scen)
    units = scen.units
    od = None
    if scen.od_matrix is not None:
        from siting.geo.od import read_od_matrix

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
                from siting.geo.distance import pairs_within

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
            child = Points(demand_ids, demand_ids, dem_lon, dem_lat, dem_unit, dem_region)
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


def _shortlist(pts: Points, ts: TierSpec, origin: list[str], *, cover: tuple | None = None) -> tuple[Points, list]:
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

        from siting.geo.distance import pairs_within

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
