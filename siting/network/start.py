"""A warm start for the multi-tier MIP: LP relaxation, rounding that keeps every count rule, local search.

For an uncapacitated network with the cost objective and no budget (the models whose assignments are
continuous, ``MultiTierModel.tree_lp``), any open sets that respect the count, required/forbidden and
co-location rules are priced exactly by the cheapest-tree pass. So a good incumbent is cheap to make:

1. solve the LP relaxation of the compiled model (HiGHS, matrix level);
2. round the open variables per tier: open what the LP opens more than half, then repair each count rule
   by the LP values (per-group rules first, then tier-wide ones): open the highest-valued closed candidates
   of a group below its count, close the lowest-valued open ones above it; required sites stay open,
   forbidden ones closed;
3. improve it by :func:`siting.network.polish.polish_open_sets` (swaps and toggles, exact pricing);
4. load the cheapest tree of those open sets into the Pyomo variables: their values are a complete feasible
   point of the MIP, passed to HiGHS as its starting incumbent.

When the rounding is already within the requested gap of the LP bound, the LP is nearly integral and HiGHS
closes the model at its root by itself (usually with a better point), so no warm start is made. Measured on
the Chongqing scenarios (``benchmarks/bench_multitier.py``): cold chain to a 0.5 % gap in about half the time
of a cold start, with a better incumbent; express unchanged apart from the LP solve.

HiGHS then starts branch and bound with an upper bound instead of waiting for its own heuristics; the
reported bound is HiGHS's, so the certificate is unchanged. Returns ``None`` when no rounding satisfies the
rules (the MIP then starts cold).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from siting.network.polish import close_orphans, colocation_ok, rules_ok, polish_open_sets, tree_cost
from siting.core.network import NetworkProblem

__all__ = ["network_warm_start", "round_open_sets", "solve_escalating"]


def _repair_counts(p: NetworkProblem, t: int, o: np.ndarray, s: np.ndarray, eligible: np.ndarray) -> None:
    """Make tier ``t``'s open set ``o`` satisfy its count rules (per-group ones first), by score, in place."""
    tier = p.tiers[t]
    rules = sorted((r for r in p.counts if r.tier == t), key=lambda r: r.by is None)
    for r in rules:
        members = [np.ones(tier.size, dtype=bool)] if r.by is None else [tier.groups[r.by] == g for g in r.groups]
        for mem in members:
            have = int((o & mem).sum())
            if r.sense in ("==", ">=") and have < r.value:
                add = np.flatnonzero(mem & ~o & eligible)
                add = add[np.argsort(-s[add], kind="stable")][: r.value - have]
                o[add] = True
            have = int((o & mem).sum())
            if r.sense in ("==", "<=") and have > r.value:
                drop = np.flatnonzero(mem & o & ~tier.required)
                drop = drop[np.argsort(s[drop], kind="stable")][: have - r.value]
                o[drop] = False


def _reachable(p: NetworkProblem, upper_open: np.ndarray) -> np.ndarray:
    """Demands that some bottom candidate with an open parent (tier ``T-2`` open set given) can serve."""
    T = p.n_tiers
    lkb, lkd = p.links[T - 2], p.links[T - 1]
    bottom_ok = ~p.tiers[T - 1].forbidden & (
        np.bincount(lkb.child[upper_open[lkb.parent]], minlength=p.tiers[T - 1].size) > 0)
    return np.bincount(lkd.child[bottom_ok[lkd.parent]], minlength=p.n_demand) > 0


def _repair_reach(p: NetworkProblem, o: np.ndarray, s: np.ndarray, eligible: np.ndarray, *,
                  max_moves: int = 50) -> None:
    """Swap open sets of tier ``T-2`` (same labels of every count rule, so counts hold) until every demand
    can be reached: bring in the candidate that makes most unreachable demand reachable, take out the
    lowest-scoring open one whose loss keeps the reach growing. In place; stops when no move helps."""
    import scipy.sparse as sp

    T = p.n_tiers
    t = T - 2
    tier = p.tiers[t]
    lkb, lkd = p.links[t], p.links[T - 1]
    nb = p.tiers[T - 1].size
    okb = ~p.tiers[T - 1].forbidden
    a = sp.csr_matrix((np.ones(len(lkb)), (lkb.parent, lkb.child)), shape=(tier.size, nb))
    keep = okb[lkd.parent]
    b = sp.csr_matrix((np.ones(int(keep.sum())), (lkd.parent[keep], lkd.child[keep])), shape=(nb, p.n_demand))
    reach_of = ((a @ b) > 0).tocsr()  # candidate of tier T-2 -> demands it makes reachable
    by = [r.by for r in p.counts if r.tier == t and r.by is not None]
    key = np.array(["|".join(str(tier.groups[g][j]) for g in by) for j in range(tier.size)], dtype=object)
    for _ in range(max_moves):
        reach = _reachable(p, o)
        if reach.all():
            return
        gain = np.asarray(reach_of[:, ~reach].sum(axis=1)).ravel()
        gain[o | ~eligible] = 0
        k = int(np.argmax(gain))
        if gain[k] <= 0:
            return
        base = int(reach.sum())
        moved = False
        for j in np.flatnonzero(o & ~tier.required & (key == key[k]))[np.argsort(s[o & ~tier.required & (key == key[k])])]:
            trial = o.copy()
            trial[j], trial[k] = False, True
            if int(_reachable(p, trial).sum()) > base:
                o[:] = trial
                moved = True
                break
        if not moved:
            if rules_ok(p, t, np.where(np.arange(tier.size) == k, True, o)):  # a free count: just open k
                o[k] = True
            else:
                return


def round_open_sets(p: NetworkProblem, score: list[np.ndarray]) -> list[np.ndarray] | None:
    """Open sets from per-candidate scores (e.g. LP values) that satisfy every count rule and serve every
    demand, or ``None``.

    Top-down: a tier's candidates are eligible only with an open parent; the eligible ones scoring above
    one half open, the count rules are repaired by score, and at the bottom tier every demand left unserved
    opens its best-scoring eligible candidate when that keeps the tier's count rules.
    """
    T = p.n_tiers
    opened: list[np.ndarray] = []
    for t, tier in enumerate(p.tiers):
        eligible = ~tier.forbidden
        if t > 0:
            lk = p.links[t - 1]
            eligible &= np.bincount(lk.child[opened[t - 1][lk.parent]], minlength=tier.size) > 0
        s = np.where(eligible, np.asarray(score[t], dtype=np.float64), -np.inf)
        o = ((s > 0.5) | tier.required) & eligible
        _repair_counts(p, t, o, s, eligible)
        if t == T - 2:  # the tier above the bottom must leave every demand reachable
            _repair_reach(p, o, s, eligible)
        if t == T - 1:  # cover the demand left unserved
            lk = p.links[T - 1]
            served = np.bincount(lk.child[o[lk.parent]], minlength=p.n_demand) > 0
            for i in np.flatnonzero(~served).tolist():
                if np.any(o[lk.parent[lk.child == i]]):
                    continue  # served by a site opened for an earlier demand
                par = lk.parent[lk.child == i]
                par = par[eligible[par]]
                if not len(par):
                    return None
                j = int(par[np.argmax(s[par])])
                o[j] = True
                if not rules_ok(p, t, o):
                    return None
        opened.append(o)
    opened = close_orphans(p, opened)
    if not all(rules_ok(p, t, opened[t]) for t in range(T)) or not colocation_ok(p, opened):
        return None
    return opened


def network_warm_start(built: Any, comp: Any, *, options: Any, polish_seconds: float = 15.0,
                       lp_seconds: float | None = None, log: Any = None) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Column vector of a feasible point of ``comp`` (the compiled ``built.model``) and what it took.

    ``lp_seconds`` limits the LP solve (default a quarter of ``options.time_limit_s``), ``polish_seconds`` the
    local search.

    Returns ``(x0 or None, info)`` with ``info`` = LP bound, rounded and polished costs (CNY) and seconds.
    """
    from siting.solvers.highs import run_highs
    from siting.model.tree import cheapest_tree

    say = log or (lambda _s: None)
    p = built.problem
    t0 = time.perf_counter()
    info: dict[str, Any] = {}
    if not built.tree_lp:
        return None, info
    limit = options.time_limit_s
    if lp_seconds is None and limit is not None:
        lp_seconds = max(0.25 * limit, 1.0)
    lp = run_highs(comp, options=options, relax=True, load=False, time_limit_s=lp_seconds)
    info["lp_seconds"] = round(lp.seconds, 3)
    if not lp.has_solution:
        return None, info
    col_of = comp.column_index()
    m = built.model
    y_all = np.array([lp.values[col_of[id(m.y[g])]] if id(m.y[g]) in col_of else float(m.y[g].value or 0.0)
                      for g in range(int(built.y_offset[-1]))])
    score = [y_all[built.y_offset[t]: built.y_offset[t + 1]] for t in range(p.n_tiers)]
    opened = round_open_sets(p, score)
    if opened is None:
        say("warm start: no rounding of the LP satisfies the count rules; starting cold")
        return None, info
    rounded = tree_cost(p, opened)
    if not math.isfinite(rounded):
        say("warm start: the rounded open sets leave demand unserved; starting cold")
        return None, info
    lp_bound = lp.objective / built.objective_scale
    info.update({"lp_bound_cny": lp_bound, "rounded_cny": rounded})
    if rounded - lp_bound <= options.mip_rel_gap * abs(rounded):
        # the LP is nearly integral: HiGHS closes such a model at its root by itself, usually with a better
        # point than this rounding, so it starts cold
        say(f"warm start: not needed (rounded LP within {100 * options.mip_rel_gap:g} % of its bound)")
        return None, info
    new_open, polished = polish_open_sets(p, tuple(opened), seconds=polish_seconds)
    used, flow = cheapest_tree(p, tuple(new_open))
    built._load(tuple(new_open), used, flow)
    x0 = np.array([float(v.value) if v.value is not None else 0.0 for v in comp.columns])
    info.update({"polished_cny": polished, "seconds": round(time.perf_counter() - t0, 3)})
    say(f"warm start: LP {info['lp_bound_cny']:,.0f}, rounded {rounded:,.0f}, polished {polished:,.0f} CNY/yr "
        f"in {info['seconds']:.1f} s")
    return x0, info


def solve_escalating(built: Any, comp: Any, *, options: Any, build_seconds: float, log: Any = None) -> Any:
    """Solve ``built`` (compiled as ``comp``) by escalation; returns a :class:`~siting.core.results.SolveInfo`.

    HiGHS first gets a short cold attempt (10 s, or 10 % of the time limit): most models close at the root
    (the express network does). Only if it runs out of time does :func:`network_warm_start` make a start
    (LP and polish together at most a quarter of the time left); the better of that and HiGHS's own
    incumbent starts the second attempt, for the rest of the time. Both attempts' bounds are valid, so the
    better one is reported.
    """
    from dataclasses import replace

    from siting.solvers.highs import solve_to_info
    from siting.core.results import TerminationCondition
    from siting.core.options import relative_gap

    say = log or (lambda _s: None)
    limit = options.time_limit_s
    quick = max(10.0, 0.1 * limit) if limit is not None else 10.0
    if limit is not None and quick >= 0.5 * limit:  # too short a limit to split: one cold attempt
        return solve_to_info(built.model, options=options, build_seconds=build_seconds, compiled=comp)
    first = solve_to_info(built.model, options=replace(options, time_limit_s=quick), build_seconds=build_seconds,
                          compiled=comp)
    if first.termination is not TerminationCondition.TIME_LIMIT:
        return first
    say(f"not closed in {quick:.0f} s (gap {100 * first.gap:.2f} %): warm start")
    t1 = time.perf_counter()
    kept = np.array([float(v.value) if v.value is not None else 0.0 for v in comp.columns]) \
        if first.has_solution else None
    left = None if limit is None else max(limit - first.solve_seconds, 1.0)
    budget = 15.0 if left is None else min(15.0, 0.25 * left)
    start, _ = network_warm_start(built, comp, options=replace(options, verbose=False, time_limit_s=left),
                                  polish_seconds=budget, lp_seconds=budget, log=say)
    if kept is not None:  # HiGHS's own incumbent of the first attempt, if it is better
        c = comp.data.col_cost
        if start is None or float(c @ kept) < float(c @ start):
            start = kept
    spent = first.solve_seconds + (time.perf_counter() - t1)
    rest = replace(options, time_limit_s=None if limit is None else max(limit - spent, 1.0))
    info = solve_to_info(built.model, options=rest, build_seconds=build_seconds, compiled=comp, start=start,
                         extra_seconds=spent)
    if math.isfinite(first.bound) and not (info.bound >= first.bound):
        info = replace(info, bound=first.bound, gap=relative_gap(info.objective, first.bound))
    return info
