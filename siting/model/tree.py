from __future__ import annotations

import numpy as np
from siting.core.network import NetworkProblem


def cheapest_tree(p: NetworkProblem, opened: tuple[np.ndarray, ...]) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Given the open sets of an uncapacitated network, the cheapest single-sourcing tree.

    Top-down: each open facility of tier ``t > 0`` takes the open parent minimising the per-unit cost to the
    top (transport + handling of every tier above); each demand point takes the open bottom facility
    minimising its per-unit cost. Ties go to the lower link index. With no capacity and no budget this is an
    optimal assignment for the open sets, so it never costs more than the solver's own assignment.
    """
    T = p.n_tiers
    per_unit = [np.zeros(p.tiers[0].size)]
    used: list[np.ndarray] = [np.zeros(0, bool)] * T
    for t in range(T):
        lk = p.links[t]
        tier = p.tiers[t]
        n_child = p.n_children(t)
        ok = opened[t][lk.parent]
        cost = tier.transport_cost_cny_per_unit_km * lk.distance_km + tier.handling_cost_cny_per_unit[lk.parent] + per_unit[t][lk.parent]
        cost = np.where(ok, cost, np.inf)
        order = np.lexsort((np.arange(len(lk)), cost, lk.child))
        first = np.ones(len(order), bool)
        first[1:] = lk.child[order][1:] != lk.child[order][:-1]
        best = order[first]
        best = best[np.isfinite(cost[best])]
        child_open = np.ones(n_child, bool) if t == T - 1 else opened[t + 1]
        pick = np.zeros(len(lk), bool)
        pick[best] = True
        pick &= child_open[lk.child]
        used[t] = pick
        if t < T - 1:
            pu = np.full(n_child, np.inf)
            pu[lk.child[best]] = cost[best]
            per_unit.append(pu)
    flow: list[np.ndarray] = [np.zeros(0)] * T
    lk = p.links[T - 1]
    flow[T - 1] = np.where(used[T - 1], p.weight[lk.child], 0.0)
    for t in range(T - 2, -1, -1):
        below = p.links[t + 1]
        inflow = np.bincount(below.parent, weights=flow[t + 1], minlength=p.tiers[t + 1].size)
        lk = p.links[t]
        flow[t] = np.where(used[t], inflow[lk.child], 0.0)
    return tuple(used), tuple(flow)
