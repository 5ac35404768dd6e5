"""Independent check of a multi-tier solution (:class:`~siting.core.network.NetworkResult`).

This module does not import Pyomo and shares no code with :mod:`siting.model.multitier`: it takes
the problem's data arrays and the solution's open sets, used links and link volumes, and re-derives every
structural rule and the objective from scratch with numpy:

* every demand point is served by exactly one open bottom-tier facility (at most one for the coverage
  objective), over an allowed link, with its whole volume (single sourcing) or volumes summing to its weight;
* every open facility of a tier below the top has exactly one used parent link, to an open facility; closed
  facilities neither receive nor send anything;
* flow conservation: the volume a facility sends up equals the volume it receives from below;
* radii (distance, and time where given) of every used link; the "same group" link rule of each tier;
* counts per tier, overall and per group; required sites open, forbidden sites closed; capacities;
  co-location; gateway access (on the site-gateway pairs the build measured, in km and minutes, as the build
  decided it; from coordinates where the problem has no measured pairs); the budget;
* the reported objective equals the recomputed cost (or covered demand).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siting.core.network import NetworkProblem, NetworkResult, Tier

__all__ = ["NetworkCheck", "verify_network", "network_costs"]

_EARTH_RADIUS_KM = 6371.0088


def _great_circle_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * _EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass
class NetworkCheck:
    """Outcome of :func:`verify_network`.

    Attributes
    ----------
    ok
        True when no rule is violated.
    violations
        One line per violated rule (capped per rule).
    objective_recomputed
        Total annual cost (CNY/yr) or covered demand recomputed from the solution.
    costs
        Recomputed cost by tier and type: ``{tier: {"fixed": .., "handling": .., "transport": ..}}``.
    """

    ok: bool
    violations: list[str] = field(default_factory=list)
    objective_recomputed: float = math.nan
    costs: dict[str, dict[str, float]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "violations": list(self.violations),
            "objective_recomputed": self.objective_recomputed,
        }


def network_costs(problem: NetworkProblem, result: NetworkResult) -> dict[str, dict[str, float]]:
    """Annual cost (CNY/yr) by tier and type, recomputed from open sets and link volumes."""
    out: dict[str, dict[str, float]] = {}
    for t, tier in enumerate(problem.tiers):
        lk = problem.links[t]
        vol = np.asarray(result.link_flow[t], dtype=np.float64)
        fixed = float(tier.fixed_cost_cny[np.asarray(result.open[t], bool)].sum())
        handling = float(np.sum(vol * tier.handling_cost_cny_per_unit[lk.parent]))
        transport = float(np.sum(vol * lk.distance_km) * tier.transport_cost_cny_per_unit_km)
        out[tier.name] = {"fixed": fixed, "handling": handling, "transport": transport}
    return out


class _Flags:
    """Violations found so far, one line per rule (items capped at five)."""

    def __init__(self) -> None:
        self.bad: list[str] = []

    def __call__(self, rule: str, items: np.ndarray | list[Any], what: str) -> None:
        items = list(items)
        if items:
            shown = ", ".join(str(s) for s in items[:5])
            more = f" (+{len(items) - 5} more)" if len(items) > 5 else ""
            self.bad.append(f"{rule}: {what}: {shown}{more}")

    def add(self, line: str) -> None:
        self.bad.append(line)


@dataclass
class _Arrays:
    """The solution as arrays, per tier, and the volume tolerance."""

    opened: list[np.ndarray]
    used: list[np.ndarray]
    flow: list[np.ndarray]
    tol: float
    vtol: float


def verify_network(problem: NetworkProblem, result: NetworkResult, *, tol: float = 1e-6) -> NetworkCheck:
    """Check every structural rule of ``result`` against ``problem`` (see the module docstring).

    Parameters
    ----------
    problem, result
        The instance and its solution.
    tol
        Relative tolerance for volumes and the objective (absolute tolerances scale with total demand).

    Returns
    -------
    NetworkCheck
    """
    p = problem
    T = p.n_tiers
    if not result.has_solution:
        return NetworkCheck(ok=False, violations=["no solution to verify"])
    if len(result.open) != T or len(result.link_used) != T or len(result.link_flow) != T:
        return NetworkCheck(ok=False, violations=[f"solution has the wrong number of tiers (expected {T})"])
    a = _Arrays([np.asarray(o, dtype=bool) for o in result.open], [np.asarray(u, dtype=bool) for u in result.link_used],
                [np.asarray(f, dtype=np.float64) for f in result.link_flow], tol, tol * max(float(p.weight.sum()), 1.0))
    for t, tier in enumerate(p.tiers):
        if len(a.opened[t]) != tier.size or len(a.used[t]) != len(p.links[t]) or len(a.flow[t]) != len(p.links[t]):
            return NetworkCheck(ok=False, violations=[f"tier {tier.name!r}: solution arrays have the wrong length"])
    flag = _Flags()
    for t in range(T):
        _check_links(p, t, a, flag)
        if t == T - 1:
            _check_demand(p, a, flag)
        else:
            _check_hierarchy(p, t, a, flag)
        _check_facilities(p, t, a, flag)
    _check_counts(p, a.opened, flag)
    if not p.colocation and T > 1:
        keys = np.concatenate([tier.site[a.opened[t]].astype(str) for t, tier in enumerate(p.tiers)])
        uniq, cnt = np.unique(keys, return_counts=True)
        flag("co-location", uniq[cnt > 1], "site hosts more than one tier")

    costs = network_costs(p, result)
    total = sum(sum(c.values()) for c in costs.values())
    fixed_total = sum(c["fixed"] for c in costs.values())
    if math.isfinite(p.budget_cny):
        spent = total if p.budget_scope == "total" else fixed_total
        if spent > p.budget_cny * (1 + tol) + 1e-6:
            flag.add(f"budget: annual {p.budget_scope} cost {spent:,.2f} CNY exceeds {p.budget_cny:,.2f} CNY")
    if p.objective == "cost":
        recomputed = total
    else:
        recomputed = float(a.flow[T - 1].sum())
    reported = result.info.objective
    if not math.isfinite(reported) or abs(reported - recomputed) > tol * max(abs(recomputed), 1.0) + 1e-6:
        flag.add(f"objective: reported {reported!r}, recomputed {recomputed!r}")
    return NetworkCheck(ok=not flag.bad, violations=flag.bad, objective_recomputed=recomputed, costs=costs)


def _check_links(p: NetworkProblem, t: int, a: _Arrays, flag: _Flags) -> None:
    """Used links go to open parents, carry non-negative volume, keep within the radii and the group rule."""
    tier, lk, T = p.tiers[t], p.links[t], p.n_tiers
    ids, kids = tier.ids, p.child_ids(t)
    used, flow, opened, vtol = a.used[t], a.flow[t], a.opened[t], a.vtol

    def names(links: np.ndarray) -> list[str]:
        return [f"{kids[lk.child[l]]}->{ids[lk.parent[l]]}" for l in links]

    flag(f"tier {tier.name}", names(np.flatnonzero(used & ~opened[lk.parent])), "link used to a closed facility")
    flag(f"tier {tier.name}", names(np.flatnonzero(flow < -vtol)), "negative volume")
    flag(f"tier {tier.name}", names(np.flatnonzero(~used & (np.abs(flow) > vtol))), "volume on an unused link")
    far = np.flatnonzero(used & (lk.distance_km > tier.radius_km * (1 + 1e-9) + 1e-9))
    flag(f"tier {tier.name} radius {tier.radius_km:g} km",
         [f"{kids[lk.child[l]]}->{ids[lk.parent[l]]} ({lk.distance_km[l]:.2f} km)" for l in far],
         "link longer than the radius")
    if lk.time_min is not None and math.isfinite(tier.radius_min):
        slow = np.flatnonzero(used & (lk.time_min > tier.radius_min * (1 + 1e-9) + 1e-9))
        flag(f"tier {tier.name} radius {tier.radius_min:g} min", names(slow), "link slower than the radius")
    if tier.link_same:
        child_groups = p.demand_groups if t == T - 1 else p.tiers[t + 1].groups
        if tier.link_same in child_groups and tier.link_same in tier.groups:
            cg = child_groups[tier.link_same][lk.child]
            pg = tier.groups[tier.link_same][lk.parent]
            flag(f"tier {tier.name} same {tier.link_same}", names(np.flatnonzero(used & (cg != pg))),
                 "link across groups")
        else:
            flag.add(f"tier {tier.name}: group {tier.link_same!r} missing on one side; cannot check the same-group rule")


def _check_demand(p: NetworkProblem, a: _Arrays, flag: _Flags) -> None:
    """Bottom tier: single sourcing and each demand served in full (cost) or at most once (coverage)."""
    t = p.n_tiers - 1
    tier, lk, kids, tol = p.tiers[t], p.links[t], p.child_ids(t), a.tol
    used, flow = a.used[t], a.flow[t]
    n_child = p.n_children(t)
    n_used = np.bincount(lk.child, weights=used.astype(float), minlength=n_child)
    served = np.bincount(lk.child, weights=flow, minlength=n_child)
    if p.single_sourcing:
        flag("single sourcing", kids[np.flatnonzero(n_used > 1)], "demand served by more than one facility")
        full = used & (np.abs(flow - p.weight[lk.child]) > tol * np.maximum(p.weight[lk.child], 1.0))
        flag("single sourcing", [f"{kids[lk.child[l]]}->{tier.ids[lk.parent[l]]}" for l in np.flatnonzero(full)],
             "partial volume on a link")
    if p.objective == "cost":
        short = np.flatnonzero(np.abs(served - p.weight) > tol * np.maximum(p.weight, 1.0))
        flag("assignment", kids[short], "demand not fully served")
    else:
        over = np.flatnonzero(served > p.weight * (1 + tol) + tol)
        flag("assignment", kids[over], "demand served more than once")
        if p.single_sourcing:
            part = np.flatnonzero((served > tol) & (np.abs(served - p.weight) > tol * np.maximum(p.weight, 1.0)))
            flag("assignment", kids[part], "demand partly served")


def _check_hierarchy(p: NetworkProblem, t: int, a: _Arrays, flag: _Flags) -> None:
    """Tiers below the top: one parent per open child, none for closed ones, and flow conservation."""
    tier, lk, kids = p.tiers[t], p.links[t], p.child_ids(t)
    n_child = p.n_children(t)
    n_used = np.bincount(lk.child, weights=a.used[t].astype(float), minlength=n_child)
    sent = np.bincount(lk.child, weights=a.flow[t], minlength=n_child)
    child_open = a.opened[t + 1]
    flag("hierarchy", kids[np.flatnonzero(child_open & (n_used != 1))],
         f"open {p.tiers[t + 1].name} without exactly one {tier.name}")
    flag("hierarchy", kids[np.flatnonzero(~child_open & (n_used > 0))],
         f"closed {p.tiers[t + 1].name} linked to a {tier.name}")
    # conservation: what child j sends up = what j receives from below
    below = p.links[t + 1]
    received = np.bincount(below.parent, weights=a.flow[t + 1], minlength=n_child)
    off = np.flatnonzero(np.abs(sent - received) > a.vtol)
    flag("flow conservation", [f"{kids[j]} (in {received[j]:.6g}, out {sent[j]:.6g})" for j in off],
         "inflow != outflow")


def _check_facilities(p: NetworkProblem, t: int, a: _Arrays, flag: _Flags) -> None:
    """Capacity, closed sites idle, required open, forbidden closed, gateway access (:func:`_check_gateway`)."""
    tier, lk, ids, opened = p.tiers[t], p.links[t], p.tiers[t].ids, a.opened[t]
    inflow = np.bincount(lk.parent, weights=a.flow[t], minlength=tier.size)
    over = np.flatnonzero(inflow > tier.capacity * (1 + a.tol) + a.vtol)
    flag(f"tier {tier.name} capacity", [f"{ids[j]} ({inflow[j]:.6g} > {tier.capacity[j]:.6g})" for j in over],
         "over capacity")
    flag(f"tier {tier.name}", ids[np.flatnonzero(~opened & (inflow > a.vtol))], "closed facility handles volume")
    flag(f"tier {tier.name} required", ids[np.flatnonzero(tier.required & ~opened)], "required site not open")
    flag(f"tier {tier.name} forbidden", ids[np.flatnonzero(tier.forbidden & opened)], "forbidden site open")
    if tier.gateway is not None and opened.any():
        _check_gateway(tier, opened, flag)


def _check_gateway(tier: Tier, opened: np.ndarray, flag: _Flags) -> None:
    """Every open site within ``radius_km`` and ``radius_min`` of one gateway point.

    The distances and times are those of the gateway's ``access`` pairs, the figures the scenario build
    measured for them (OD matrix, road network or circuity with each pair's own factor) and decided the rule
    on; a pair without a time fails a minutes limit. A gateway without ``access`` (a problem built by hand) is
    checked in km from coordinates times its ``circuity``.
    """
    gw, ids = tier.gateway, tier.ids
    assert gw is not None
    limits = [f"{gw.radius_km:g} km" if math.isfinite(gw.radius_km) else "",
              f"{gw.radius_min:g} min" if math.isfinite(gw.radius_min) else ""]
    rule = f"tier {tier.name} gateway {' / '.join(x for x in limits if x) or 'without a limit'}"
    if not len(gw.ids):
        flag.add(f"tier {tier.name} gateway: sites open but no gateway point exists")
        return
    o = np.flatnonzero(opened)
    if gw.access is None:
        d = _great_circle_km(tier.lon[o][:, None], tier.lat[o][:, None], gw.lon[None, :], gw.lat[None, :]) * gw.circuity
        flag(rule, ids[o[d.min(axis=1) > gw.radius_km * (1 + 1e-9) + 1e-6]], "open site too far from every gateway")
        if math.isfinite(gw.radius_min):
            flag.add(f"{rule}: no measured site-gateway times, the minutes limit cannot be checked")
        return
    a = gw.access
    ok = a.distance_km <= gw.radius_km * (1 + 1e-9) + 1e-6
    if math.isfinite(gw.radius_min):
        t = a.time_min if a.time_min is not None else np.full(len(a), np.nan)
        ok &= np.isfinite(t) & (t <= gw.radius_min * (1 + 1e-9) + 1e-9)
    reached = np.zeros(tier.size, bool)
    reached[a.child[ok]] = True
    flag(rule, ids[o[~reached[o]]], "open site too far from every gateway")


def _check_counts(p: NetworkProblem, opened: list[np.ndarray], flag: _Flags) -> None:
    for rule in p.counts:
        tier = p.tiers[rule.tier]
        o = opened[rule.tier]
        if rule.by is None:
            groups = [("total", int(o.sum()))]
        else:
            lab = tier.groups.get(rule.by)
            if lab is None:
                flag.add(f"count rule {rule.describe(tier.name)}: tier has no group {rule.by!r}")
                continue
            groups = [(g, int(np.sum(o & (lab == g)))) for g in rule.groups]
        cmp = {"==": lambda a, b: a == b, ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b}[rule.sense]
        wrong = [f"{g} has {c}" for g, c in groups if not cmp(c, rule.value)]
        flag(f"count ({rule.describe(tier.name)})", wrong, "violated")
