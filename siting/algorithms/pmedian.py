r"""Fast exact formulations for p-median, UFLP and CFLP (split demand), with a matrix-level HiGHS driver.

p-median and UFLP: the distinct-distance ("radius") formulation
===========================================================
For demand :math:`i` let :math:`D_{i0} < D_{i1} < \dots < D_{i,K_i}` be the distinct distances to its
allowed candidates. Variable :math:`z_{ik} \ge 0` (:math:`k < K_i`) is 1 when :math:`i` is *not* served
within :math:`D_{ik}`. Elloumi (2010) writes :math:`z_{ik} \ge 1 - \sum_{j: d_{ij} \le D_{ik}} y_j`; we use
the equivalent *chained* rows (same LP bound, far fewer nonzeros: each :math:`y_j` appears once per demand)

.. math::

    z_{i0} + \sum_{j: d_{ij} = D_{i0}} y_j \ge 1, \qquad
    z_{ik} + \sum_{j: d_{ij} = D_{ik}} y_j - z_{i,k-1} \ge 0 \quad (0 < k < G_i),

    \min \; \sum_j f_j y_j + \sum_i w_i \Big( D_{i0} + \sum_{k < G_i} (D_{i,k+1} - D_{ik})\, z_{ik} \Big),
    \qquad \sum_j y_j = p \;\text{(p-median)}, \quad y \in \{0,1\}.

With :math:`G_i = K_i` (plus the coverage row :math:`\sum_{d_{ij} = D_{iK_i}} y_j \ge z_{i,K_i-1}`) this is the
exact model. With a smaller *radius level* :math:`G_i` it charges demand :math:`i` the cost
:math:`\min(d_i(y), D_{iG_i})`, a **relaxation** :math:`R_G(y) \le F(y)` (García, Labbé & Marín 2011).

Exact reductions used:

* p-median, all candidates at most ``m' - p`` closed: among the ``m' - p + 1`` nearest allowed candidates of a
  demand one is open, so levels beyond that distance are never needed (:math:`G_i` capped there, no loss).
* a required (existing) candidate caps :math:`G_i` at its distance likewise.
* Radius iteration: start from :math:`G_i` = the level of the distance of :math:`i` in a heuristic solution
  plus ``margin_levels`` (greedy + best-improvement vertex substitution, vectorised numpy), solve
  :math:`\min R_G`, and stop when the optimum :math:`y^*` of the relaxation has :math:`F(y^*) = R_G(y^*)` —
  then :math:`y^*` is optimal for :math:`F` since :math:`F(y^*) = R_G(y^*) \le R_G(y) \le F(y)` for all
  :math:`y` — or when the best solution found has :math:`F \le` the proven bound of :math:`R_G` (a valid
  lower bound of :math:`F`). Otherwise raise :math:`G_i` for the demands served beyond their radius and solve
  again, warm-started with the best solution so far (local search is rerun from each relaxed optimum).
* LP first: in the first round the LP relaxation is solved alone; local search from its rounding often
  reaches a solution whose value equals the rounded-up LP bound, which proves optimality with no branching.
* Lagrangian bound and reduced-cost fixing (p-median, when the LP round did not prove optimality):
  :func:`pmedian_lagrangian` relaxes the assignment rows (Beasley 1993). Its bound :math:`L` is valid, and
  opening a candidate :math:`j` that its best subproblem left closed costs at least :math:`L + r_j`. When
  :math:`L + r_j` exceeds the incumbent :math:`U` (:math:`\ge U - 1` for integral data), no solution that
  opens :math:`j` beats :math:`U`, so :math:`j` is closed: the optimum is :math:`\min(U, \text{optimum with
  those closed})`. Fewer candidates mean fewer distinct distances, and the model is rebuilt when that removes
  30 % of its rows (otherwise the columns are fixed at 0). On small-p instances this closes about 90 % of the
  candidates; when :math:`L` meets :math:`U` nothing is branched on at all.
* Radius from the LP (before the first branch and bound): while the LP optimum of :math:`\min R_G` leaves
  part of a demand uncovered at its last capped level (:math:`z_{i,G_i-1} > 0`), that demand's :math:`G_i` is
  raised and the LP solved again (at most ``lp_extend`` passes). The MIP then seldom lands beyond its radius,
  so one branch and bound usually suffices where several radius rounds were needed before.
* Integral data (integer weights, distances and fixed costs, as in OR-Library): every solution value is an
  integer, so a bound :math:`L` proves optimality of an incumbent :math:`\le \lceil L \rceil`; HiGHS is told
  so with ``mip_abs_gap = 1 - 1e-6``.

CFLP (split demand): the textbook strong formulation
====================================================
.. math::

    \min \sum_j f_j y_j + \sum_{(i,j)} w_i d_{ij} x_{ij}
    \quad\text{s.t.}\quad \sum_j x_{ij} = 1,\;\; x_{ij} \le y_j,\;\;
    \sum_i w_i x_{ij} \le c_j y_j,\;\; \sum_j c_j y_j \ge \sum_i w_i,\;\; 0 \le x \le 1,\; y \in \{0,1\}.

All models are Pyomo ``ConcreteModel`` objects whose constraint families are each one
:class:`~siting.model.matrix.MatrixRows` component built from numpy index arrays in one call (no
per-row Python). :func:`~siting.solvers.highs.compile_model` reads those arrays directly and passes the
matrix to HiGHS (``highspy``) in one call, with a warm start (``setSolution``); the solution is loaded back
into the Pyomo variables. Radius rounds only add rows and columns: :func:`raise_radius` adds them to the Pyomo
model as a new block and :func:`~siting.solvers.highs.extend_compiled` appends them to the matrix, so
nothing is rebuilt. Objectives returned are recomputed from the solution with numpy.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Any
import numpy as np
from siting.core.errors import InfeasibleError
from siting.core.problem import Problem
from siting.core.results import Result, TerminationCondition
from siting.core.options import SolverOptions
from siting.solvers.highs import compile_model, extend_compiled, run_highs
from siting.model.levels import Levels, is_integral, levels_top, dense_costs, distance_levels
from siting.model.radius import CompactMaps, pyomo_env, build_compact, raise_radius
from siting.algorithms.common import check_p, make_solve_info
from siting.algorithms.heuristics import improve_from, open_set_objective, assignment_from_open, pmedian_heuristic
from siting.algorithms.lagrangian import lagrangian_fixing


#: HiGHS settings for the p-median rounds (``options.extra`` overrides them). Our own heuristics supply the
#: incumbent, so HiGHS's sub-MIP heuristics are off; a small cut pool and no restarts: measured on pmed16,
#: pmed17 and a generated n = 900, p = 90 instance, 1.1x to 2.3x faster than HiGHS's defaults.
PMEDIAN_HIGHS_OPTIONS: dict[str, Any] = {
    "mip_heuristic_effort": 0.0,
    "mip_pool_soft_limit": 50,
    "mip_allow_restart": False,
}


_TRACE = bool(__import__('os').environ.get('SITING_FAST_TRACE'))


def solve_pmedian(
    problem: Problem,
    *,
    p: int,
    options: SolverOptions = SolverOptions(),
    use_time: bool = False,
    radius: bool = True,
    warm_start: bool = True,
    margin_levels: int = 6,
    max_rounds: int = 50,
    lagrangian: bool = True,
    lp_extend: int = 5,
    method: str = "auto",
) -> Result:
    """Solve the p-median problem exactly, by Benders decomposition or the radius formulation.

    ``method="auto"`` picks by problem shape (:func:`choose_pmedian_method`): Benders decomposition of
    Elloumi's formulation (:func:`~siting.algorithms.benders.solve_pmedian_benders`) unless the instance is
    small (``n * m`` below :data:`BENDERS_MIN_PAIRS`) with a small ``p``, where the radius formulation
    (module docstring) measured as fast. ``"radius"`` / ``"benders"`` force one.

    Parameters
    ----------
    problem
        Demands, candidates, allowed pairs (their ``distance_km`` or ``time_min``), weights,
        required/forbidden candidates.
    p
        Number of facilities to open.
    options
        Time limit (over all rounds), relative gap, threads, seed, verbosity; ``extra`` HiGHS options are
        laid over :data:`PMEDIAN_HIGHS_OPTIONS`.
    radius
        Use the radius iteration (default); ``False`` solves the full distinct-distance model once.
    warm_start
        Start from the greedy + vertex-substitution heuristic.
    margin_levels
        Extra distance levels above the heuristic's distance in the first radius. 6 measured best on pmed16-20
        and on generated n = 500-900 instances with other seeds (e.g. n = 800, p = 80: 3.9 s with 3 levels,
        1.1 s with 6; more levels make each round's model larger for little gain).
    lagrangian
        Bound by Lagrangian relaxation first (:func:`pmedian_lagrangian`) and close the candidates whose
        reduced cost exceeds the incumbent (needs ``warm_start``).
    lp_extend
        Before the first branch and bound, at most this many LP passes that raise the radius of the demands
        whose LP relaxation it cuts (:func:`_extend_by_lp`); ``0`` turns them off. Measured: generated
        (800, 10) 72 s -> 24 s and, other seed, 178 s -> 51 s; pmed16 7.8 s -> 4.4 s; (700, 5) 16.9 s ->
        10.5 s; one extra LP (0.1-0.2 s) where the first MIP round was already enough.

    Returns
    -------
    Result
        ``model="p-median"``; ``open``, ``allocation`` (nearest open candidate, aligned with the problem's
        pairs), objective recomputed with numpy, bound and gap; ``params`` holds ``p``, ``rounds``, model
        sizes, the Lagrangian bound and the number of candidates it closed.
    """
    check_p(problem, p)
    chosen = choose_pmedian_method(problem, p) if method == "auto" else method
    if chosen == "benders":
        from siting.algorithms.benders import solve_pmedian_benders

        return solve_pmedian_benders(problem, p=p, options=options, use_time=use_time)
    if chosen != "radius":
        raise ValueError(f"method must be 'auto', 'radius' or 'benders', got {method!r}")
    pyomo_env()  # import outside the timings
    options = replace(options, extra={**PMEDIAN_HIGHS_OPTIONS, **options.extra})
    return solve_radius(problem, p=p, options=options, use_time=use_time, radius=radius,
                         warm_start=warm_start, margin_levels=margin_levels, max_rounds=max_rounds,
                         fixed=False, model_name="p-median", lagrangian=lagrangian,
                         lp_extend=lp_extend)


#: ``method="auto"`` uses the radius formulation below this many demand-candidate pairs when p is at most
#: :data:`RADIUS_MAX_P` (see :func:`choose_pmedian_method`).
BENDERS_MIN_PAIRS = 0
RADIUS_MAX_P = 10


def choose_pmedian_method(problem: Problem, p: int) -> str:
    """``"benders"`` or ``"radius"`` for :func:`solve_pmedian` with ``method="auto"``.

    Rule (measured side by side by ``benchmarks/bench_pmedian.py``, see the README): Benders everywhere,
    except instances with fewer than :data:`BENDERS_MIN_PAIRS` demand-candidate pairs and ``p`` at most
    :data:`RADIUS_MAX_P`.
    """
    pairs = problem.n_demand * problem.n_candidates
    return "radius" if pairs < BENDERS_MIN_PAIRS and p <= RADIUS_MAX_P else "benders"


def _cap_levels(problem: Problem, cost: np.ndarray, lv: Levels, p: int | None) -> np.ndarray:
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


def solve_radius(
    problem: Problem, *, p: int | None, options: SolverOptions, use_time: bool, radius: bool,
    warm_start: bool, margin_levels: int, max_rounds: int, fixed: bool, model_name: str,
    lp_first: bool = True, lagrangian: bool = True, lp_extend: int = 0,
) -> Result:
    from pyomo.common.gc_manager import PauseGC

    t_start = time.perf_counter()
    cost = dense_costs(problem, use_time=use_time)
    lv = distance_levels(cost)
    n, m = cost.shape
    top = levels_top(problem, lv)
    cap_level = _cap_levels(problem, cost, lv, p)
    # every finite cost is one of the rows' distinct distances (lv.flat), a fraction of the dense matrix
    integral = is_integral(problem.weight, lv.flat, problem.fixed_cost_cny if fixed else np.zeros(1))
    abs_gap = 1.0 - 1e-6 if integral else None
    prep_s = time.perf_counter() - t_start  # data preparation counts as model construction

    best_open: np.ndarray | None = None
    best_val = math.inf
    th = time.perf_counter()
    if warm_start and p is not None:
        best_open = pmedian_heuristic(cost, problem.weight, p, required=problem.required,
                                      forbidden=problem.forbidden)
        _, dist_h = assignment_from_open(problem, best_open, cost=cost)
        best_val = open_set_objective(problem, best_open, dist_h, fixed=fixed)
        if not math.isfinite(best_val):  # the heuristic left a demand unserved: no warm start
            best_open, best_val = None, math.inf
    heuristic_s = time.perf_counter() - th
    # a bound before any solve: every demand costs at least its nearest allowed candidate (plus the fixed
    # costs of the required sites), so a result cut short still carries a finite gap
    bound = float(problem.weight @ lv.flat[lv.offset[:-1]])
    if fixed:
        bound += float(problem.fixed_cost_cny[problem.required].sum())
    if integral:
        bound = math.ceil(bound - 1e-6)
    lagr: dict[str, Any] = {}

    if radius and best_open is not None:
        _, dist_h = assignment_from_open(problem, best_open, cost=cost)
        g = np.minimum(lv.level_of(np.arange(n), dist_h) + margin_levels, cap_level)
    else:
        g = cap_level.copy()
    if max_rounds <= 1:
        g = cap_level.copy()  # one round only: it must be the exact model to prove anything
    build_s = prep_s
    solve_s = 0.0
    term = TerminationCondition.UNKNOWN
    rounds = 0
    solver = "highs"
    sizes: list[dict[str, int]] = []
    proven = False
    comp = None
    while rounds < max_rounds and not proven:
        rounds += 1
        tb = time.perf_counter()
        # g_i < top: cost capped at D_{i,g_i} (exact where g_i is the covered cap level); g_i = top: exact
        # with the coverage row. Later rounds only add rows and columns (raise_radius), compiled on their own.
        with PauseGC():  # thousands of new objects: a full collection over Pyomo's heap costs more than the build
            if comp is None:
                model, maps = build_compact(problem, p=p, radius_level=g, cost=cost, levels=lv,
                                            use_fixed_costs=fixed)
                comp = compile_model(model)
            else:
                blocks, z_cost, new_z = raise_radius(model, maps, g, problem=problem, levels=lv)
                comp = extend_compiled(comp, blocks, z_cost, new_z)
        build_s += time.perf_counter() - tb
        if _TRACE:
            print(f"round {rounds + 0}: build {time.perf_counter() - tb:.4f}s (prep {prep_s:.4f}s)", flush=True)
        remaining = None
        if options.time_limit_s is not None:
            remaining = options.time_limit_s - (time.perf_counter() - t_start)
            if remaining <= 0:
                term = TerminationCondition.TIME_LIMIT
                break
        col_of = comp.column_index()
        if lp_first and p is not None and rounds == 1:
            # LP relaxation first: its bound is valid for F, and local search from its rounding usually
            # finds the optimum, in which case no branch and bound is needed at all
            lp_res = run_highs(comp, options=options, relax=True, time_limit_s=remaining, load=False)
            solve_s += lp_res.seconds
            if lp_res.termination is TerminationCondition.OPTIMAL and lp_res.has_solution:
                lb = math.ceil(lp_res.bound - 1e-6) if integral else lp_res.bound
                bound = max(bound, lb)
                y_lp = np.array([lp_res.values[col_of[id(model.y[j])]] if id(model.y[j]) in col_of
                                 else float(model.y[j].value or 0.0) for j in range(m)])
                y_lp[problem.forbidden] = -1.0
                start = np.argsort(-y_lp, kind="stable")[:p]
                best_val, best_open, hs = improve_from(problem, cost, p, start, fixed=fixed,
                                                        best_val=best_val, best_open=best_open)
                heuristic_s += hs
                tol = max(options.mip_rel_gap * abs(best_val), 1e-9 * max(1.0, abs(best_val)))
                if best_val <= bound + tol:
                    term = TerminationCondition.OPTIMAL
                    solver = lp_res.solver
                    sizes.append({"rows": comp.data.num_row, "z": len(maps.zvars), "lp_only": 1})
                    proven = True
                    break
            if lagrangian and best_open is not None:
                # Lagrangian bound and reduced-cost fixing (module docstring): a candidate whose forced
                # opening costs more than the incumbent is closed, and the model is rebuilt without it
                lag, fix0 = lagrangian_fixing(problem, cost, p, best_val, best_open, integral)
                heuristic_s += lag.seconds
                lagr = {"lagrangian_bound": round(lag.bound, 6), "lagrangian_iterations": lag.iterations,
                        "closed_by_reduced_cost": int(fix0.sum())}
                if lag.best_value < best_val and lag.best_open is not None:
                    best_val, best_open, hs = improve_from(problem, cost, p, lag.best_open, fixed=fixed,
                                                            best_val=best_val, best_open=best_open)
                    heuristic_s += hs
                bound = max(bound, math.ceil(lag.bound - 1e-6) if integral else lag.bound)
                tol = max(options.mip_rel_gap * abs(best_val), 1e-9 * max(1.0, abs(best_val)))
                if best_val <= bound + tol:
                    term = TerminationCondition.OPTIMAL
                    solver = f"{lp_res.solver} LP + Lagrangian bound"
                    sizes.append({"rows": comp.data.num_row, "z": len(maps.zvars), "lp_only": 1})
                    proven = True
                    break
                if fix0.any():
                    tb = time.perf_counter()
                    r_problem = problem.with_closed(fix0)
                    r_cost = cost.copy()
                    r_cost[:, fix0] = np.inf
                    r_lv = distance_levels(r_cost, columns=np.flatnonzero(~r_problem.forbidden))
                    r_cap = _cap_levels(r_problem, r_cost, r_lv, p)
                    _, dist_h = assignment_from_open(r_problem, best_open, cost=r_cost)
                    r_g = r_cap.copy() if max_rounds <= 1 else np.minimum(
                        r_lv.level_of(np.arange(n), dist_h) + margin_levels, r_cap)
                    r_rows = int((r_g + (r_g == r_lv.n_levels - 1)).sum())
                    if r_rows < 0.7 * comp.data.num_row:
                        # far fewer distance levels without the closed candidates: rebuild the model
                        problem, cost, lv, cap_level, g = r_problem, r_cost, r_lv, r_cap, r_g
                        top = lv.n_levels - 1
                        with PauseGC():
                            model, maps = build_compact(problem, p=p, radius_level=g, cost=cost, levels=lv,
                                                        use_fixed_costs=fixed)
                            comp = compile_model(model)
                        col_of = comp.column_index()
                    else:  # about the same size: close them in place (column upper bounds 0)
                        upper = comp.data.col_upper
                        for j in np.flatnonzero(fix0).tolist():
                            k = col_of.get(id(model.y[j]))
                            if k is not None:
                                upper[k] = 0.0
                            model.y[j].fix(0)
                    build_s += time.perf_counter() - tb
            if remaining is not None:
                remaining = options.time_limit_s - (time.perf_counter() - t_start)
                if remaining <= 0:
                    term = TerminationCondition.TIME_LIMIT
                    break
            if lp_extend and best_open is not None:
                tb = time.perf_counter()
                comp, g, lp_s, lp_bound, lagr["lp_radius_passes"] = _extend_by_lp(
                    model, maps, comp, g, cap_level, problem=problem, levels=lv, options=options,
                    margin_levels=margin_levels, max_rounds=lp_extend, t_start=t_start)
                solve_s += lp_s
                build_s += time.perf_counter() - tb - lp_s
                col_of = comp.column_index()
                if math.isfinite(lp_bound):
                    bound = max(bound, math.ceil(lp_bound - 1e-6) if integral else lp_bound)
                tol = max(options.mip_rel_gap * abs(best_val), 1e-9 * max(1.0, abs(best_val)))
                if best_val <= bound + tol:
                    term = TerminationCondition.OPTIMAL
                    solver = "highs LP + Lagrangian fixing"
                    sizes.append({"rows": comp.data.num_row, "z": len(maps.zvars), "lp_only": 1})
                    proven = True
                    break
                if options.time_limit_s is not None:  # the LP passes used part of the time left
                    remaining = options.time_limit_s - (time.perf_counter() - t_start)
                    if remaining <= 0:
                        term = TerminationCondition.TIME_LIMIT
                        break
        x0 = None
        if best_open is not None:
            x0 = np.zeros(len(comp.columns))
            for v, val in _warm_values(model, maps, best_open, cost):
                k = col_of.get(id(v))
                if k is not None:
                    x0[k] = val
        solved = run_highs(comp, options=options, warm_start=x0, abs_gap=abs_gap, time_limit_s=remaining)
        solve_s += solved.seconds
        if _TRACE:
            print(f"round {rounds}: rows {comp.data.num_row} z {len(maps.zvars)} best {best_val} bound {bound} "
                  f"mip {solved.seconds:.2f}s obj {solved.objective} mipbound {solved.bound}", flush=True)
        solver = solved.solver
        sizes.append({"rows": comp.data.num_row, "z": len(maps.zvars)})
        term = solved.termination
        if term in (TerminationCondition.INFEASIBLE, TerminationCondition.INFEASIBLE_OR_UNBOUNDED):
            # the model solved is a relaxation of the full one, so the full one is infeasible too
            raise InfeasibleError(
                f"{problem.source}: no choice of {'p = ' + str(p) if p is not None else 'open'} candidates "
                "serves every demand within its allowed pairs (HiGHS proved the model infeasible)"
            )
        if math.isfinite(solved.bound):
            lb = math.ceil(solved.bound - 1e-6) if integral else solved.bound
            bound = max(bound, lb)
        if not solved.has_solution:
            if term is TerminationCondition.OPTIMAL:  # "optimal" without a point proves nothing
                term = TerminationCondition.UNKNOWN
            break
        y_val = np.array([model.y[j].value or 0.0 for j in range(m)])
        open_idx = np.flatnonzero(y_val > 0.5)
        _, dist = assignment_from_open(problem, open_idx, cost=cost)
        val = open_set_objective(problem, open_idx, dist, fixed=fixed)
        if val < best_val - 1e-9 * max(1.0, abs(val)):
            best_val, best_open = val, open_idx
        if term is not TerminationCondition.OPTIMAL:
            break
        if p is not None and best_val > bound + max(options.mip_rel_gap * abs(best_val), 1e-9):
            # the relaxation's optimum is a good start for local search on the true objective
            best_val, best_open, hs = improve_from(problem, cost, p, open_idx, fixed=fixed,
                                                    best_val=best_val, best_open=best_open)
            heuristic_s += hs
        tol = max(options.mip_rel_gap * abs(best_val), 1e-9 * max(1.0, abs(best_val)))
        if best_val <= bound + tol:
            proven = True
            break
        # demands served beyond their radius: raise G_i there
        served = np.isfinite(dist)
        dist_level = top.copy()  # an unserved demand needs all its levels (and the coverage row)
        dist_level[served] = lv.level_of(np.flatnonzero(served), dist[served])
        beyond = (dist_level > g) & (g < cap_level)
        if not beyond.any():
            # the relaxation is exact at its optimum y*: F(y*) = R(y*) <= R(y) <= F(y) for every y
            proven = True
            break
        g = np.where(beyond, np.minimum(np.maximum(dist_level, g + 1) + margin_levels, cap_level), g)
        if rounds == max_rounds - 1:
            # last round allowed: solve the exact model (every level up to the cap), so that an optimal
            # answer of that round is a proof rather than an unfinished iteration
            g = cap_level.copy()
    if not proven and best_open is not None and math.isfinite(best_val) and best_val <= bound + max(
            options.mip_rel_gap * abs(best_val), 1e-9 * max(1.0, abs(best_val))):
        proven = True  # the incumbent meets a valid lower bound (of a relaxation), whatever stopped the loop
    if not proven and term is TerminationCondition.OPTIMAL:
        # every round solved to optimality but the rounds ran out before the radius was exact (only with
        # max_rounds = 1 and radius iteration): no certificate
        term = TerminationCondition.ITERATION_LIMIT
    if (not proven and options.time_limit_s is not None and term is TerminationCondition.UNKNOWN
            and time.perf_counter() - t_start >= options.time_limit_s):
        term = TerminationCondition.TIME_LIMIT  # HiGHS stopped by the limit inside presolve says "unknown"
    if best_open is None:
        info = make_solve_info(term, math.nan, bound, build_s, solve_s + heuristic_s, options, False)
        return Result(model=model_name, info=info, open=np.zeros(0, np.int64), allocation=np.zeros(0),
                      params={"p": p, "rounds": rounds})
    alloc, dist = assignment_from_open(problem, best_open, cost=cost)
    val = open_set_objective(problem, best_open, dist, fixed=fixed)
    # after reduced-cost fixing, bounds of the restricted model bound only the solutions better than the
    # incumbent; the optimum itself is bounded by min(incumbent, that bound)
    bound = min(bound, val)
    info = make_solve_info(term, val, bound if math.isfinite(bound) else math.nan, build_s, solve_s + heuristic_s,
                 options, proven, solver)
    return Result(
        model=model_name,
        info=info,
        open=np.asarray(best_open, dtype=np.int64),
        allocation=alloc,
        params={"p": p, "rounds": rounds, "sizes": sizes, "heuristic_seconds": round(heuristic_s, 4),
                "integral_objective": integral, **lagr},
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
