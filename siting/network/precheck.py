"""Pre-solve feasibility check of a :class:`~siting.core.network.NetworkProblem`: infeasibility visible in the data.

Everything is found at once and returned as :class:`~siting.core.errors.Defect` records, one line each, e.g.
``"demand 新田镇 (500101149) has no collection candidate within 15 km"`` or
``"region 渝东南武陵山区城镇群 has no hub candidate (needs exactly 1)"``.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from siting.core.errors import Defect
from siting.core.network import NetworkProblem

__all__ = ["precheck_network", "viable_candidates"]

_WORDS = {"==": "exactly", ">=": "at least", "<=": "at most"}


def viable_candidates(problem: NetworkProblem) -> list[np.ndarray]:
    """Per tier, candidates that can open: not forbidden and linked to a viable candidate of the tier above."""
    out: list[np.ndarray] = []
    for t, tier in enumerate(problem.tiers):
        ok = ~tier.forbidden.copy()
        if t > 0:
            lk = problem.links[t - 1]
            good = out[t - 1][lk.parent]
            has = np.bincount(lk.child[good], minlength=tier.size) > 0
            ok &= has
        out.append(ok)
    return out


def _radius_text(problem: NetworkProblem, t: int) -> str:
    tier = problem.tiers[t]
    parts = []
    if math.isfinite(tier.radius_km):
        parts.append(f"within {tier.radius_km:g} km")
    if math.isfinite(tier.radius_min):
        parts.append(f"within {tier.radius_min:g} min")
    if tier.link_same:
        parts.append(f"in the same {tier.link_same}")
    return " ".join(parts) if parts else "linked"


def _label(ids: np.ndarray, names: np.ndarray, k: int) -> str:
    i, n = str(ids[k]), str(names[k])
    return i if i == n else f"{n} ({i})"


def precheck_network(problem: NetworkProblem) -> list[Defect]:
    """Every infeasibility that can be seen from the data, one :class:`Defect` each (empty if none)."""
    viable = viable_candidates(problem)
    out: list[Defect] = []
    if problem.objective == "cost" and problem.n_tiers:
        out += _unserved_demand(problem, viable)
    # required sites that cannot open
    for t, tier in enumerate(problem.tiers):
        for j in np.flatnonzero(tier.required & ~viable[t] & ~tier.forbidden):
            out.append(Defect(f"required {tier.name} {_label(tier.ids, tier.names, j)} has no "
                              f"{problem.tiers[t - 1].name} candidate {_radius_text(problem, t - 1)}", problem.source))
    out += _impossible_counts(problem, viable)
    out += _conflicting_totals(problem)
    if math.isfinite(problem.budget_cny):
        out += _budget_too_small(problem, viable)
    return out


def _unserved_demand(p: NetworkProblem, viable: list[np.ndarray]) -> list[Defect]:
    """Demand points without a (viable) bottom-tier candidate; tiers whose capacity is below total demand."""
    T, src, out = p.n_tiers, p.source, []
    lk = p.links[T - 1]
    bottom = p.tiers[T - 1]
    any_link = np.bincount(lk.child, minlength=p.n_demand) > 0
    good_link = np.bincount(lk.child[viable[T - 1][lk.parent]], minlength=p.n_demand) > 0
    for i in np.flatnonzero(~any_link):
        out.append(Defect(f"demand {_label(p.demand_ids, p.demand_names, i)} has no {bottom.name} candidate "
                          f"{_radius_text(p, T - 1)}", src))
    for i in np.flatnonzero(any_link & ~good_link):
        why = f"is forbidden or has no {p.tiers[T - 2].name} candidate {_radius_text(p, T - 2)}" if T > 1 else "is forbidden"
        out.append(Defect(f"demand {_label(p.demand_ids, p.demand_names, i)}: every {bottom.name} candidate "
                          f"{_radius_text(p, T - 1)} {why}", src))
    total = float(p.weight.sum())
    for t, tier in enumerate(p.tiers):
        cap = float(tier.capacity[viable[t]].sum())
        if viable[t].any() and cap < total * (1 - 1e-12):  # (no viable candidate is reported above)
            out.append(Defect(f"total {tier.name} capacity {cap:,.6g} is below total demand {total:,.6g} {p.weight_unit}", src))
    return out


def _impossible_counts(p: NetworkProblem, viable: list[np.ndarray]) -> list[Defect]:
    """Count rules that too few viable candidates, or too many required sites, make impossible."""
    dropped = p.meta.get("dropped", {}) if isinstance(p.meta, dict) else {}
    out = []
    for rule in p.counts:
        tier = p.tiers[rule.tier]
        words = _WORDS[rule.sense]
        if rule.by is None:
            members = {"": np.ones(tier.size, bool)}
        else:
            lab = tier.groups.get(rule.by)
            if lab is None:
                continue
            members = {g: lab == g for g in rule.groups}
        for g, mask in members.items():
            n_ok = int(np.sum(mask & viable[rule.tier]))
            n_req = int(np.sum(mask & tier.required))
            where = f"{rule.by} {g}" if rule.by else "the network"
            if rule.sense in ("==", ">=") and n_ok < rule.value:
                n_all = int(mask.sum())
                if n_ok == 0:
                    msg = f"{where} has no {tier.name} candidate (needs {words} {rule.value})"
                else:
                    msg = f"{where} has {n_ok} {tier.name} candidate(s) that can open, needs {words} {rule.value}"
                extra = []
                if n_all > n_ok:
                    extra.append(f"{n_all - n_ok} more are forbidden or have no {p.tiers[rule.tier - 1].name if rule.tier else 'parent'} "
                                 f"candidate {_radius_text(p, rule.tier - 1) if rule.tier else ''}".rstrip())
                gone = _dropped_in_group(dropped.get(tier.name, []), rule.by, g)
                if gone:
                    extra.append(f"{len(gone)} dropped before the model ({gone[0][1]})")
                if extra:
                    msg += "; " + "; ".join(extra)
                out.append(Defect(msg, p.source))
            if rule.sense in ("==", "<=") and n_req > rule.value:
                out.append(Defect(f"{where} has {n_req} required {tier.name} sites, allows {words} {rule.value}", p.source))
    return out


def _conflicting_totals(p: NetworkProblem) -> list[Defect]:
    """Per-group lower bounds against an overall upper bound of the same tier."""
    by_tier: dict[int, list] = defaultdict(list)
    for rule in p.counts:
        by_tier[rule.tier].append(rule)
    out = []
    for t, rules in by_tier.items():
        tier = p.tiers[t]
        lo_total = 0
        for rule in rules:
            if rule.by is not None and rule.sense in ("==", ">="):
                lo_total = max(lo_total, rule.value * len(rule.groups))
        for rule in rules:
            if rule.by is None and rule.sense in ("==", "<=") and lo_total > rule.value:
                out.append(Defect(f"the per-group rules need at least {lo_total} {tier.name} sites but the total allows "
                                  f"{_WORDS[rule.sense]} {rule.value}", p.source))
    return out


def _budget_too_small(p: NetworkProblem, viable: list[np.ndarray]) -> list[Defect]:
    """The fixed cost of the required sites and of the cheapest sites the counts force, against the budget."""
    forced = 0.0
    for t, tier in enumerate(p.tiers):
        req_cost = float(tier.fixed_cost_cny[tier.required].sum())
        lo = req_cost
        for rule in p.counts:
            if rule.tier != t or rule.sense not in ("==", ">=") or rule.by is None:
                continue
            lab = tier.groups.get(rule.by)
            if lab is None:
                continue
            s = 0.0
            for g in rule.groups:
                mask = (lab == g) & viable[t]
                costs = np.sort(tier.fixed_cost_cny[mask & ~tier.required])
                need = max(0, rule.value - int(np.sum(mask & tier.required)))
                s += float(costs[:need].sum()) + float(tier.fixed_cost_cny[mask & tier.required].sum())
            lo = max(lo, s)
        forced += lo
    if forced > p.budget_cny * (1 + 1e-9):
        return [Defect(f"the required sites and the per-group counts cost at least {forced:,.0f} CNY/yr in fixed "
                       f"costs, above the budget of {p.budget_cny:,.0f} CNY/yr", p.source)]
    return []


def _dropped_in_group(rows: list, by: str | None, group: str) -> list:
    if not rows:
        return []
    if by is None:
        return list(rows)
    return [r for r in rows if r[2].get(by) == group]
