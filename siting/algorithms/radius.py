"""The radius (distinct-distance) solver for p-median and UFLP, round by round (formulation and exact
reductions: :mod:`siting.algorithms.pmedian`'s module docstring).

:func:`solve_radius` runs the rounds over one mutable :class:`_Run` (the problem as currently reduced, its
levels, the model, the incumbent and the bound), each step in its own function: the start
(:func:`_start`), the first LP round with Lagrangian fixing and LP radius passes (:func:`_lp_round`), one
branch and bound (:func:`_mip_round`) and the answer (:func:`_finish`).
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siting.algorithms.common import make_solve_info
from siting.algorithms.heuristics import (
    assignment_from_open,
    improve_from,
    open_set_objective,
    pmedian_heuristic,
)
from siting.algorithms.lagrangian import lagrangian_fixing
from siting.core.errors import InfeasibleError
from siting.core.options import SolverOptions
from siting.core.problem import Problem
from siting.core.results import Result, TerminationCondition
from siting.model.levels import (
    Levels,
    dense_costs,
    distance_levels,
    is_integral,
    levels_top,
)
from siting.model.radius import CompactMaps, build_compact, raise_radius
from siting.solvers.highs import compile_model, extend_compiled, run_highs

_TRACE = bool(os.environ.get("SITING_FAST_TRACE"))


def cap_levels(problem: Problem, cost: np.ndarray, lv: Levels, p: int | None) -> np.ndarray:
    """Exact caps of the radius levels: a level within which some open candidate always lies."""
    top = lv.n_levels - 1
    cap_level = top.copy()
    if p is not None:
        q = int((~problem.forbidden).sum()) - p + 1  # among the q nearest allowed candidates one is open
        counts = np.isfinite(cost).sum(axis=1)
        ok = counts >= q
        if q >= 1 and ok.any():
            cap_level[ok] = lv.level_at(np.flatnonzero(ok), np.full(int(ok.sum()), q - 1))
    if problem.required.any():
        req = np.flatnonzero(problem.required)
        dreq = cost[:, req].min(axis=1)
        okr = np.isfinite(dreq)
        if okr.any():
            cap_level[okr] = np.minimum(cap_level[okr], lv.level_of(np.flatnonzero(okr), dreq[okr]))
    return cap_level


@dataclass
class _Run:
    """State of one :func:`solve_radius` call, updated by its steps."""

    problem: Problem
    p: int | None
    options: SolverOptions
    fixed: bool
    margin_levels: int
    max_rounds: int
    t_start: float
    cost: np.ndarray
    lv: Levels
    top: np.ndarray
    cap_level: np.ndarray
    integral: bool
    best_open: np.ndarray | None = None
    best_val: float = math.inf
    bound: float = -math.inf
    g: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    build_s: float = 0.0
    solve_s: float = 0.0
    heuristic_s: float = 0.0
    term: TerminationCondition = TerminationCondition.UNKNOWN
    rounds: int = 0
    solver: str = "highs"
    sizes: list = field(default_factory=list)
    proven: bool = False
    lagr: dict = field(default_factory=dict)
    model: Any = None
    maps: Any = None
    comp: Any = None

    @property
    def abs_gap(self) -> float | None:
        return 1.0 - 1e-6 if self.integral else None

    def tol(self) -> float:
        return max(self.options.mip_rel_gap * abs(self.best_val), 1e-9 * max(1.0, abs(self.best_val)))

    def met(self) -> bool:
        """The incumbent meets the bound (within the gap)."""
        return self.best_val <= self.bound + self.tol()

    def raise_bound(self, lb: float) -> None:
        if math.isfinite(lb):
            self.bound = max(self.bound, math.ceil(lb - 1e-6) if self.integral else lb)

    def remaining(self) -> float | None:
        if self.options.time_limit_s is None:
            return None
        return self.options.time_limit_s - (time.perf_counter() - self.t_start)

    def out_of_time(self) -> bool:
        rem = self.remaining()
        if rem is not None and rem <= 0:
            self.term = TerminationCondition.TIME_LIMIT
            return True
        return False

    def stop_proven(self, solver: str | None = None, lp_only: bool = True) -> None:
        self.term = TerminationCondition.OPTIMAL
        if solver is not None:
            self.solver = solver
        self.sizes.append({"rows": self.comp.data.num_row, "z": len(self.maps.zvars), **({"lp_only": 1} if lp_only else {})})
        self.proven = True


def solve_radius(
    problem: Problem, *, p: int | None, options: SolverOptions, use_time: bool, radius: bool,
    warm_start: bool, margin_levels: int, max_rounds: int, fixed: bool, model_name: str,
    lp_first: bool = True, lagrangian: bool = True, lp_extend: int = 0,
) -> Result:
    """Radius rounds until proven (or out of rounds / time); see :mod:`siting.algorithms.pmedian`."""
    from pyomo.common.gc_manager import PauseGC

    st = _start(problem, p=p, options=options, use_time=use_time, radius=radius, warm_start=warm_start,
                margin_levels=margin_levels, max_rounds=max_rounds, fixed=fixed)
    while st.rounds < st.max_rounds and not st.proven:
        st.rounds += 1
        tb = time.perf_counter()
        # g_i < top: cost capped at D_{i,g_i} (exact where g_i is the covered cap level); g_i = top: exact
        # with the coverage row. Later rounds only add rows and columns (raise_radius), compiled on their own.
        with PauseGC():  # thousands of new objects: a full collection over Pyomo's heap costs more than the build
            if st.comp is None:
                st.model, st.maps = build_compact(st.problem, p=p, radius_level=st.g, cost=st.cost, levels=st.lv,
                                                  use_fixed_costs=fixed)
                st.comp = compile_model(st.model)
            else:
                blocks, z_cost, new_z = raise_radius(st.model, st.maps, st.g, problem=st.problem, levels=st.lv)
                st.comp = extend_compiled(st.comp, blocks, z_cost, new_z)
        st.build_s += time.perf_counter() - tb
        if st.out_of_time():
            break
        first_lp = lp_first and p is not None and st.rounds == 1
        if first_lp and (_lp_round(st, lagrangian=lagrangian, lp_extend=lp_extend)
                         or st.term is TerminationCondition.TIME_LIMIT):
            break
        if not _mip_round(st):
            break
    return _finish(st, model_name)


def _start(problem: Problem, *, p: int | None, options: SolverOptions, use_time: bool, radius: bool,
           warm_start: bool, margin_levels: int, max_rounds: int, fixed: bool) -> _Run:
    """Levels, caps, heuristic incumbent, the trivial bound and the first radius."""
    t_start = time.perf_counter()
    cost = dense_costs(problem, use_time=use_time)
    lv = distance_levels(cost)
    n = cost.shape[0]
    # every finite cost is one of the rows' distinct distances (lv.flat), a fraction of the dense matrix
    integral = is_integral(problem.weight, lv.flat, problem.fixed_cost_cny if fixed else np.zeros(1))
    st = _Run(problem=problem, p=p, options=options, fixed=fixed, margin_levels=margin_levels,
              max_rounds=max_rounds, t_start=t_start, cost=cost, lv=lv, top=levels_top(problem, lv),
              cap_level=cap_levels(problem, cost, lv, p), integral=integral)
    st.build_s = time.perf_counter() - t_start  # data preparation counts as model construction
    th = time.perf_counter()
    if warm_start and p is not None:
        st.best_open = pmedian_heuristic(cost, problem.weight, p, required=problem.required,
                                         forbidden=problem.forbidden)
        _, dist_h = assignment_from_open(problem, st.best_open, cost=cost)
        st.best_val = open_set_objective(problem, st.best_open, dist_h, fixed=fixed)
        if not math.isfinite(st.best_val):  # the heuristic left a demand unserved: no warm start
            st.best_open, st.best_val = None, math.inf
    st.heuristic_s = time.perf_counter() - th
    # a bound before any solve: every demand costs at least its nearest allowed candidate (plus the fixed
    # costs of the required sites), so a result cut short still carries a finite gap
    bound = float(problem.weight @ lv.flat[lv.offset[:-1]])
    if fixed:
        bound += float(problem.fixed_cost_cny[problem.required].sum())
    st.bound = math.ceil(bound - 1e-6) if integral else bound
    if radius and st.best_open is not None:
        _, dist_h = assignment_from_open(problem, st.best_open, cost=cost)
        st.g = np.minimum(lv.level_of(np.arange(n), dist_h) + margin_levels, st.cap_level)
    else:
        st.g = st.cap_level.copy()
    if max_rounds <= 1:
        st.g = st.cap_level.copy()  # one round only: it must be the exact model to prove anything
    return st


def _lp_round(st: _Run, *, lagrangian: bool, lp_extend: int) -> bool:
    """The LP relaxation alone first (its bound is valid, and local search from its rounding often finds
    the optimum), then Lagrangian fixing and the LP radius passes. True when that proved the incumbent."""
    p, problem = st.p, st.problem
    lp_res = run_highs(st.comp, options=st.options, relax=True, time_limit_s=st.remaining(), load=False)
    st.solve_s += lp_res.seconds
    if lp_res.termination is TerminationCondition.OPTIMAL and lp_res.has_solution:
        st.raise_bound(lp_res.bound)
        col_of = st.comp.column_index()
        y_lp = np.array([lp_res.values[col_of[id(st.model.y[j])]] if id(st.model.y[j]) in col_of
                         else float(st.model.y[j].value or 0.0) for j in range(st.cost.shape[1])])
        y_lp[problem.forbidden] = -1.0
        start = np.argsort(-y_lp, kind="stable")[:p]
        st.best_val, st.best_open, hs = improve_from(problem, st.cost, p, start, fixed=st.fixed,
                                                     best_val=st.best_val, best_open=st.best_open)
        st.heuristic_s += hs
        if st.met():
            st.stop_proven(lp_res.solver)
            return True
    if lagrangian and st.best_open is not None and _lagrangian_fixing(st, lp_res.solver):
        return True
    if st.out_of_time():
        return False
    if lp_extend and st.best_open is not None:
        tb = time.perf_counter()
        st.comp, st.g, lp_s, lp_bound, st.lagr["lp_radius_passes"] = _extend_by_lp(
            st.model, st.maps, st.comp, st.g, st.cap_level, problem=st.problem, levels=st.lv,
            options=st.options, margin_levels=st.margin_levels, max_rounds=lp_extend, t_start=st.t_start)
        st.solve_s += lp_s
        st.build_s += time.perf_counter() - tb - lp_s
        st.raise_bound(lp_bound)
        if st.met():
            st.stop_proven("highs LP + Lagrangian fixing")
            return True
        st.out_of_time()  # the LP passes used part of the time left
    return False


def _lagrangian_fixing(st: _Run, lp_solver: str) -> bool:
    """Lagrangian bound and reduced-cost fixing (module docstring of pmedian): a candidate whose forced
    opening costs more than the incumbent is closed, and the model rebuilt without it when that removes 30 %
    of its rows (else the columns are fixed at 0). True when the bound proved the incumbent."""
    from pyomo.common.gc_manager import PauseGC

    p, problem = st.p, st.problem
    lag, fix0 = lagrangian_fixing(problem, st.cost, p, st.best_val, st.best_open, st.integral)
    st.heuristic_s += lag.seconds
    st.lagr = {"lagrangian_bound": round(lag.bound, 6), "lagrangian_iterations": lag.iterations,
               "closed_by_reduced_cost": int(fix0.sum())}
    if lag.best_value < st.best_val and lag.best_open is not None:
        st.best_val, st.best_open, hs = improve_from(problem, st.cost, p, lag.best_open, fixed=st.fixed,
                                                     best_val=st.best_val, best_open=st.best_open)
        st.heuristic_s += hs
    st.raise_bound(lag.bound)
    if st.met():
        st.stop_proven(f"{lp_solver} LP + Lagrangian bound")
        return True
    if not fix0.any():
        return False
    tb = time.perf_counter()
    n = st.cost.shape[0]
    r_problem = problem.with_closed(fix0)
    r_cost = st.cost.copy()
    r_cost[:, fix0] = np.inf
    r_lv = distance_levels(r_cost, columns=np.flatnonzero(~r_problem.forbidden))
    r_cap = cap_levels(r_problem, r_cost, r_lv, p)
    _, dist_h = assignment_from_open(r_problem, st.best_open, cost=r_cost)
    r_g = r_cap.copy() if st.max_rounds <= 1 else np.minimum(
        r_lv.level_of(np.arange(n), dist_h) + st.margin_levels, r_cap)
    r_rows = int((r_g + (r_g == r_lv.n_levels - 1)).sum())
    if r_rows < 0.7 * st.comp.data.num_row:
        # far fewer distance levels without the closed candidates: rebuild the model
        st.problem, st.cost, st.lv, st.cap_level, st.g = r_problem, r_cost, r_lv, r_cap, r_g
        st.top = r_lv.n_levels - 1
        with PauseGC():
            st.model, st.maps = build_compact(st.problem, p=p, radius_level=st.g, cost=st.cost, levels=st.lv,
                                              use_fixed_costs=st.fixed)
            st.comp = compile_model(st.model)
    else:  # about the same size: close them in place (column upper bounds 0)
        col_of = st.comp.column_index()
        upper = st.comp.data.col_upper
        for j in np.flatnonzero(fix0).tolist():
            k = col_of.get(id(st.model.y[j]))
            if k is not None:
                upper[k] = 0.0
            st.model.y[j].fix(0)
    st.build_s += time.perf_counter() - tb
    return False


def _mip_round(st: _Run) -> bool:
    """One branch and bound on the current radius, warm-started; raises the radius of the demands served
    beyond it. False when the loop must stop (proven, infeasible, no solution or not optimal)."""
    problem, p, cost, lv = st.problem, st.p, st.cost, st.lv
    col_of = st.comp.column_index()
    x0 = None
    if st.best_open is not None:
        x0 = np.zeros(len(st.comp.columns))
        for v, val in _warm_values(st.model, st.maps, st.best_open, cost):
            k = col_of.get(id(v))
            if k is not None:
                x0[k] = val
    solved = run_highs(st.comp, options=st.options, warm_start=x0, abs_gap=st.abs_gap,
                       time_limit_s=st.remaining())
    st.solve_s += solved.seconds
    if _TRACE:
        print(f"round {st.rounds}: rows {st.comp.data.num_row} z {len(st.maps.zvars)} best {st.best_val} "
              f"bound {st.bound} mip {solved.seconds:.2f}s obj {solved.objective} mipbound {solved.bound}",
              flush=True)
    st.solver = solved.solver
    st.sizes.append({"rows": st.comp.data.num_row, "z": len(st.maps.zvars)})
    st.term = solved.termination
    if st.term in (TerminationCondition.INFEASIBLE, TerminationCondition.INFEASIBLE_OR_UNBOUNDED):
        # the model solved is a relaxation of the full one, so the full one is infeasible too
        raise InfeasibleError(
            f"{problem.source}: no choice of {'p = ' + str(p) if p is not None else 'open'} candidates "
            "serves every demand within its allowed pairs (HiGHS proved the model infeasible)"
        )
    st.raise_bound(solved.bound)
    if not solved.has_solution:
        if st.term is TerminationCondition.OPTIMAL:  # "optimal" without a point proves nothing
            st.term = TerminationCondition.UNKNOWN
        return False
    y_val = np.array([st.model.y[j].value or 0.0 for j in range(cost.shape[1])])
    open_idx = np.flatnonzero(y_val > 0.5)
    _, dist = assignment_from_open(problem, open_idx, cost=cost)
    val = open_set_objective(problem, open_idx, dist, fixed=st.fixed)
    if val < st.best_val - 1e-9 * max(1.0, abs(val)):
        st.best_val, st.best_open = val, open_idx
    if st.term is not TerminationCondition.OPTIMAL:
        return False
    if p is not None and st.best_val > st.bound + max(st.options.mip_rel_gap * abs(st.best_val), 1e-9):
        # the relaxation's optimum is a good start for local search on the true objective
        st.best_val, st.best_open, hs = improve_from(problem, cost, p, open_idx, fixed=st.fixed,
                                                     best_val=st.best_val, best_open=st.best_open)
        st.heuristic_s += hs
    if st.met():
        st.proven = True
        return False
    # demands served beyond their radius: raise G_i there
    served = np.isfinite(dist)
    dist_level = st.top.copy()  # an unserved demand needs all its levels (and the coverage row)
    dist_level[served] = lv.level_of(np.flatnonzero(served), dist[served])
    beyond = (dist_level > st.g) & (st.g < st.cap_level)
    if not beyond.any():
        # the relaxation is exact at its optimum y*: F(y*) = R(y*) <= R(y) <= F(y) for every y
        st.proven = True
        return False
    st.g = np.where(beyond, np.minimum(np.maximum(dist_level, st.g + 1) + st.margin_levels, st.cap_level), st.g)
    if st.rounds == st.max_rounds - 1:
        # last round allowed: solve the exact model (every level up to the cap), so that an optimal
        # answer of that round is a proof rather than an unfinished iteration
        st.g = st.cap_level.copy()
    return True


def _finish(st: _Run, model_name: str) -> Result:
    """Status, certificate and the answer recomputed with numpy."""
    options = st.options
    if not st.proven and st.best_open is not None and math.isfinite(st.best_val) and st.met():
        st.proven = True  # the incumbent meets a valid lower bound (of a relaxation), whatever stopped the loop
    if not st.proven and st.term is TerminationCondition.OPTIMAL:
        # every round solved to optimality but the rounds ran out before the radius was exact (only with
        # max_rounds = 1 and radius iteration): no certificate
        st.term = TerminationCondition.ITERATION_LIMIT
    if (not st.proven and options.time_limit_s is not None and st.term is TerminationCondition.UNKNOWN
            and time.perf_counter() - st.t_start >= options.time_limit_s):
        st.term = TerminationCondition.TIME_LIMIT  # HiGHS stopped by the limit inside presolve says "unknown"
    solve_s = st.solve_s + st.heuristic_s
    if st.best_open is None:
        info = make_solve_info(st.term, math.nan, st.bound, st.build_s, solve_s, options, False)
        return Result(model=model_name, info=info, open=np.zeros(0, np.int64), allocation=np.zeros(0),
                      params={"p": st.p, "rounds": st.rounds})
    alloc, dist = assignment_from_open(st.problem, st.best_open, cost=st.cost)
    val = open_set_objective(st.problem, st.best_open, dist, fixed=st.fixed)
    # after reduced-cost fixing, bounds of the restricted model bound only the solutions better than the
    # incumbent; the optimum itself is bounded by min(incumbent, that bound)
    bound = min(st.bound, val)
    info = make_solve_info(st.term, val, bound if math.isfinite(bound) else math.nan, st.build_s, solve_s,
                           options, st.proven, st.solver)
    return Result(
        model=model_name, info=info, open=np.asarray(st.best_open, dtype=np.int64), allocation=alloc,
        params={"p": st.p, "rounds": st.rounds, "sizes": st.sizes, "heuristic_seconds": round(st.heuristic_s, 4),
                "integral_objective": st.integral, **st.lagr},
    )


def _extend_by_lp(model: Any, maps: CompactMaps, comp: Any, g: np.ndarray, cap_level: np.ndarray, *,
                  problem: Problem, levels: Levels, options: SolverOptions, margin_levels: int, max_rounds: int,
                  t_start: float) -> tuple[Any, np.ndarray, float, float, int]:
    """Raise the radius of the demands whose LP relaxation is cut by it, before any branch and bound.

    Demand ``i`` is cut when its last capped level is not fully covered in the LP optimum
    (``z[i, g_i - 1] > 0``): it pays the capped distance for that fraction, so a larger radius may change the
    optimum. Each pass solves the LP, raises those demands by ``margin_levels`` and extends the compiled model
    in place (at most ``max_rounds`` passes). A radius round's MIP then rarely lands beyond its radius, which
    is what made small-p instances take several full branch-and-bound rounds.

    Returns the compiled model, the radius levels, the LP seconds, the last LP bound (a valid bound of the
    model solved, hence of every improving solution) and the number of passes that raised a radius.
    """
    lp_s, lp_bound, raised = 0.0, math.nan, 0
    for _ in range(max_rounds):
        remaining = None
        if options.time_limit_s is not None:
            remaining = options.time_limit_s - (time.perf_counter() - t_start)
            if remaining <= 0:
                break
        res = run_highs(comp, options=options, relax=True, time_limit_s=remaining, load=False)
        lp_s += res.seconds
        if res.termination is not TerminationCondition.OPTIMAL or not res.has_solution:
            break
        lp_bound = res.bound
        col_of = comp.column_index()
        last = maps.last_z
        cand = np.flatnonzero((last >= 0) & (maps.g < cap_level))
        if not len(cand):
            break
        cols = np.fromiter((col_of.get(id(maps.zvars[t]), -1) for t in last[cand].tolist()), dtype=np.int64,
                           count=len(cand))
        val = np.where(cols >= 0, res.values[np.maximum(cols, 0)], 0.0)
        cut = cand[val > 1e-6]
        if _TRACE:
            print(f"  LP pass: bound {res.bound:.3f} rows {comp.data.num_row} cut demands {len(cut)}", flush=True)
        if not len(cut):
            break
        g = g.copy()
        g[cut] = np.minimum(g[cut] + margin_levels, cap_level[cut])
        blocks, z_cost, new_z = raise_radius(model, maps, g, problem=problem, levels=levels)
        comp = extend_compiled(comp, blocks, z_cost, new_z)
        raised += 1
    return comp, g, lp_s, lp_bound, raised


def _warm_values(model: Any, maps: CompactMaps, open_idx: np.ndarray, cost: np.ndarray
                 ) -> list[tuple[Any, float]]:
    y_open = np.zeros(cost.shape[1])
    y_open[open_idx] = 1.0
    d = cost[:, open_idx].min(axis=1)
    z_on = d[maps.z_demand] > maps.z_value + 1e-9 * np.maximum(1.0, np.abs(maps.z_value))
    ws = [(model.y[j], float(y_open[j])) for j in range(cost.shape[1])]
    ws.extend((maps.zvars[t], 1.0) for t in np.flatnonzero(z_on).tolist())
    return ws
