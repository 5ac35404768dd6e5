r"""p-median by Benders decomposition of Elloumi's formulation (Duran-Mateluna, Ales & Elloumi, EJOR 2023).

Master: :math:`\min \sum_i w_i \theta_i` s.t. :math:`\sum_j y_j = p`, :math:`\theta_i \ge D_{i0}`, the
Benders cuts of :mod:`~siting.algorithms.benders_cuts` (each :math:`\theta_i \ge D^* - \sum_{d_{ij} < D^*}
(D^* - d_{ij}) y_j`, separated per demand in one scan of its sorted distances) and, where a demand does not
reach every candidate, :math:`\sum_{j \text{ allowed for } i} y_j \ge 1`. Solved with ``highspy`` directly
(one ``Highs`` object kept across rounds; cuts appended with ``addRows``):

1. **Incumbent**: greedy + vertex substitution (:func:`~siting.algorithms.heuristics.pmedian_heuristic`);
   its cuts seed the master.
2. **LP phase**: cut loop on the LP relaxation of the master with in-out stabilisation (Ben-Ameur & Neto
   2007): cuts are separated at :math:`\lambda y_{LP} + (1 - \lambda) y_{core}`, and at :math:`y_{LP}` itself
   when that point yields no violated cut; the core point moves halfway to each LP optimum. The loop stops
   when the master's LP value meets the best subproblem value of a separated point (both bound the LP
   optimum of Elloumi's model, which it then equals) within ``lp_rel_tol``.
3. **Local search** from the LP solution's largest :math:`y_j`; the incumbent is proven when it meets the
   rounded-up LP bound.
4. **Reduced-cost fixing**: with LP value :math:`L` and reduced cost :math:`r_j` of :math:`y_j` (a valid
   bound argument for the master, a relaxation), :math:`y_j` at 0 with :math:`L + r_j > U` is closed and
   :math:`y_j` at 1 with :math:`L - r_j > U` is opened (:math:`U` = incumbent, less 1 for integral data).
5. **Iterated MIP**: the master with :math:`y` integral is solved by HiGHS, warm-started with the
   incumbent; its bound is a valid bound of the p-median; the integral :math:`y^*` found gets its exact cuts
   (and local search). It stops when the incumbent meets the bound, or when :math:`y^*` violates no cut
   (the master's optimum is then exact).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from siting.algorithms.benders_cuts import (
    Cuts,
    SortedCosts,
    cut_level,
    make_cuts,
    separate,
    sorted_costs,
    subproblem_values,
)
from siting.algorithms.benders_tree import branch_and_cut
from siting.algorithms.common import check_p, make_solve_info
from siting.algorithms.heuristics import (
    assignment_from_open,
    improve_from,
    open_set_objective,
    perturbed_search,
    pmedian_heuristic,
)
from siting.core.errors import InfeasibleError
from siting.core.options import SolverOptions
from siting.core.problem import Problem
from siting.core.results import Result, TerminationCondition
from siting.model.levels import dense_costs, is_integral

#: HiGHS settings of the master MIP (``options.extra`` overrides them): our local search supplies the
#: incumbent; presolve off (u1432, p = 200: 17 s -> 8 s per master MIP), no restarts and a small cut pool
#: (pmed16: 8.4 s -> 6.3 s per master MIP), all measured on the shared machine under load 8-10.
BENDERS_HIGHS_OPTIONS: dict[str, Any] = {"mip_heuristic_effort": 0.02, "presolve": "off", "mip_allow_restart": False,
                                         "mip_pool_soft_limit": 50}

#: The greedy start runs when ``p * n * m`` is at most this (its ``p`` passes over the ``(n, m)`` matrix);
#: beyond, the first incumbent is local search from the LP phase's rounding (u1432, p = 500: greedy 0.4 s).
GREEDY_WORK = 5e10


class _Master:
    """The master problem in one ``highspy.Highs``: columns ``y`` (m) then ``theta`` (n)."""

    def __init__(self, problem: Problem, sc: SortedCosts, p: int, options: SolverOptions) -> None:
        import highspy

        from siting.solvers.highs import new_highs

        self.hp = highspy
        self.h = h = new_highs(highspy)
        self.n, self.m = problem.n_demand, problem.n_candidates
        self.source, self.p = problem.source, p
        h.setOptionValue("output_flag", bool(options.verbose))
        h.setOptionValue("random_seed", int(options.seed))
        if options.threads is not None:
            highspy.Highs.resetGlobalScheduler(True)
            h.setOptionValue("threads", int(options.threads))
        inf = highspy.kHighsInf
        n, m = self.n, self.m
        y_lo = problem.required.astype(np.float64)
        y_hi = np.where(problem.forbidden, 0.0, 1.0)
        cost = np.concatenate([np.zeros(m), np.asarray(problem.weight, dtype=np.float64)])
        lower = np.concatenate([y_lo, sc.nearest_km])
        upper = np.concatenate([y_hi, np.full(n, inf)])
        h.addVars(n + m, lower, upper)
        h.changeColsCost(n + m, np.arange(n + m, dtype=np.int32), cost)
        h.addRow(float(p), float(p), m, np.arange(m, dtype=np.int32), np.ones(m))
        allowed = int((~problem.forbidden).sum())
        short = np.flatnonzero(sc.n_allowed < allowed)
        if len(short):  # coverage rows: every demand needs one open allowed candidate
            cnt = sc.n_allowed[short]
            starts = np.zeros(len(short), dtype=np.int32)
            starts[1:] = np.cumsum(cnt)[:-1]
            idx = np.concatenate([sc.order[i, :c] for i, c in zip(short.tolist(), cnt.tolist())])
            h.addRows(len(short), np.ones(len(short)), np.full(len(short), inf), int(cnt.sum()), starts,
                      idx.astype(np.int32), np.ones(len(idx)))
        self.n_cuts = 0
        self.nnz = 0

    def add(self, cuts: Cuts) -> None:
        c = len(cuts)
        if not c:
            return
        # row r: theta_i (column m + i) then the y terms
        counts = np.diff(cuts.start) + 1
        starts = np.zeros(c, dtype=np.int64)
        starts[1:] = np.cumsum(counts)[:-1]
        nnz = int(counts.sum())
        idx = np.empty(nnz, dtype=np.int32)
        val = np.empty(nnz)
        idx[starts] = self.m + cuts.demand
        val[starts] = 1.0
        rest = np.ones(nnz, dtype=bool)
        rest[starts] = False
        idx[rest] = cuts.candidate
        val[rest] = cuts.coef
        self.h.addRows(c, cuts.rhs, np.full(c, self.hp.kHighsInf), nnz, starts.astype(np.int32), idx, val)
        self.n_cuts += c
        self.nnz += nnz

    def run(self, time_limit_s: float | None) -> tuple[str, np.ndarray, np.ndarray, float, float]:
        """Solve; returns (status, y, theta, objective, bound)."""
        h = self.h
        if time_limit_s is not None:
            h.setOptionValue("time_limit", max(float(time_limit_s), 0.01))
        h.run()
        st = h.getModelStatus()
        info = h.getInfo()
        ok = info.primal_solution_status == 2
        x = np.asarray(h.getSolution().col_value) if ok else np.zeros(self.n + self.m)
        obj = float(info.objective_function_value) if ok else math.nan
        mip_bound = getattr(info, "mip_dual_bound", math.nan)
        status = h.modelStatusToString(st)
        return status, x[: self.m], x[self.m:], obj, float(mip_bound)

    def watch(self, sc: SortedCosts, w: np.ndarray) -> None:
        """Stop the master MIP at the first improving solution the cuts undervalue (its true cost exceeds
        its master objective): its cuts are then added and the MIP solved again, instead of first proving a
        master optimum that the next round overturns (a stand-in for lazy constraints, which highspy's
        callbacks cannot add)."""
        self.pending: tuple[np.ndarray, np.ndarray] | None = None
        m = self.m

        def on_improving(e: Any) -> None:
            if self.pending is not None:
                return
            x = np.asarray(e.data_out.mip_solution, dtype=np.float64)
            if x.shape[0] < m + self.n:
                return
            yi = (x[:m] > 0.5).astype(np.float64)
            theta = x[m:]
            true = float(w @ subproblem_values(sc, yi))
            if true > float(w @ theta) + 1e-6 * max(1.0, abs(true)):
                self.pending = (yi, theta)

        def on_interrupt(e: Any) -> None:
            e.interrupt(self.pending is not None)  # the flag persists across runs: always set it

        self.h.cbMipImprovingSolution.subscribe(on_improving)
        self.h.cbMipInterrupt.subscribe(on_interrupt)

    def reduced_costs(self) -> np.ndarray:
        return np.asarray(self.h.getSolution().col_dual)[: self.m]


def _lp_phase(master: _Master, sc: SortedCosts, w: np.ndarray, y_core: np.ndarray, *, level: str,
              lp_rel_tol: float, max_iter: int, deadline: float | None, trace: bool
              ) -> tuple[float, np.ndarray, int, bool]:
    """Cut loop on the LP relaxation with in-out stabilisation. Returns (LP bound, y of the last LP,
    iterations, converged)."""
    lb, ub_lp, y_lp, it, converged = -math.inf, math.inf, y_core, 0, False
    for it in range(1, max_iter + 1):
        tl = None if deadline is None else deadline - time.perf_counter()
        if tl is not None and tl <= 0:
            break
        status, y_lp, theta, obj, _ = master.run(tl)
        if status == "Infeasible":
            raise _infeasible(master)
        if status != "Optimal":
            break
        lb = obj
        found = 0
        for lam in (0.5, 1.0):
            y_sep = lam * y_lp + (1.0 - lam) * y_core
            k, phi = separate(sc, y_sep)
            ub_lp = min(ub_lp, float(w @ phi))
            # the cut of level k evaluated at the LP point (subproblem_values with k given)
            viol = subproblem_values(sc, y_lp, k) - theta > 1e-7 * np.maximum(1.0, np.abs(theta))
            sel = np.flatnonzero(viol)
            if len(sel):
                master.add(make_cuts(sc, y_sep, sel, k=k))
                found = len(sel)
                break
            y_core = y_sep  # no cut at the stabilised point: move the core there
        if trace:
            print(f"  LP {it}: bound {lb:.4f} ub {ub_lp:.4f} cuts +{found} rows {master.n_cuts} "
                  f"nnz {master.nnz}", flush=True)
        y_core = 0.5 * (y_core + y_lp)
        if found == 0 or ub_lp - lb <= lp_rel_tol * max(1.0, abs(ub_lp)):
            converged = True
            break
    return lb, y_lp, it, converged


def solve_pmedian_benders(
    problem: Problem,
    *,
    p: int,
    options: SolverOptions = SolverOptions(),
    use_time: bool = False,
    level: str = "first",
    lp_rel_tol: float = 1e-6,
    max_lp_iter: int = 500,
    max_mip_rounds: int = 200,
    interrupt: bool = True,
    tree: str = "own",
    heuristics: bool = True,
    node_limit: int | None = None,
    trace: bool = False,
) -> Result:
    """Solve the p-median problem exactly by Benders decomposition (module docstring).

    Parameters
    ----------
    problem, p, options, use_time
        As :func:`~siting.algorithms.pmedian.solve_pmedian`.
    level
        Cut level for integral points, ``"first"`` or ``"last"`` (:func:`~siting.algorithms.benders_cuts.cut_level`).
    lp_rel_tol
        Relative tolerance of the LP cut loop.
    max_lp_iter, max_mip_rounds
        Caps on LP cut rounds and master MIP solves.
    interrupt
        Stop a master MIP at its first improving solution that the cuts undervalue (:meth:`_Master.watch`).
    tree
        ``"own"``: our branch-and-Benders-cut (:func:`~siting.algorithms.benders_tree.branch_and_cut`, cuts
        at every node); ``"highs"``: iterated HiGHS master MIPs.
    heuristics
        ``False`` turns off the greedy start and every local search (the tree then finds the optimum from
        its integral nodes alone; for tests of the tree).
    node_limit
        Stop our tree after this many nodes (``ITERATION_LIMIT``, with the bound of the open nodes).

    Returns
    -------
    Result
        ``model="p-median"``; ``params`` holds ``p``, ``method="benders"``, LP iterations, MIP rounds, cuts,
        the LP bound and the candidates fixed by reduced costs.
    """
    check_p(problem, p)
    if tree not in ("own", "highs"):
        raise ValueError(f"tree must be 'own' or 'highs', got {tree!r}")
    t0 = time.perf_counter()
    deadline = None if options.time_limit_s is None else t0 + options.time_limit_s
    cost = dense_costs(problem, use_time=use_time)
    w = np.asarray(problem.weight, dtype=np.float64)
    sc = sorted_costs(cost)
    if (sc.n_allowed == 0).any():
        raise InfeasibleError(f"{problem.source}: some demand has no allowed candidate")
    integral = is_integral(w, sc.dist_km[sc.dist_km < sc.big])
    margin = 1.0 - 1e-6 if integral else 0.0

    th = time.perf_counter()
    best_val, best_open, greedy = _greedy_start(problem, cost, w, p, heuristics=heuristics, deadline=deadline)
    heur_s = time.perf_counter() - th
    tb = time.perf_counter()
    master = _Master(problem, sc, p, options)
    for key, val in {**BENDERS_HIGHS_OPTIONS, **options.extra}.items():
        master.h.setOptionValue(key, val)
    if interrupt and tree == "highs":
        master.watch(sc, w)
    y_core = _core_point(master, sc, problem, p, best_open if greedy else None, level=level)
    build_s = time.perf_counter() - tb + (tb - t0 - heur_s)
    lb, y_lp, lp_iter, _ = _lp_phase(master, sc, w, y_core, level=level, lp_rel_tol=lp_rel_tol,
                                     max_iter=max_lp_iter, deadline=deadline, trace=trace)
    lb = max(lb, float(w @ sc.nearest_km))  # every demand at its nearest site: a bound even with no LP solved
    bound = _ceil(lb, integral)
    lp_bound = lb
    start = np.argsort(-np.where(problem.forbidden, -1.0, y_lp), kind="stable")[:p]
    if heuristics:
        best_val, best_open, hs = improve_from(problem, cost, p, start, fixed=False, best_val=best_val,
                                               best_open=best_open, deadline=deadline)
        heur_s += hs
    n_fixed = 0
    if best_val > bound + _tol(best_val, options) and math.isfinite(lb):
        n_fixed = _fix_by_reduced_cost(master, lb, best_val - margin, problem)
    best_val, best_open, bound, term, rounds, hs, tree_stats = _search(
        master, sc, problem, cost, p, best_val, best_open, bound, lb, integral=integral, tree=tree,
        level=level, options=options, deadline=deadline, node_limit=node_limit, heuristics=heuristics,
        max_mip_rounds=max_mip_rounds, trace=trace)
    heur_s += hs
    proven = best_val <= bound + _tol(best_val, options)
    if not proven and term is TerminationCondition.OPTIMAL:
        term = TerminationCondition.ITERATION_LIMIT
    stats = {"p": p, "method": "benders", "lp_iterations": lp_iter, "mip_rounds": rounds, "cuts": master.n_cuts,
             "cut_nonzeros": master.nnz, "lp_bound": round(lp_bound, 6), "fixed_by_reduced_cost": n_fixed,
             "heuristic_seconds": round(heur_s, 4), "integral_objective": integral, "tree": tree, **tree_stats}
    return _result(problem, cost, best_open, best_val, bound, term, proven, build_s,
                   time.perf_counter() - t0 - build_s, options, f"highs {master.h.version()} (Benders)", stats)


def _greedy_start(problem: Problem, cost: np.ndarray, w: np.ndarray, p: int, *, heuristics: bool,
                  deadline: float | None) -> tuple[float, np.ndarray, bool]:
    """Greedy + vertex substitution when its ``p`` passes over the matrix are cheap enough (else the first
    incumbent comes from the LP phase's rounding). Returns (value, open sites, whether it ran)."""
    if not (heuristics and p * cost.size <= GREEDY_WORK):
        return math.inf, np.zeros(0, dtype=np.int64), False
    best_open = pmedian_heuristic(cost, w, p, required=problem.required, forbidden=problem.forbidden,
                                  deadline=deadline)
    return _value(problem, cost, best_open), best_open, True


def _core_point(master: _Master, sc: SortedCosts, problem: Problem, p: int, start: np.ndarray | None, *,
                level: str) -> np.ndarray:
    """The in-out core point (uniform over the allowed sites, halfway to the start's sites when there is a
    start, whose cuts then seed the master)."""
    allowed = (~problem.forbidden).astype(np.float64)
    y_core = allowed * (p / allowed.sum())
    if start is None:
        return y_core
    y_inc = np.zeros(problem.n_candidates)
    y_inc[start] = 1.0
    master.add(make_cuts(sc, y_inc, np.arange(problem.n_demand), level=level))
    return 0.5 * y_inc + 0.5 * y_core


def _search(master: _Master, sc: SortedCosts, problem: Problem, cost: np.ndarray, p: int, best_val: float,
            best_open: np.ndarray, bound: float, lb: float, *, integral: bool, tree: str, level: str,
            options: SolverOptions, deadline: float | None, node_limit: int | None, heuristics: bool,
            max_mip_rounds: int, trace: bool
            ) -> tuple[float, np.ndarray, float, TerminationCondition, int, float, dict]:
    """After the LP phase: our tree or iterated HiGHS MIPs. Returns (incumbent value, incumbent, bound,
    termination, MIP rounds, heuristic seconds, tree statistics)."""
    rounds, term, heur_s = 0, TerminationCondition.OPTIMAL, 0.0
    if best_val <= bound + _tol(best_val, options):
        return best_val, best_open, bound, term, rounds, heur_s, {}
    if tree == "own":
        rng = np.random.default_rng(options.seed)
        work = None  # the local search's (n, m) scratch, made at its first call and kept for the next ones

        def improve(open_idx: np.ndarray, until: float) -> tuple[float, np.ndarray]:
            nonlocal work
            if work is None:
                work = np.empty(cost.shape)
            _, cand = perturbed_search(cost, problem.weight, open_idx, deadline=until, rng=rng,
                                       required=problem.required, forbidden=problem.forbidden, work=work)
            return _value(problem, cost, cand), cand

        best_val, best_open, tree_lb, term, ts = branch_and_cut(
            master, sc, problem, p, best_val=best_val, best_open=best_open, root_bound=lb,
            integral=integral, rel_gap=float(options.mip_rel_gap), deadline=deadline, node_limit=node_limit,
            improve=improve if heuristics else None, trace=trace)
        return best_val, best_open, max(bound, _ceil(tree_lb, integral)), term, 0, 0.0, ts.as_dict()
    while best_val > bound + _tol(best_val, options) and rounds < max_mip_rounds:
        rounds += 1
        best_val, best_open, bound, done, term, hs = _mip_round(
            master, sc, problem, cost, p, best_val, best_open, bound, integral=integral, level=level,
            options=options, deadline=deadline, trace=trace)
        heur_s += hs
        if done:
            break
    return best_val, best_open, bound, term, rounds, heur_s, {}


def _result(problem: Problem, cost: np.ndarray, best_open: np.ndarray, best_val: float, bound: float,
            term: TerminationCondition, proven: bool, build_s: float, solve_s: float, options: SolverOptions,
            solver: str, stats: dict) -> Result:
    """The answer, its objective recomputed with numpy (or no solution when none serves every demand)."""
    if not math.isfinite(best_val):  # stopped before any solution serving every demand
        if term is TerminationCondition.OPTIMAL:
            term = TerminationCondition.UNKNOWN
        info = make_solve_info(term, math.nan, bound, build_s, solve_s, options, False)
        return Result(model="p-median", info=info, open=np.zeros(0, np.int64), allocation=np.zeros(0),
                      params=stats)
    alloc, dist = assignment_from_open(problem, best_open, cost=cost)
    val = open_set_objective(problem, best_open, dist, fixed=False)
    info = make_solve_info(term, val, min(bound, val), build_s, solve_s, options, proven, solver)
    return Result(model="p-median", info=info, open=np.asarray(best_open, dtype=np.int64), allocation=alloc,
                  params=stats)


def _infeasible(master: _Master) -> InfeasibleError:
    return InfeasibleError(
        f"{master.source}: no choice of p = {master.p} candidates serves every demand within its allowed pairs "
        "(HiGHS proved the Benders master infeasible)")


def _value(problem: Problem, cost: np.ndarray, open_idx: np.ndarray) -> float:
    _, dist = assignment_from_open(problem, open_idx, cost=cost)
    return open_set_objective(problem, open_idx, dist, fixed=False)


def _ceil(x: float, integral: bool) -> float:
    return math.ceil(x - 1e-6) if integral and math.isfinite(x) else x


def _tol(val: float, options: SolverOptions) -> float:
    if not math.isfinite(val):
        return 0.0
    return max(options.mip_rel_gap * abs(val), 1e-9 * max(1.0, abs(val)))


def _fix_by_reduced_cost(master: _Master, lb: float, cutoff: float, problem: Problem) -> int:
    """Close (open) the ``y_j`` whose reduced cost proves that opening (closing) them cannot beat
    ``cutoff``; returns how many were fixed."""
    rc = master.reduced_costs()
    y = np.asarray(master.h.getSolution().col_value)[: master.m]
    free = ~problem.forbidden & ~problem.required
    close = free & (y < 1e-9) & (lb + rc > cutoff + 1e-9)
    open_ = free & (y > 1.0 - 1e-9) & (lb - rc > cutoff + 1e-9)
    for mask, lo, hi in ((close, 0.0, 0.0), (open_, 1.0, 1.0)):
        idx = np.flatnonzero(mask).astype(np.int32)
        if len(idx):
            master.h.changeColsBounds(len(idx), idx, np.full(len(idx), lo), np.full(len(idx), hi))
    return int(close.sum() + open_.sum())


def _mip_round(master: _Master, sc: SortedCosts, problem: Problem, cost: np.ndarray, p: int, best_val: float,
               best_open: np.ndarray, bound: float, *, integral: bool, level: str, options: SolverOptions,
               deadline: float | None, trace: bool
               ) -> tuple[float, np.ndarray, float, bool, TerminationCondition, float]:
    """One master MIP solve and the cuts of its solution. Returns (incumbent value, incumbent, bound,
    done, termination, heuristic seconds)."""
    h, hp = master.h, master.hp
    m = master.m
    if not getattr(master, "is_mip", False):  # first round: y integral from now on
        master.is_mip = True
        h.changeColsIntegrality(m, np.arange(m, dtype=np.int32),
                                np.full(m, hp.HighsVarType.kInteger.value, dtype=np.uint8))
        h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
        if integral:
            h.setOptionValue("mip_abs_gap", 1.0 - 1e-6)
    if math.isfinite(best_val):
        y0 = np.zeros(m)
        y0[best_open] = 1.0
        _, dist = assignment_from_open(problem, best_open, cost=cost)
        sol = hp.HighsSolution()
        sol.col_value = np.concatenate([y0, dist]).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    tl = None if deadline is None else deadline - time.perf_counter()
    if tl is not None and tl <= 0:
        return best_val, best_open, bound, True, TerminationCondition.TIME_LIMIT, 0.0
    t1 = time.perf_counter()
    if getattr(master, "pending", None) is not None:
        master.pending = None
    status, y, theta, obj, mb = master.run(tl)
    if trace:
        print(f"  MIP: {status} obj {obj} bound {mb} {time.perf_counter() - t1:.2f}s rows {master.n_cuts}",
              flush=True)
    if status == "Infeasible":
        raise _infeasible(master)
    if math.isfinite(mb):
        bound = max(bound, _ceil(mb, integral))
    interrupted = getattr(master, "pending", None) is not None
    if interrupted:  # stopped at an undervalued solution: use it
        y, theta = master.pending
        status, obj = "Optimal", float(problem.weight @ theta)
    if status not in ("Optimal",) or not np.isfinite(y).all() or math.isnan(obj):
        term = TerminationCondition.TIME_LIMIT if status == "Time limit reached" else TerminationCondition.UNKNOWN
        return best_val, best_open, bound, True, term, 0.0
    open_idx = np.flatnonzero(y > 0.5)
    val = _value(problem, cost, open_idx)
    if val < best_val:
        best_val, best_open = val, open_idx
    hs = 0.0
    if best_val > bound + _tol(best_val, options):
        best_val, best_open, hs = improve_from(problem, cost, p, open_idx, fixed=False, best_val=best_val,
                                               best_open=best_open, deadline=deadline)
    yi = np.zeros(m)
    yi[open_idx] = 1.0
    k = cut_level(sc, yi, level=level)
    phi = subproblem_values(sc, yi, k)
    viol = np.flatnonzero(phi - theta > 1e-7 * np.maximum(1.0, np.abs(phi)))
    if not len(viol) and interrupted:  # not a master optimum: nothing proven, solve again
        return best_val, best_open, bound, False, TerminationCondition.OPTIMAL, hs
    if not len(viol):  # the master's optimum is exact: y* is optimal
        bound = max(bound, _ceil(val, integral))
        return best_val, best_open, bound, True, TerminationCondition.OPTIMAL, hs
    master.add(make_cuts(sc, yi, viol, k=k))
    return best_val, best_open, bound, False, TerminationCondition.OPTIMAL, hs
