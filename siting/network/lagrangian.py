r"""Lagrangian bound for three-tier networks whose two upper tiers are "exactly one per group" (express type).

Applies (:func:`nested_structure`) when: three tiers, cost objective, no budget, no finite capacity,
co-location allowed; tier 0 has exactly one open candidate per group :math:`A` (e.g. one hub per planning
region), tier 1 exactly one per group :math:`B` (one park per unit); every bottom candidate *j* has parents in
one group :math:`B(j)` only, every tier-1 candidate's parents lie in one group :math:`A`, and each group
:math:`B` lies inside one group :math:`A` (units nest in regions); the bottom tier has no count rule.

Relax the assignment rows :math:`\sum_j x_{ij} = 1` with multipliers :math:`\lambda_i`. For a fixed hub
*b* of region *r* and park *k* of unit *u*, an open bottom facility *j* of unit *u* carries volume at the
per-unit cost :math:`a_j(k,b) = c_1 d_{jk} + h_k + c_0 d_{kb} + h_b` above it, and it is worth opening in the
relaxation when :math:`v_j = F_j + \sum_i \min(0,\ w_i (c_2 d_{ij} + h_j + a_j) - \lambda_i) < 0`. So

.. math::

   L(\lambda) = \sum_i \lambda_i + \sum_r \min_{b \in r} \Big[ F_b + \sum_{u \subset r} \min_{k \in u}
   \big( F_k + \sum_{j \in u} \min(0, v_j(k, b)) \big) \Big]

is evaluated exactly by enumeration (required bottom sites always count, forbidden ones never), hence is a
proven lower bound for every :math:`\lambda`. It is at least the LP bound of the path formulation (the
inner problem keeps the integrality of the upper tiers). :math:`\lambda` is improved by subgradient steps
(Polyak step towards the incumbent). The incumbent comes from fixing the parks and hubs the relaxation
chooses and solving the remaining facility-location problem with HiGHS (:func:`solve_lagrangian` takes the
solver as a callable, so this module stays below the pipeline).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from siting.core.network import NetworkProblem

__all__ = ["LagrangianState", "NestedStructure", "lagrangian_value", "nested_structure", "restrict", "solve_lagrangian"]


@dataclass
class _Unit:
    """Precomputed arrays of one group B (unit): combos (k, b), bottom candidates J_u and their links."""

    combos_k: np.ndarray  # (C,) tier-1 candidate per combo
    combos_b: np.ndarray  # (C,) tier-0 candidate per combo
    fixed_k: np.ndarray  # (C,) F_k
    a: np.ndarray  # (C, |J_u|) per-unit cost above j (inf where no path)
    j: np.ndarray  # (|J_u|,) bottom candidates
    fixed_j: np.ndarray  # (|J_u|,)
    req_j: np.ndarray  # (|J_u|,) required
    li: np.ndarray  # bottom links of J_u: demand index
    lj: np.ndarray  # ... local j index
    base: np.ndarray  # w_i (c2 d_ij + h_j)
    lw: np.ndarray  # w_i
    inc: Any  # (links, |J_u|) incidence
    region: int

    @property
    def a_finite(self) -> np.ndarray:
        """``a`` with missing paths at 1e30 (so that ``w * a`` is never ``0 * inf``)."""
        return np.where(np.isfinite(self.a), self.a, 1e30)


@dataclass
class NestedStructure:
    """The decomposition of a problem that :func:`nested_structure` accepted."""

    units: list[_Unit]
    n_regions: int
    hub_fixed: np.ndarray  # F_b per tier-0 candidate
    hub_region: np.ndarray  # region index per tier-0 candidate (-1: forbidden / unusable)


def _single_group(labels: np.ndarray, child: np.ndarray, parent: np.ndarray, n_child: int) -> np.ndarray | None:
    """Per child, the one group label of all its parents (``None`` if some child's parents span groups)."""
    lab = np.asarray([str(x) for x in labels], dtype=object)[parent]
    out = np.full(n_child, None, dtype=object)
    for c, g in zip(child.tolist(), lab.tolist()):
        if out[c] is None:
            out[c] = g
        elif out[c] != g:
            return None
    return out


def _per_group_rule(p: NetworkProblem, t: int) -> str | None:
    """The group name of tier ``t``'s "exactly one per group" rule, if that is its only kind of rule."""
    rules = [r for r in p.counts if r.tier == t]
    per = [r for r in rules if r.by is not None and r.sense == "==" and r.value == 1]
    if len(per) != 1:
        return None
    by = per[0].by
    n_groups = len(set(per[0].groups))
    for r in rules:
        if r is per[0]:
            continue
        if not (r.by is None and r.sense == "==" and r.value == n_groups):
            return None
    labels = p.tiers[t].group(by).astype(str)
    if set(labels.tolist()) - set(per[0].groups):  # candidates outside the listed groups: not handled
        return None
    return by


def nested_structure(p: NetworkProblem) -> NestedStructure | None:
    """The decomposition of ``p`` if it has the shape in the module docstring, else ``None``."""
    if (p.n_tiers != 3 or p.objective != "cost" or math.isfinite(p.budget_cny) or not p.colocation
            or any(np.any(np.isfinite(t.capacity)) for t in p.tiers) or any(r.tier == 2 for r in p.counts)):
        return None
    by_a, by_b = _per_group_rule(p, 0), _per_group_rule(p, 1)
    if by_a is None or by_b is None:
        return None
    hub, park, bot = p.tiers
    l0, l1 = p.links[0], p.links[1]
    region_of_park = _single_group(hub.group(by_a), l0.child, l0.parent, park.size)
    unit_of_bottom = _single_group(park.group(by_b), l1.child, l1.parent, bot.size)
    if region_of_park is None or unit_of_bottom is None:
        return None
    regions = sorted(set(hub.group(by_a).astype(str).tolist()))
    rid = {g: i for i, g in enumerate(regions)}
    park_unit = park.group(by_b).astype(str)
    units: list[_Unit] = []
    for u in sorted(set(park_unit.tolist())):
        ks = np.flatnonzero((park_unit == u) & ~park.forbidden)
        regs = {region_of_park[k] for k in ks if region_of_park[k] is not None}
        if len(regs) > 1:
            return None
        if not len(ks) or not regs:
            continue  # a unit with no usable park: the restricted solve reports the infeasibility
        r = rid[regs.pop()]
        units.append(_unit_arrays(p, ks, r, u, unit_of_bottom))
    hub_region = np.array([rid[str(g)] for g in hub.group(by_a)], dtype=np.int64)
    hub_region[hub.forbidden] = -1
    return NestedStructure(units=units, n_regions=len(regions), hub_fixed=hub.fixed_cost_cny.astype(float),
                           hub_region=hub_region)


def _unit_arrays(p: NetworkProblem, ks: np.ndarray, r: int, u: str, unit_of_bottom: np.ndarray) -> _Unit:
    hub, park, bot = p.tiers
    l0, l1, l2 = p.links
    js = np.flatnonzero((unit_of_bottom == u) & ~bot.forbidden)
    combos = [(k, b, d) for k in ks for b, d in zip(l0.parent[l0.child == k], l0.distance_km[l0.child == k])
              if not hub.forbidden[b]]
    ck = np.array([c[0] for c in combos], dtype=np.int64)
    cb = np.array([c[1] for c in combos], dtype=np.int64)
    up = np.array([hub.transport_cost_cny_per_unit_km * c[2] + hub.handling_cost_cny_per_unit[c[1]]
                   for c in combos], dtype=np.float64)
    a = np.full((len(combos), len(js)), np.inf)
    jpos = {int(j): q for q, j in enumerate(js)}
    sel = np.isin(l1.child, js)
    for j, k, d in zip(l1.child[sel], l1.parent[sel], l1.distance_km[sel]):
        rows = np.flatnonzero(ck == k)
        a[rows, jpos[int(j)]] = (park.transport_cost_cny_per_unit_km * d + park.handling_cost_cny_per_unit[k]
                                 + up[rows])
    sel2 = np.isin(l2.parent, js)
    lj = np.array([jpos[int(j)] for j in l2.parent[sel2]], dtype=np.int64)
    li = l2.child[sel2]
    w = p.weight[li]
    base = w * (bot.transport_cost_cny_per_unit_km * l2.distance_km[sel2] + bot.handling_cost_cny_per_unit[l2.parent[sel2]])
    inc = sp.csr_matrix((np.ones(len(lj)), (np.arange(len(lj)), lj)), shape=(len(lj), len(js)))
    return _Unit(combos_k=ck, combos_b=cb, fixed_k=park.fixed_cost_cny[ck].astype(float), a=a, j=js,
                 fixed_j=bot.fixed_cost_cny[js].astype(float), req_j=bot.required[js], li=li, lj=lj, base=base,
                 lw=w, inc=inc, region=r)


@dataclass
class LagrangianState:
    """One evaluation of :math:`L(\\lambda)`: its value, the subgradient and the chosen upper sites."""

    value: float
    subgradient: np.ndarray
    park: dict[int, int] = field(default_factory=dict)  # unit index -> chosen tier-1 candidate
    hub: dict[int, int] = field(default_factory=dict)  # region -> chosen tier-0 candidate
    unit_totals: list[np.ndarray] = field(default_factory=list)  # per unit: F_k + sum_j min(0, v_j) per combo
    unit_best: list[np.ndarray] = field(default_factory=list)  # per unit: min over k, per tier-0 candidate
    region_hub: np.ndarray | None = None  # (regions, tier-0): F_b + sum over units of unit_best


def lagrangian_value(s: NestedStructure, lam: np.ndarray, n_demand: int) -> LagrangianState:
    """Evaluate :math:`L(\\lambda)` exactly (module docstring) with its subgradient."""
    R = s.n_regions
    n_hub = len(s.hub_fixed)
    # per region and hub: F_b + sum over units of min_k(...)
    reg = np.zeros((R, n_hub))
    best_combo: list[np.ndarray] = []
    unit_tot: list[np.ndarray] = []
    unit_best: list[np.ndarray] = []
    for q, u in enumerate(s.units):
        red = u.base[None, :] + u.lw[None, :] * u.a_finite[:, u.lj] - lam[u.li][None, :]  # (C, links)
        red = np.minimum(red, 0.0)
        v = u.fixed_j[None, :] + np.asarray(u.inc.T @ red.T).T
        v = np.where(np.isfinite(u.a), v, np.inf)
        contrib = np.where(u.req_j[None, :], v, np.minimum(v, 0.0))
        total = u.fixed_k + contrib.sum(axis=1)  # (C,)
        # min over k for each hub b
        per_b = np.full(n_hub, np.inf)
        arg_b = np.full(n_hub, -1, dtype=np.int64)
        order = np.lexsort((total, u.combos_b))
        first = np.ones(len(order), bool)
        first[1:] = u.combos_b[order][1:] != u.combos_b[order][:-1]
        pick = order[first]
        per_b[u.combos_b[pick]] = total[pick]
        arg_b[u.combos_b[pick]] = pick
        reg[u.region] += per_b
        best_combo.append(arg_b)
        unit_tot.append(total)
        unit_best.append(per_b)
    value = float(lam.sum())
    st = LagrangianState(value=0.0, subgradient=np.ones(n_demand))
    for r in range(R):
        cand = np.flatnonzero(s.hub_region == r)
        vals = s.hub_fixed[cand] + reg[r, cand]
        b = int(cand[int(np.argmin(vals))])
        value += float(vals.min())
        st.hub[r] = b
    served = np.zeros(n_demand)
    for q, u in enumerate(s.units):
        c = int(best_combo[q][st.hub[u.region]])
        st.park[q] = int(u.combos_k[c])
        red = u.base + u.lw * u.a_finite[c, u.lj] - lam[u.li]
        v = u.fixed_j + np.bincount(u.lj, weights=np.minimum(red, 0.0), minlength=len(u.j))
        open_j = (u.req_j | (v < 0)) & np.isfinite(u.a[c])
        use = open_j[u.lj] & (red < 0)
        served += np.bincount(u.li[use], minlength=n_demand)
    st.value = value
    st.subgradient = 1.0 - served
    st.unit_totals = unit_tot
    st.unit_best = unit_best
    st.region_hub = s.hub_fixed[None, :] + reg
    return st


def forced_values(s: NestedStructure, st: LagrangianState) -> tuple[np.ndarray, np.ndarray]:
    """:math:`L(\\lambda)` with each upper-tier candidate forced open: per tier-1 candidate (``inf`` for
    those outside the structure) and per tier-0 candidate. Any solution using a candidate costs at least its
    value (reduced-cost fixing; the ranking of the candidates)."""
    n_hub = len(s.hub_fixed)
    reg = st.region_hub
    best_r = np.array([np.min(np.where(s.hub_region == r, reg[r], np.inf)) for r in range(s.n_regions)])
    lam_sum = st.value - best_r.sum()
    hub_val = np.full(n_hub, np.inf)
    for b in range(n_hub):
        r = s.hub_region[b]
        if r >= 0:
            hub_val[b] = lam_sum + best_r.sum() - best_r[r] + reg[r, b]
    n_park = max((int(u.combos_k.max()) + 1 for u in s.units if len(u.combos_k)), default=0)
    park_val = np.full(n_park, np.inf)
    for q, u in enumerate(s.units):
        r = u.region
        others = lam_sum + best_r.sum() - best_r[r]
        # with k forced in unit u: min over b of reg[r, b] - unit_best[q][b] + T_u(k, b)
        val = reg[r, u.combos_b] - st.unit_best[q][u.combos_b] + st.unit_totals[q]
        np.minimum.at(park_val, u.combos_k, others + val)
    return park_val, hub_val


def eliminate(s: NestedStructure, st: LagrangianState, incumbent: float) -> tuple[np.ndarray, np.ndarray]:
    """Upper-tier candidates that cannot be in a solution cheaper than ``incumbent``: forcing tier-1
    candidate *k* (or tier-0 candidate *b*) raises :math:`L(\\lambda)` above it (:func:`forced_values`).
    Returns boolean masks ``(park_out, hub_out)``."""
    park_val, hub_val = forced_values(s, st)
    return park_val > incumbent, hub_val > incumbent


def solve_lagrangian(p: NetworkProblem, s: NestedStructure, restricted_solve: Callable[[dict[int, int], dict[int, int]], Any],
                     *, time_limit_s: float, gap: float, log: Any = None, window: int = 100,
                     level_off: float = 0.01) -> tuple[float, Any, dict[str, Any]]:
    """Subgradient optimisation of :math:`L` with incumbents from ``restricted_solve(park, hub)``.

    Stops at ``time_limit_s``, at the gap, or when the bound has levelled off: it rose by less than
    ``level_off * gap`` (relative) over the last ``window`` iterations (measured on the express network
    without its shortlist: 3,444.87 M CNY/yr at iteration 401, 3,444.89 M at 527, half the time limit later).

    ``restricted_solve`` gets the relaxation's choice (unit index -> park, region -> hub) and returns a
    result with ``.info.objective`` (CNY/yr) or ``None``. Returns ``(best bound, best result, stats)``.
    """
    say = log or (lambda _s: None)
    t0 = time.perf_counter()
    n = p.n_demand
    # start: each demand point's cheapest single-link cost (a feasible, reasonable lambda)
    lam = np.zeros(n)
    for u in s.units:
        fin = np.isfinite(u.a).any(axis=0)
        amin = np.where(fin, np.min(np.where(np.isfinite(u.a), u.a, np.inf), axis=0), np.inf)
        c = u.base + u.lw * amin[u.lj]
        np.maximum.at(lam, u.li, np.where(np.isfinite(c), c, 0.0))
    best_lb, best, best_ub = -math.inf, None, math.inf
    theta, stall, it = 1.0, 0, 0
    direction = np.zeros(n)
    best_state: LagrangianState | None = None
    tried: set[tuple] = set()
    next_try = 0
    history: list[float] = []
    while time.perf_counter() - t0 < time_limit_s:
        it += 1
        st = lagrangian_value(s, lam, n)
        if st.value > best_lb + 1e-9 * abs(st.value):
            best_lb, stall, best_state = st.value, 0, st
        history.append(best_lb)
        if it > window and best_lb - history[-window] <= level_off * gap * abs(best_lb):
            break  # levelled off: the time is better spent on the incumbent
        else:
            stall += 1
            if stall >= 10:
                theta, stall = theta / 1.5, 0
        key = tuple(sorted(st.park.items())) + tuple(sorted(st.hub.items()))
        if it >= next_try and key not in tried:
            tried.add(key)
            res = restricted_solve(st.park, st.hub)
            if res is not None and res.info.objective < best_ub:
                best_ub, best = res.info.objective, res
            say(f"lagrangian it {it}: bound {best_lb:,.0f}, incumbent {best_ub:,.0f} "
                f"({100 * (best_ub - best_lb) / best_ub:.3f} %), {time.perf_counter() - t0:.1f} s")
            next_try = it + 40 * len(tried)  # ever rarer: near the dual optimum the choices are ties
        if math.isfinite(best_ub) and best_ub - best_lb <= gap * abs(best_ub):
            break
        # deflected subgradient (half of the previous direction kept): less zig-zag between neighbours
        g = st.subgradient + 0.5 * direction
        direction = g
        nn = float(g @ g)
        if nn == 0:
            break
        target = best_ub if math.isfinite(best_ub) else st.value * 1.01 + 1.0
        lam = lam + theta * (target - st.value) / nn * g
        if theta < 1e-4:
            break
    return best_lb, best, {"iterations": it, "seconds": time.perf_counter() - t0, "incumbents": len(tried),
                           "state": best_state}


def restrict(p: NetworkProblem, park: dict[int, int] | np.ndarray, hub: dict[int, int] | np.ndarray) -> NetworkProblem:
    """``p`` with only the given tier-1 and tier-0 candidates allowed (others forbidden, their links
    dropped); ``park``/``hub`` are the relaxation's choice (group -> candidate) or boolean masks."""
    from dataclasses import replace

    keep = [np.zeros(p.tiers[0].size, bool), np.zeros(p.tiers[1].size, bool), np.ones(p.tiers[2].size, bool)]
    for t, choice in ((0, hub), (1, park)):
        if isinstance(choice, dict):
            keep[t][list(choice.values())] = True
        else:
            keep[t] |= np.asarray(choice, dtype=bool)
    tiers = tuple(replace(t, forbidden=t.forbidden | ~k) for t, k in zip(p.tiers, keep))
    links = []
    for t, lk in enumerate(p.links):
        ok = keep[t][lk.parent] & (keep[t + 1][lk.child] if t < 2 else True)
        links.append(type(lk)(lk.child[ok], lk.parent[ok], lk.distance_km[ok],
                              None if lk.time_min is None else lk.time_min[ok]))
    return replace(p, tiers=tiers, links=tuple(links))


def prefer_lagrangian(p: NetworkProblem, *, max_path_vars: int = 60_000) -> bool:
    """Whether the Lagrangian route should replace the MIP: the path variables of the level above the bottom
    tier exceed the size budget of ``build_multitier(strong="auto")`` (which then falls back to the weak
    aggregated flows; measured on chongqing-express without its shortlist: HiGHS finds no solution in 90 s)."""
    T = p.n_tiers
    if T < 2:
        return False
    parents = np.bincount(p.links[T - 2].child, minlength=p.tiers[T - 1].size)
    return int(parents[p.links[T - 1].parent].sum()) > max_path_vars


def improve_incumbent(p: NetworkProblem, opened: tuple[np.ndarray, ...], cost: float,
                      restricted_solve: Callable[[np.ndarray, np.ndarray], Any], *, deadline: float, target: float,
                      slice_s: float = 10.0, log: Any = None) -> tuple[tuple[np.ndarray, ...], float]:
    """Alternate the local search (:func:`siting.network.polish.polish_open_sets`, slices of ``slice_s``) with
    ``restricted_solve(park mask, hub mask)`` on the tier-1 and tier-0 sites it reached (which re-optimises
    the whole bottom tier for them), until ``deadline`` (``time.perf_counter()``), until the cost reaches
    ``target`` or a slice of local search finds nothing. Never returns a worse point than ``opened``."""
    from siting.network.polish import polish_open_sets

    say = log or (lambda _s: None)
    best, best_cost = tuple(np.asarray(o, dtype=bool) for o in opened), cost
    seen = {(np.flatnonzero(best[0]).tobytes(), np.flatnonzero(best[1]).tobytes())}
    while time.perf_counter() < deadline - 0.5 and best_cost > target:
        left = deadline - time.perf_counter()
        cand, c = polish_open_sets(p, best, seconds=min(slice_s, left))
        if not c < best_cost * (1 - 1e-12):
            break
        best, best_cost = cand, c
        key = (np.flatnonzero(best[0]).tobytes(), np.flatnonzero(best[1]).tobytes())
        if key in seen or best_cost <= target:
            continue
        seen.add(key)
        res = restricted_solve(best[1], best[0])
        if res is not None and res.info.objective < best_cost * (1 - 1e-12):
            best, best_cost = tuple(res.open), float(res.info.objective)
        say(f"incumbent: {best_cost:,.0f} CNY/yr after local search and a re-solve of the bottom tier")
    return best, best_cost


def solve_by_lagrangian(problem: NetworkProblem, nested: NestedStructure, *, options: Any,
                        solve: Callable[[NetworkProblem, Any], Any], log: Any = None) -> Any:
    """The Lagrangian route: the bound is the best :math:`L(\\lambda)`, the incumbent the best
    facility-location MIP left once the relaxation's parks and hubs are fixed (``solve(problem, options)``,
    e.g. :func:`siting.pipeline.run.solve_network` without decomposition), polished by local search over the
    full candidate sets alternating with re-solves of the bottom tier (:func:`improve_incumbent`). Returns a
    :class:`~siting.core.network.NetworkResult` of ``problem``."""
    from dataclasses import replace

    from siting.core.errors import InfeasibleError
    from siting.core.network import NetworkResult
    from siting.core.options import relative_gap
    from siting.core.results import SolutionStatus, SolveInfo, TerminationCondition
    from siting.model.tree import cheapest_tree

    say = log or (lambda _s: None)
    t0 = time.perf_counter()
    limit = options.time_limit_s if options.time_limit_s is not None else 300.0
    deadline = t0 + limit

    def restricted(park: dict[int, int] | np.ndarray, hub: dict[int, int] | np.ndarray) -> Any:
        left = deadline - time.perf_counter()
        if left < 1.0:
            return None
        sub = replace(options, time_limit_s=min(30.0, max(1.0, 0.5 * left)), verbose=False,
                      mip_rel_gap=min(options.mip_rel_gap, 1e-3))
        try:
            r = solve(restrict(problem, park, hub), sub)
        except InfeasibleError:
            return None
        return r if r.has_solution else None

    say("large bottom level with one site per group above: Lagrangian route (siting.network.lagrangian)")
    lb, best, stats = solve_lagrangian(problem, nested, restricted, time_limit_s=0.85 * limit,
                                       gap=options.mip_rel_gap, log=say)
    params = {"objective": problem.objective, "budget_cny": problem.budget_cny,
              "single_sourcing": problem.single_sourcing}
    if best is None:
        info = SolveInfo(TerminationCondition.TIME_LIMIT, SolutionStatus.NO_SOLUTION, bound=lb,
                         solve_seconds=time.perf_counter() - t0, solver="lagrangian", options=options.to_dict())
        return NetworkResult(name=problem.name, info=info, objective_kind=problem.objective, params=params)
    opened, obj = improve_incumbent(problem, tuple(best.open), best.info.objective, restricted, deadline=deadline,
                                    target=lb / (1 - options.mip_rel_gap), log=say)
    used, flow = cheapest_tree(problem, opened)
    gap = relative_gap(obj, lb)
    done = gap <= options.mip_rel_gap
    info = SolveInfo(TerminationCondition.OPTIMAL if done else TerminationCondition.TIME_LIMIT,
                     SolutionStatus.OPTIMAL if done else SolutionStatus.FEASIBLE, objective=obj, bound=lb, gap=gap,
                     solve_seconds=time.perf_counter() - t0, solver=f"lagrangian + {best.info.solver}",
                     options=options.to_dict())
    say(f"lagrangian route: {stats['iterations']} iterations, {stats['incumbents']} restricted solves, "
        f"objective {obj:,.0f}, bound {lb:,.0f} (gap {100 * gap:.3f} %)")
    return NetworkResult(name=problem.name, info=info, open=opened, link_used=used, link_flow=flow,
                         objective_kind=problem.objective, params=params)
