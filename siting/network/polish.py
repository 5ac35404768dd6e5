"""Local-search polish of a multi-tier incumbent (uncapacitated cost minimisation without a budget only).

When HiGHS stops at its time limit with a gap above the target, its incumbent can often be improved cheaply:
for open sets of an uncapacitated tree the best assignment is the exact cheapest-tree pass
(:func:`siting.model.tree.cheapest_tree`), so a candidate open set is priced in milliseconds.
:func:`polish_open_sets` runs first-improvement passes of two moves per tier, keeping every count rule,
required/forbidden site and the co-location rule satisfied:

* *swap*: close one open candidate and open a closed one that shares a child with it and carries the same
  group labels of every per-group count rule of that tier (so all per-group and overall counts stay the same);
* *toggle*: open or close one candidate, when every count rule of that tier still holds afterwards.

It never returns a worse open set than it was given, and the caller's bound stays the solver's: the polish
only lowers the objective side of the gap.
"""

from __future__ import annotations

import math
import time
from typing import Any

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


def neighbours(p: NetworkProblem, t: int) -> Any:
    """Boolean sparse ``(m_t, m_t)`` matrix: candidates of tier ``t`` that share a child (a demand point or a
    tier-(t+1) candidate they may both serve), the swap partners of :func:`polish_open_sets`."""
    import scipy.sparse as sp

    lk = p.links[t]
    a = sp.csr_matrix((np.ones(len(lk)), (lk.parent, lk.child)), shape=(p.tiers[t].size, p.n_children(t)))
    return ((a @ a.T) > 0).tocsr()


def _try(p: NetworkProblem, t: int, cur: list[np.ndarray], flips: list[tuple[int, bool]]) -> tuple[list[np.ndarray], float] | None:
    """The open sets with ``flips`` applied to tier ``t`` and their cost, or ``None`` if a rule breaks."""
    cand = [o.copy() for o in cur]
    for j, v in flips:
        cand[t][j] = v
    if not rules_ok(p, t, cand[t]):
        return None
    cand = close_orphans(p, cand)
    if not (all(rules_ok(p, s, cand[s]) for s in range(t + 1, p.n_tiers)) and colocation_ok(p, cand)):
        return None
    return cand, tree_cost(p, cand)


def polish_open_sets(p: NetworkProblem, opened: tuple[np.ndarray, ...], *, seconds: float = 10.0) -> tuple[tuple[np.ndarray, ...], float]:
    """Improve ``opened`` by local search for at most ``seconds``; returns ``(open sets, cost)``.

    Per tier, toggles first (one pass is linear in the tier's size), then swaps between candidates that
    share a child (:func:`neighbours`) and carry the same group labels of the tier's per-group count rules.
    (Until 2026-12 swaps came first and over all pairs: on a tier of 1,031 townships one pass took longer
    than any time limit, so its toggles were never reached.)
    """
    t_end = time.perf_counter() + max(0.0, seconds)
    cur = [np.asarray(o, dtype=bool).copy() for o in opened]
    best = tree_cost(p, cur)
    if not math.isfinite(best):
        return tuple(cur), best
    near = [neighbours(p, t) for t in range(p.n_tiers)]
    improved = True
    while improved and time.perf_counter() < t_end:
        improved = False
        for t, tier in enumerate(p.tiers):
            fixed = tier.required | tier.forbidden
            by = [r.by for r in p.counts if r.tier == t and r.by is not None]
            key = np.array(["|".join(str(tier.groups[b][j]) for b in by) for j in range(tier.size)], dtype=object)
            for j in np.flatnonzero(~fixed):  # toggles where the count rules allow them
                if time.perf_counter() >= t_end:
                    break
                got = _try(p, t, cur, [(int(j), not cur[t][j])])
                if got is not None and got[1] < best * (1 - 1e-12):
                    cur, best = got
                    improved = True
            for j in np.flatnonzero(cur[t] & ~fixed):  # swaps with a neighbour of the same group key
                if time.perf_counter() >= t_end:
                    break
                row = near[t].indices[near[t].indptr[j]: near[t].indptr[j + 1]]
                for k in row[~cur[t][row] & ~fixed[row] & (key[row] == key[j])]:
                    got = _try(p, t, cur, [(int(j), False), (int(k), True)])
                    if got is not None and got[1] < best * (1 - 1e-12):
                        cur, best = got
                        improved = True
                        break
    return tuple(cur), best
