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
   point of the MIP.

When the rounding is already within the requested gap of the LP bound, the gap is proven at the root and
:func:`solve_escalating` returns the rounding without running the MIP (until 2026-12 HiGHS then started cold
and solved the same root LP again: on the cold chain that was most of the time). If the LP does
not finish in its time (a loaded machine), the LP without full path flows gives the scores and a
weaker bound, and failing that the reachable demand gives the scores.

:func:`solve_escalating` then runs HiGHS cold and keeps the better of its incumbent and the start; the
reported bound is the best of HiGHS's and the LP's (both proven). Measured side by side with the previous
code (``benchmarks/bench_multitier.py --previous 9617b3e``, 60 s): cold chain gap 0.443 % vs 0.543 %.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from siting.core.network import NetworkProblem
from siting.network.polish import (
    close_orphans,
    colocation_ok,
    polish_open_sets,
    rules_ok,
    tree_cost,
)

__all__ = ["IDLE_SAMPLE_S", "IDLE_SLACK", "ROOT_LP_PARALLEL", "idle_cores", "network_warm_start", "reach_scores",
           "root_lp_options", "round_open_sets", "solve_escalating"]


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


def reach_scores(p: NetworkProblem) -> list[np.ndarray]:
    """Per tier, a score in [0, 1] for :func:`round_open_sets` without an LP: the demand that can reach each
    candidate, relative to the tier's largest (candidates that can serve more are opened first)."""
    out = []
    for r in p.reachable_demand():
        top = float(r.max()) if len(r) else 0.0
        out.append(r / top if top > 0 else np.zeros(len(r)))
    return out


#: HiGHS's parallel dual simplex (PAMI) for the root LP when more than one thread is allowed and the machine
#: has that many idle cores (:func:`root_lp_options`). Measured on the cold chain's strong LP (24,262 rows,
#: 60,418 columns, 187 k nonzeros; 24,432 dual iterations), 2 cores, idle: serial dual 9.0 / 9.7 s, PAMI
#: 6.4 / 7.6 s, SIP 6.2 / 7.6 s; interior point 15 s (crossover) or 9.4 s (none), primal simplex 47 s; devex
#: pricing 8.2 s, no scaling 8.0 s. The MIP's own threads are unchanged.
ROOT_LP_PARALLEL: dict[str, Any] = {"simplex_strategy": 2}

#: PAMI's threads wait for each other by spinning, so on busy cores it stalls: the express scenario's root LP
#: (2 cores, load 2.5) took 2.0 s serial and did not finish in 45 s with PAMI. It is used only when at least
#: ``threads - IDLE_SLACK`` cores are idle (:func:`idle_cores`).
IDLE_SLACK = 0.5

#: :func:`idle_cores` samples the machine's CPU counters over this many seconds. The 1-minute load average
#: was tried first and is too slow: a benchmark's previous run (one core for 10 s) kept it near 1 on an
#: otherwise idle 2-core machine, so the next run's LP went serial (cold chain 11.2 s instead of 7-8 s).
IDLE_SAMPLE_S = 0.05


def _cpu_counters() -> tuple[float, float]:
    """(idle, total) jiffies of all CPUs since boot, from ``/proc/stat`` (Linux)."""
    with open("/proc/stat", encoding="ascii") as fh:
        fields = [float(v) for v in fh.readline().split()[1:9]]
    return fields[3] + fields[4], sum(fields)  # idle + iowait; user .. steal


def idle_cores(*, sample_s: float = IDLE_SAMPLE_S) -> float:
    """Idle cores of the machine now (capped at the cores this process may use): the idle share of the CPU
    counters over ``sample_s`` seconds on Linux, else the cores less the 1-minute load average (0 where
    neither is known)."""
    import os

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cpus = os.cpu_count() or 1
    try:
        idle0, total0 = _cpu_counters()
        time.sleep(sample_s)
        idle1, total1 = _cpu_counters()
        if total1 > total0:
            return min(cpus, (os.cpu_count() or cpus) * (idle1 - idle0) / (total1 - total0))
    except (OSError, ValueError, IndexError):  # pragma: no cover - no /proc/stat
        pass
    try:
        return max(cpus - os.getloadavg()[0], 0.0)
    except (AttributeError, OSError):  # pragma: no cover - Windows
        return 0.0


def root_lp_options(options: Any, *, idle: float | None = None) -> Any:
    """``options`` for the root LP: parallel dual simplex (:data:`ROOT_LP_PARALLEL`) when more than one
    thread is allowed and ``idle`` (default :func:`idle_cores`) leaves that many cores free (within
    :data:`IDLE_SLACK`), unless the caller chose a simplex strategy or solver in ``options.extra``."""
    from dataclasses import replace

    if options.threads == 1 or "simplex_strategy" in options.extra or "solver" in options.extra:
        return options
    want = 2 if options.threads is None else int(options.threads)
    if (idle_cores() if idle is None else idle) < want - IDLE_SLACK:
        return options
    return replace(options, extra={**ROOT_LP_PARALLEL, **options.extra})


def _weak_lp(built: Any, options: Any, seconds: float | None) -> tuple[list[np.ndarray] | None, float]:
    """Open-variable values and optimum (CNY) of the LP of the same problem without full path flows
    (``build_multitier(strong="auto", max_path_vars=0)``: aggregated flows, and group paths where they apply;
    a valid, weaker bound), or ``(None, -inf)`` if it does not solve in time. On the cold chain: 2,000.5 M
    CNY/yr in 2.4 s CPU, where the strong LP gives 2,016.3 M in 11 s and fully aggregated flows 1,938 M in
    1.1 s."""
    from siting.model.multitier import build_multitier
    from siting.solvers.highs import compile_model, run_highs

    p = built.problem
    weak = build_multitier(p, strong="auto", relax_assignments=True, max_path_vars=0)
    comp = compile_model(weak.model)
    # serial: this LP runs when the full one did not finish, most often because the cores are busy
    lp = run_highs(comp, options=options, relax=True, load=False, time_limit_s=seconds)
    if not lp.has_solution or lp.termination.value != "optimal":
        return None, -math.inf
    col_of = comp.column_index()
    m = weak.model
    y_all = np.array([lp.values[col_of[id(m.y[g])]] if id(m.y[g]) in col_of else float(m.y[g].value or 0.0)
                      for g in range(int(weak.y_offset[-1]))])
    return [y_all[weak.y_offset[t]: weak.y_offset[t + 1]] for t in range(p.n_tiers)], lp.objective / weak.objective_scale


def network_warm_start(built: Any, comp: Any, *, options: Any, polish_seconds: float = 15.0,
                       lp_seconds: float | None = None, log: Any = None) -> tuple[np.ndarray | None, dict[str, Any]]:
    """Column vector of a feasible point of ``comp`` (the compiled ``built.model``) and what it took.

    ``lp_seconds`` limits the LP solve (default a quarter of ``options.time_limit_s``), ``polish_seconds`` the
    local search.

    Returns ``(x0 or None, info)`` with ``info`` = LP bound, rounded and polished costs (CNY), seconds, and
    ``closed``: the rounding is already within ``options.mip_rel_gap`` of the LP bound (``x0`` is that
    rounding, not polished).
    """
    from siting.model.tree import cheapest_tree
    from siting.solvers.highs import run_highs

    say = log or (lambda _s: None)
    p = built.problem
    t0 = time.perf_counter()
    info: dict[str, Any] = {}
    if not built.tree_lp:
        return None, info
    limit = options.time_limit_s
    if lp_seconds is None and limit is not None:
        lp_seconds = max(0.25 * limit, 1.0)
    lp = run_highs(comp, options=root_lp_options(options), relax=True, load=False, time_limit_s=lp_seconds)
    info["lp_seconds"] = round(lp.seconds, 3)
    if lp.has_solution and lp.termination.value == "optimal":
        col_of = comp.column_index()
        m = built.model
        y_all = np.array([lp.values[col_of[id(m.y[g])]] if id(m.y[g]) in col_of else float(m.y[g].value or 0.0)
                          for g in range(int(built.y_offset[-1]))])
        score = [y_all[built.y_offset[t]: built.y_offset[t + 1]] for t in range(p.n_tiers)]
        lp_bound = lp.objective / built.objective_scale
        info["lp_bound_cny"] = lp_bound
    else:
        # the LP did not finish in its time (a loaded machine): the LP without full path flows (3-5x
        # smaller, a weaker but proven bound) gives the scores and the bound; failing that, reachable demand
        say("warm start: the LP did not finish in time; using the LP without full path flows")
        # what is left, and at least a quarter of the limit or 5 s (its LP takes 2.4 s CPU on the cold chain):
        # without this LP a short run ends with HiGHS's trivial bound (cold chain, 10 s: 481 M CNY/yr)
        left = None if limit is None else max(0.8 * (limit - (time.perf_counter() - t0)), 0.25 * limit, 5.0)
        score, lp_bound = _weak_lp(built, options, left)
        if score is None:
            score = reach_scores(p)
        else:
            info["lp_bound_cny"] = lp_bound
    opened = round_open_sets(p, score)
    if opened is None:
        say("warm start: no rounding of the LP satisfies the count rules; starting cold")
        return None, info
    rounded = tree_cost(p, opened)
    if not math.isfinite(rounded):
        say("warm start: the rounded open sets leave demand unserved; starting cold")
        return None, info
    info.update({"lp_bound_cny": lp_bound, "rounded_cny": rounded})
    closed = rounded - lp_bound <= options.mip_rel_gap * abs(rounded)
    if closed:
        # the LP is nearly integral: its rounding is within the gap of its (proven) bound, so the MIP need not
        # run (until 2026-12 HiGHS was started cold and solved the same root LP again)
        say(f"warm start: the rounded LP is within {100 * options.mip_rel_gap:g} % of its bound")
        new_open, polished = tuple(opened), rounded
    else:
        new_open, polished = polish_open_sets(p, tuple(opened), seconds=polish_seconds)
    used, flow = cheapest_tree(p, tuple(new_open))
    built.load_solution(tuple(new_open), used, flow)
    x0 = np.array([float(v.value) if v.value is not None else 0.0 for v in comp.columns])
    info.update({"polished_cny": polished, "seconds": round(time.perf_counter() - t0, 3), "closed": closed})
    say(f"warm start: LP {info['lp_bound_cny']:,.0f}, rounded {rounded:,.0f}, polished {polished:,.0f} CNY/yr "
        f"in {info['seconds']:.1f} s")
    return x0, info


def _closed_at_root(built: Any, comp: Any, start: np.ndarray, made: dict[str, Any], *, options: Any,
                    build_seconds: float, seconds: float) -> Any:
    """The :class:`~siting.core.results.SolveInfo` of a start within the gap of the LP bound (model scale)."""
    from siting.core.options import relative_gap
    from siting.core.results import SolutionStatus, SolveInfo, TerminationCondition

    for v, val in zip(comp.columns, start.tolist()):
        v.set_value(val, skip_validation=True)
    value = float(comp.data.col_cost @ start + comp.data.offset)
    bound = min(made["lp_bound_cny"] * built.objective_scale, value)
    return SolveInfo(termination=TerminationCondition.OPTIMAL, status=SolutionStatus.OPTIMAL, objective=value,
                     bound=bound, gap=relative_gap(value, bound), build_seconds=float(build_seconds) + comp.seconds,
                     solve_seconds=seconds, solver="highs LP + rounding", options=options.to_dict())


def solve_escalating(built: Any, comp: Any, *, options: Any, build_seconds: float, log: Any = None) -> Any:
    """Solve ``built`` (compiled as ``comp``) from its LP; returns a :class:`~siting.core.results.SolveInfo`.

    :func:`network_warm_start` first solves the LP relaxation (at most 70 % of the time limit) and rounds it.
    If the rounding is within the gap of the LP bound, that is the answer (proven at the root). Otherwise the
    rounding is polished into a start (at most 15 s or 15 % of the limit); HiGHS then runs cold for the rest of
    the time and the better of its incumbent and the start is the answer. The LP optimum is a proven bound
    too: it is reported when HiGHS had no time to re-solve its root (a loaded machine), so a run always ends
    with an incumbent and a bound.

    (Until 2026-12 a 10 s cold attempt came first; on the cold chain it solved the root LP three times,
    and under load none of them finished: ``benchmarks/bench_multitier.py --previous``.)
    """
    from dataclasses import replace

    from siting.core.options import relative_gap
    from siting.solvers.highs import solve_to_info

    say = log or (lambda _s: None)
    limit = options.time_limit_s
    t0 = time.perf_counter()
    # the strong LP is most of the answer (on the cold chain its rounding is within 0.01 %): 70 % of the time
    # (60 % until 2026-12, when under a load of 6 on 2 cores the LP of the cold chain took 44 s of 60)
    lp_budget = None if limit is None else max(0.7 * limit, 1.0)
    polish = 15.0 if limit is None else min(15.0, 0.15 * limit)
    start, made = network_warm_start(built, comp, options=replace(options, verbose=False), polish_seconds=polish,
                                     lp_seconds=lp_budget, log=say)
    spent = time.perf_counter() - t0
    if start is not None and made.get("closed"):
        return _closed_at_root(built, comp, start, made, options=options, build_seconds=build_seconds, seconds=spent)
    rest = replace(options, time_limit_s=None if limit is None else max(limit - spent, 1.0))
    # HiGHS runs cold: handed the start as its incumbent it proved less in the same time (cold chain, 60 s:
    # bound 1,813.1 vs 1,820.0 M CNY/yr); the start is kept as the answer when it is the better point
    info = solve_to_info(built.model, options=rest, build_seconds=build_seconds, compiled=comp,
                         extra_seconds=spent)
    if start is not None:
        value = float(comp.data.col_cost @ start + comp.data.offset)
        if not info.has_solution or value < info.objective:
            from siting.core.results import SolutionStatus

            for v, val in zip(comp.columns, start.tolist()):
                v.set_value(val, skip_validation=True)
            say(f"the polished start ({value / built.objective_scale:,.0f}) is better than HiGHS's incumbent")
            status = SolutionStatus.OPTIMAL if info.status is SolutionStatus.OPTIMAL else SolutionStatus.FEASIBLE
            info = replace(info, objective=value, status=status, gap=relative_gap(value, info.bound))
    lp_bound = made.get("lp_bound_cny", -math.inf) * built.objective_scale  # the model's scale, as info's
    if math.isfinite(lp_bound) and not (info.bound >= lp_bound) and info.has_solution:
        say(f"bound: the LP relaxation's ({lp_bound / built.objective_scale:,.0f}) is better than HiGHS's")
        info = replace(info, bound=lp_bound, gap=relative_gap(info.objective, lp_bound))
    if info.has_solution and info.gap <= options.mip_rel_gap and not info.proven_optimal:
        from siting.core.results import SolutionStatus, TerminationCondition

        # the requested gap is proven (by the start and HiGHS's or the LP's bound): optimal within it
        info = replace(info, termination=TerminationCondition.OPTIMAL, status=SolutionStatus.OPTIMAL)
    return info
