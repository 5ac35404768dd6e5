"""Local-search polish of a multi-tier incumbent (uncapacitated cost minimisation without a budget only).

When HiGHS stops at its time limit with a gap above the target, its incumbent can often be improved cheaply:
for open sets of an uncapacitated tree the best assignment is the exact cheapest-tree pass
(:func:`siting.model.tree.cheapest_tree`), so a candidate open set is priced in milliseconds.
:func:`polish_open_sets` runs first-improvement passes of two moves per tier, keeping every count rule,
required/forbidden site and the co-location rule satisfied:

* *swap*: close one open candidate and open a closed one that carries the same group labels of every
  per-group count rule of that tier (so all per-group and overall counts stay the same);
* *toggle*: open or close one candidate, when every count rule of that tier still holds afterwards.

It never returns a worse open set than it was given, and the caller's bound stays the solver's: the polish
only lowers the objective side of the gap.
"""

from __future__ import annotations

import math
import time

import numpy as np

from siting.core.network import NetworkProblem

__all__ = ["tree_cost", "polish_open_sets"]


def close_orphans(p: NetworkProblem, opened: list[np.ndarray]) -> list[np.ndarray]:
    out = [o.copy() for o in opened]
    for t in range(1, p.n_tiers):
        lk = p.links[t - 1]
        has = np.bincount(lk.child[out[t - 1][lk.parent]], minlength=p.tiers[t].size) > 0
        out[t] &= has | p.tiers[t].required
    return out


def tree_cost(p: NetworkProblem, opened: list[np.ndarray]) -> float:
    """Total annual cost of the cheapest tree on ``opened`` (``inf`` if some demand or facility is unserved)."""
    from siting.model.tree import cheapest_tree

    used, flow = cheapest_tree(p, tuple(opened))
    T = p.n_tiers
    lk = p.links[T - 1]
    if np.any(np.bincount(lk.child[used[T - 1]], minlength=p.n_demand) < 1):
        return math.inf
    for t in range(T - 1):
        lk = p.links[t]
        if np.any(opened[t + 1] & (np.bincount(lk.child[used[t]], minlength=p.tiers[t + 1].size) < 1)):
            return math.inf
    total = 0.0
    for t, tier in enumerate(p.tiers):
        lk = p.links[t]
        total += float(tier.fixed_cost_cny[opened[t]].sum())
        total += float(np.sum(flow[t] * (tier.transport_cost_cny_per_unit_km * lk.distance_km
                                         + tier.handling_cost_cny_per_unit[lk.parent])))
    return total


def rules_ok(p: NetworkProblem, t: int, o: np.ndarray) -> bool:
    for r in p.counts:
        if r.tier != t:
            continue
        if r.by is None:
            vals = [int(o.sum())]
        else:
            lab = p.tiers[t].groups[r.by]
            vals = [int(np.sum(o & (lab == g))) for g in r.groups]
        for v in vals:
            if (r.sense == "==" and v != r.value) or (r.sense == ">=" and v < r.value) or (r.sense == "<=" and v > r.value):
                return False
    return True


def colocation_ok(p: NetworkProblem, opened: list[np.ndarray]) -> bool:
    if p.colocation:
        return True
    keys = np.concatenate([t.site[o].astype(str) for t, o in zip(p.tiers, opened)])
    return len(np.unique(keys)) == len(keys)


def polish_open_sets(p: NetworkProblem, opened: tuple[np.ndarray, ...], *, seconds: float = 10.0) -> tuple[tuple[np.ndarray, ...], float]:
    """Improve ``opened`` by local search for at most ``seconds``; returns ``(open sets, cost)``."""
    t_end = time.perf_counter() + max(0.0, seconds)
    cur = [np.asarray(o, dtype=bool).copy() for o in opened]
    best = tree_cost(p, cur)
    if not math.isfinite(best):
        return tuple(cur), best
    improved = True
    while improved and time.perf_counter() < t_end:
        improved = False
        for t, tier in enumerate(p.tiers):
            fixed = tier.required | tier.forbidden
            by = [r.by for r in p.counts if r.tier == t and r.by is not None]
            key = np.array(["|".join(str(tier.groups[b][j]) for b in by) for j in range(tier.size)], dtype=object)
            # swaps within the same group key
            for j in np.flatnonzero(cur[t] & ~fixed):
                if time.perf_counter() >= t_end:
                    break
                for k in np.flatnonzero(~cur[t] & ~fixed & (key == key[j])):
                    cand = [o.copy() for o in cur]
                    cand[t][j], cand[t][k] = False, True
                    cand = close_orphans(p, cand)
                    if not (rules_ok(p, t, cand[t]) and all(rules_ok(p, s, cand[s]) for s in range(t + 1, p.n_tiers))
                            and colocation_ok(p, cand)):
                        continue
                    c = tree_cost(p, cand)
                    if c < best * (1 - 1e-12):
                        cur, best, improved = cand, c, True
                        break
            # toggles where the count rules allow them
            for j in np.flatnonzero(~fixed):
                if time.perf_counter() >= t_end:
                    break
                cand = [o.copy() for o in cur]
                cand[t][j] = not cand[t][j]
                if not rules_ok(p, t, cand[t]):
                    continue
                cand = close_orphans(p, cand)
                if not (all(rules_ok(p, s, cand[s]) for s in range(t + 1, p.n_tiers)) and colocation_ok(p, cand)):
                    continue
                c = tree_cost(p, cand)
                if c < best * (1 - 1e-12):
                    cur, best, improved = cand, c, True
    return tuple(cur), best
