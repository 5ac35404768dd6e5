r"""Faster exact warehouse location (UFLP and split-demand CFLP): Lagrangian bound, reduced-cost fixing of
sites, a heuristic incumbent, then the strong model on the sites left, warm-started.

Model (the strong split-demand formulation of :mod:`siting.algorithms.pmedian`; uncapacitated: :math:`c_j =
\infty`, no capacity rows):

.. math::

    \min \sum_j f_j y_j + \sum_{i,j} w_i d_{ij} x_{ij}
    \quad\text{s.t.}\quad \sum_j x_{ij} = 1,\;\; x_{ij} \le y_j,\;\;
    \sum_i w_i x_{ij} \le c_j y_j,\;\; \sum_j c_j y_j \ge W = \sum_i w_i,\;\; 0 \le x \le 1,\; y \in \{0,1\}.

Lagrangian bound (demand rows relaxed, multipliers :math:`\lambda_i`; Cornuéjols, Sridharan & Thizy 1991)
------------------------------------------------------------------------------------------------------------
.. math::

    L(\lambda) = \sum_i \lambda_i + \min\Big\{\sum_j \rho_j y_j : \sum_j c_j y_j \ge W,\; y \in \{0,1\}\Big\},
    \qquad
    \rho_j = f_j + \min\Big\{\sum_i (w_i d_{ij} - \lambda_i) x_{ij} : \sum_i w_i x_{ij} \le c_j,\;
    0 \le x_{ij} \le 1\Big\}.

Each :math:`\rho_j` is a continuous knapsack, solved exactly by taking the customers in increasing order of
:math:`d_{ij} - \lambda_i / w_i` while that is negative, until :math:`c_j` is filled (the last one
fractionally). The site problem is a covering knapsack. When all usable capacities are equal (capa/capb/capc)
it is a cardinality problem, :math:`|S| \ge K = \lceil (W - \sum_{\text{required}} c)/c \rceil` extra sites,
solved exactly (all negative :math:`\rho_j`, topped up by the smallest); otherwise its LP relaxation (greedy
by :math:`\rho_j / c_j`, dual :math:`\mu`) is used, which still gives a valid (weaker) bound.
:math:`L(\lambda)` is maximised by subgradient steps (Polyak's rule with the incumbent's value).

Reduced-cost fixing. For the best :math:`\lambda` and the site problem's optimum :math:`S`, forcing a site
:math:`j \notin S` open makes the Lagrangian value at least :math:`L + \delta^{open}_j`, forcing :math:`j \in S`
closed at least :math:`L + \delta^{close}_j`, with (cardinality case, :math:`\rho_{(k)}` the sorted values)

.. math::

    \delta^{open}_j = \rho_j - \max(0, \max_{k \in S \setminus R} \rho_k)\,[|S| = K],\; \text{else } \rho_j;
    \qquad \delta^{close}_j = \min_{k \notin S} \rho_k - \rho_j \text{ if } |S| = K, \text{ else } -\rho_j,

(:math:`R` = required sites) and, in the LP case, the reduced costs :math:`|\rho_j - \mu c_j|`. Since the
Lagrangian value is a lower bound of the problem restricted the same way, a site with :math:`L +
\delta^{open}_j \ge U` (the incumbent's value, less the allowed gap) is in no solution better than :math:`U`
and is closed; one with :math:`L + \delta^{close}_j \ge U` is opened. The optimum is :math:`\min(U,` optimum
of the reduced problem :math:`)`, and a valid bound of the whole problem is :math:`\max(L, \min(B_{red},
\min_{\text{fixed } j} (L + \delta_j)))` with :math:`B_{red}` the reduced model's bound.

Probing. The first-order deltas leave about a quarter of the sites free on tight instances. Each free site
is then forced the other way than in the incumbent and :math:`L` of that restricted problem is re-optimised
(:func:`siting.algorithms.warehouse_bound.probe_sites`); a bound :math:`\ge U` fixes the site as in the
incumbent. Fixings accumulate (each removes only solutions at or above the threshold); after a pass that
fixed something :math:`L` of the restricted problem is re-optimised, its value :math:`L_r` bounds every
solution kept, and its deltas fix more. The bound becomes :math:`\max(L, \min(\max(B_{red}, L_r),
\min_{\text{fixed } j} b_j))`, :math:`b_j` the bound that fixed site :math:`j`.

Incumbent. Sites of the Lagrangian subproblems are topped up to cover :math:`W`, and the split-demand
assignment to an open set (a transportation LP; for :math:`c = \infty` each customer's nearest open site)
gives a feasible value; a drop / add / swap local search over the most promising sites improves it (moves
valued with each customer restricted to its 6 nearest open sites, the result exactly). After the first
probing pass, single and double swaps among the free sites are tried in increasing order of their probes'
bounds (:func:`siting.algorithms.warehouse_heuristic.guided_swaps`: a low bound marks a flip that may pay);
if one improves, probing runs again with the better threshold (earlier fixings stay valid since the
threshold only drops). The best point goes to HiGHS as a warm start (``setSolution``).

The MIP on the sites left keeps only the rows :math:`x_{ij} \le y_j` of pairs with negative Lagrangian
reduced cost :math:`d_{ij} - \lambda_i / w_i` (:mod:`siting.algorithms.cflp_mip`): exact for any choice,
since the per-site capacity rows already force :math:`x_{ij} = 0` when :math:`y_j = 0`.

Customer-site pairs (columns) are not dropped: with split demand :math:`x_{ij}` is continuous, so a reduced
cost bounds its value but cannot fix it to 0, and no cheap exact rule was found.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any
import numpy as np
from siting.core.errors import InfeasibleError
from siting.core.problem import Problem
from siting.core.results import Result, TerminationCondition
from siting.core.options import SolverOptions
from siting.solvers.highs import solve_model_highs
from siting.core.errors import DefectCollector
from siting.algorithms.warehouse_heuristic import (split_allocation, dense_cost, allocation_objective, uflp_heuristic,
                                                  warehouse_heuristic, assignment_cost, guided_swaps)
from siting.algorithms.cflp_mip import build_reduced_cflp
from siting.solvers.highs import run_highs
from siting.algorithms.common import make_solve_info
from siting.model.radius import pyomo_env
from siting.algorithms.pmedian import solve_radius
from siting.model.split_plant import build_cflp_split
from siting.algorithms.warehouse_bound import warehouse_lagrangian, probe_sites


def solve_uflp(
    problem: Problem,
    *,
    options: SolverOptions = SolverOptions(),
    use_time: bool = False,
    method: str = "auto",
    max_dense_bytes: int | None = None,
) -> Result:
    """Solve the uncapacitated facility-location problem exactly. Capacities are ignored.

    On distances (the default) this is :func:`siting.algorithms.warehouse.solve_uflp_fast` (Lagrangian
    bound, reduced-cost fixing of sites, local-search warm start, then the strong model on the sites left:
    4.4x faster than this module's radius model on a generated 100 x 1,000 instance). With ``use_time`` it is
    the distinct-distance model with fixed costs, full radius, one solve. When the dense fast path's estimate
    (:func:`siting.algorithms.sparse_memory.dense_route_bytes`) exceeds ``max_dense_bytes`` (default half the
    memory available), or with ``method="sparse"``, the sparse Lagrangian route
    (:func:`siting.algorithms.sparse.solve_uflp_sparse`, certified gap) is taken instead.
    """
    from siting.algorithms.sparse_memory import choose_route  # sparse route (scale helper)

    if method == "sparse" or (method == "auto" and choose_route(
            problem.n_demand, problem.n_candidates, problem.n_pairs, None, limit_bytes=max_dense_bytes) == "sparse"):
        from siting.algorithms.sparse import solve_uflp_sparse

        return solve_uflp_sparse(problem, options=options, use_time=use_time)
    if method != "auto":
        raise ValueError(f"method must be 'auto' or 'sparse', got {method!r}")
    if not use_time:
        from siting.algorithms.warehouse import solve_uflp_fast

        return solve_uflp_fast(problem, options=options)
    pyomo_env()
    return solve_radius(problem, p=None, options=options, use_time=use_time, radius=False,
                         warm_start=False, margin_levels=0, max_rounds=1, fixed=True, model_name="uflp")


# ============================================================================================ CFLP
def solve_cflp(
    problem: Problem,
    *,
    options: SolverOptions = SolverOptions(),
    use_time: bool = False,
) -> Result:
    """Solve the capacitated facility-location problem with split demand exactly (strong formulation).

    On distances (the default) the model is solved on the sites left after Lagrangian reduced-cost fixing,
    warm-started from a local-search incumbent (:func:`siting.algorithms.warehouse.solve_cflp_fast`);
    with ``use_time`` the full strong model is solved directly.

    Returns a :class:`~siting.core.results.Result` with ``allocation`` = the served fraction ``x`` of each
    allowed pair; the objective is recomputed as ``sum f_j y_j + sum w_i d_ij x_ij`` with numpy.
    """
    from siting.algorithms.warehouse import check_feasible

    check_feasible(problem, capacitated=True)
    if not use_time:
        from siting.algorithms.warehouse import solve_cflp_fast

        return solve_cflp_fast(problem, options=options)
    pyomo_env()
    t0 = time.perf_counter()
    model = build_cflp_split(problem, use_time=use_time)
    build_s = time.perf_counter() - t0
    d = problem.impedance(use_time=use_time)
    solved = solve_model_highs(model, options=options)
    build_s += solved.compile_seconds
    if not solved.has_solution:
        info = make_solve_info(solved.termination, math.nan, solved.bound, build_s, solved.seconds, options, False)
        return Result(model="cflp", info=info, open=np.zeros(0, np.int64), allocation=np.zeros(0), params={})
    y = np.array([model.y[j].value or 0.0 for j in range(problem.n_candidates)])
    open_idx = np.flatnonzero(y > 0.5)
    x = np.clip(np.array([model.x[q].value or 0.0 for q in range(problem.n_pairs)]), 0.0, 1.0)
    x[~np.isin(problem.pair_candidate, open_idx)] = 0.0
    val = float(problem.fixed_cost_cny[open_idx].sum() + np.sum(problem.weight[problem.pair_demand] * d * x))
    proven = solved.termination is TerminationCondition.OPTIMAL
    info = make_solve_info(solved.termination, val, solved.bound, build_s, solved.seconds, options, proven, solved.solver)
    return Result(model="cflp", info=info, open=open_idx.astype(np.int64), allocation=x, params={"split": True})


#: HiGHS settings for the reduced model (``options.extra`` overrides them); see the module docstring.
WAREHOUSE_HIGHS_OPTIONS: dict[str, Any] = {}


# ============================================================================================ solver
def check_feasible(problem: Problem, *, capacitated: bool) -> None:
    """Raise :class:`InfeasibleError` listing what the data alone makes infeasible: total capacity below
    demand (``capacitated``), demands that no allowed candidate can serve."""
    found = DefectCollector(problem.source)
    usable = ~problem.forbidden
    if capacitated:
        total_cap = float(problem.capacity[usable].sum())
        if total_cap < float(problem.weight.sum()) - 1e-9:
            found.add(f"total capacity of the candidates that are not forbidden ({total_cap:g}) is less than "
                      f"total demand ({float(problem.weight.sum()):g})", column="capacity")
    reach = np.zeros(problem.n_demand, dtype=bool)
    ok_pair = usable[problem.pair_candidate]
    reach[problem.pair_demand[ok_pair]] = True
    for i in np.flatnonzero(~reach)[:20]:
        found.add("no allowed candidate can serve this demand", row=str(problem.demand_ids[i]))
    found.raise_if_any(InfeasibleError)


@dataclass
class _Fixing:
    """Sites fixed before the MIP and what proves it (see the module docstring)."""

    closed: np.ndarray
    opened: np.ndarray
    bound: float = -math.inf  # Lagrangian bound of the whole problem
    fix_bound: float = math.inf  # min over fixed sites of the bound with that site the other way
    lam: np.ndarray | None = None  # best multipliers (select the link rows of the MIP)
    restricted_bound: float = -math.inf  # bound of every solution the fixings keep

    def proven_bound(self, reduced_bound: float = -math.inf) -> float:
        """A lower bound of the whole problem, given one (``reduced_bound``) of the problem left."""
        return max(self.bound, min(max(reduced_bound, self.restricted_bound), self.fix_bound))


def _fix_sites(cost, w, f, cap, *, req, usable, best_v, best_open, gap, capacitated, params, deadline=math.inf
               ) -> tuple[float, np.ndarray, _Fixing]:
    """Lagrangian bound, a second local search from its sites, reduced-cost fixing, then probing; each phase
    stops at ``deadline`` (a ``time.perf_counter()`` value) with what it has proven so far."""
    m = cost.shape[1]
    margin = 0.5 * gap * abs(best_v)
    lam0 = w * cost[:, best_open].min(axis=1)
    lag = warehouse_lagrangian(cost, w, f, cap, upper_bound=best_v, required=req, forbidden=~usable,
                               lam0=lam0, target=best_v - margin, deadline=deadline)
    if capacitated and lag.bound < best_v - margin and time.perf_counter() <= deadline:
        th = time.perf_counter()
        v2, o2 = warehouse_heuristic(cost, w, f, cap, starts=[best_open] + lag.sites[-3:],
                                     rank=np.argsort(np.where(usable, lag.rho, np.inf), kind="stable"),
                                     required=req, usable=usable, deadline=deadline)
        if v2 < best_v:
            best_v, best_open = v2, o2
        params["heuristic2_seconds"] = round(time.perf_counter() - th, 4)
    params["heuristic_value"] = best_v
    thr = best_v - 0.5 * gap * abs(best_v)
    is_open = np.zeros(m, bool)
    is_open[best_open] = True
    flip = lag.bound + np.where(is_open, lag.delta_close, lag.delta_open)  # bound with the site flipped
    free = usable & ~req
    fix0 = free & ~is_open & (flip >= thr)
    fix1 = free & is_open & (flip >= thr)
    site_bound = np.where(fix0 | fix1, flip, np.nan)
    params.update({"lagrangian_bound": round(lag.bound, 6), "lagrangian_iterations": lag.iterations,
                   "lagrangian_seconds": round(lag.seconds, 4), "closed_by_reduced_cost": int(fix0.sum()),
                   "opened_by_reduced_cost": int(fix1.sum())})
    cand = np.flatnonzero(free & ~fix0 & ~fix1)
    lam, rbound = lag.lam, -math.inf
    if best_v > lag.bound + gap * abs(best_v) and len(cand) > 1 and time.perf_counter() <= deadline:
        cand = cand[np.argsort(-flip[cand], kind="stable")]
        rc0, rc1, probes, tp = fix0.copy(), fix1.copy(), 0, time.perf_counter()
        for rnd in range(2):  # probe; swaps guided by the probes' bounds; if they improve, probe again
            pr = probe_sites(cost, w, f, cap, lam=lam, threshold=thr, upper_bound=best_v, is_open=is_open,
                             candidates=cand, required=req | fix1, forbidden=~usable | fix0, deadline=deadline)
            fix0 |= pr.closed
            fix1 |= pr.opened
            site_bound = np.where(pr.closed | pr.opened, pr.bound, site_bound)
            lam, rbound = pr.lam, pr.restricted_bound
            probes += pr.probes
            if rnd or rbound >= thr or time.perf_counter() > deadline:
                break
            v3, o3 = guided_swaps(cost, w, f, cap, open_idx=best_open, value=best_v, score=pr.flip_bound,
                                  free=free & ~fix0 & ~fix1, deadline=deadline)
            if not v3 < best_v:
                break
            best_v, best_open = v3, o3
            params["heuristic_value"] = best_v
            thr = best_v - 0.5 * gap * abs(best_v)  # lower than before: earlier fixings stay valid
            is_open = np.zeros(m, bool)
            is_open[best_open] = True
            cand = np.flatnonzero(free & ~fix0 & ~fix1)
        params.update({"closed_by_probing": int((fix0 & ~rc0).sum()), "opened_by_probing": int((fix1 & ~rc1).sum()),
                       "probes": probes,
                       "probing_seconds": round(time.perf_counter() - tp, 4)})
    fixed = fix0 | fix1
    fb = float(np.min(site_bound[fixed])) if fixed.any() else math.inf
    return best_v, best_open, _Fixing(fix0, fix1, lag.bound, fb, lam, rbound)


def _reduced_mip(work: Problem, cost, cap, fx: _Fixing, *, best_v, best_open, options, t0, params
                 ) -> tuple[Any, np.ndarray, float, float]:
    """The model of :mod:`siting.algorithms.cflp_mip` on the sites left, warm-started from the incumbent.

    Returns ``(HiGHS run, open sites, value, bound of the reduced problem)``; the incumbent if HiGHS does
    not improve on it.
    """
    n, m = cost.shape
    w = work.weight
    if fx.lam is None:  # no multipliers: every link row (the full strong model)
        link = np.isfinite(cost)
    else:
        link = cost - (fx.lam / w)[:, None] < 0
    red = build_reduced_cflp(cost, w, work.fixed_cost_cny, cap, closed=fx.closed | work.forbidden,
                             required=work.required | fx.opened, link=link)
    x0 = None
    if math.isfinite(best_v):
        _, xa = assignment_cost(cost, w, cap, best_open)
        xd = np.zeros((n, m))
        xd[:, best_open] = xa
        x0 = red.start_vector(best_open, xd)
    remaining = None
    if options.time_limit_s is not None:
        remaining = max(options.time_limit_s - (time.perf_counter() - t0), 0.01)
    opts = replace(options, extra={**WAREHOUSE_HIGHS_OPTIONS, **options.extra})
    solved = run_highs(red.compiled, options=opts, warm_start=x0, time_limit_s=remaining, load=False)
    params["reduced_sites"] = len(red.sites)
    params["link_rows"] = red.link_rows
    open_idx, val = best_open, best_v
    if solved.has_solution and solved.objective < val:
        open_idx, _ = red.solution(solved.values, (n, m))
        val = solved.objective
    red_bound = solved.bound if math.isfinite(solved.bound) else -math.inf
    return solved, open_idx, val, red_bound


def _solve(problem: Problem, *, options: SolverOptions, capacitated: bool, fixing: bool, model_name: str
           ) -> Result:
    t0 = time.perf_counter()
    # every phase stops at the deadline with what it has: the heuristics keep their best point, the
    # Lagrangian and probing the bounds and fixings proven so far (all valid), and past it the MIP is skipped
    deadline = t0 + options.time_limit_s if options.time_limit_s is not None else math.inf
    check_feasible(problem, capacitated=capacitated)
    gap = float(options.mip_rel_gap)
    work = problem if capacitated else problem.with_options(
        capacity=np.full(problem.n_candidates, np.inf))
    cost = dense_cost(work)
    w, f, cap = work.weight, work.fixed_cost_cny, work.capacity
    req, usable = work.required, ~work.forbidden & np.isfinite(cost).any(axis=0)
    m = cost.shape[1]
    # incumbent: uncapacitated local search; capacitated, covered and valued with the transport LP (the local
    # search with capacities runs after the Lagrangian bound, ranked by its site values)
    u_v, u_open = uflp_heuristic(cost, w, f, required=req, usable=usable, deadline=deadline)
    best_v, best_open = u_v, u_open
    if capacitated:
        best_v, best_open = warehouse_heuristic(cost, w, f, cap, starts=[u_open],
                                                rank=np.argsort(np.where(usable, f, np.inf)), required=req,
                                                usable=usable, max_rounds=30 if not fixing else 0,
                                                deadline=deadline)
    params: dict[str, Any] = {"heuristic_value": best_v, "heuristic_seconds": round(time.perf_counter() - t0, 4)}
    fx = _Fixing(np.zeros(m, bool), np.zeros(m, bool))
    if fixing and math.isfinite(best_v):
        best_v, best_open, fx = _fix_sites(cost, w, f, cap, req=req, usable=usable, best_v=best_v,
                                           best_open=best_open, gap=gap, capacitated=capacitated, params=params,
                                           deadline=deadline)
        if best_v <= fx.proven_bound() + gap * abs(best_v):
            return _answer(work, cost, cap, best_open, TerminationCondition.OPTIMAL, fx.proven_bound(), True,
                           "Lagrangian bound", t0=t0, options=options, params=params, model_name=model_name)
    if time.perf_counter() > deadline:
        # no time left for the MIP: the incumbent, with the bound the Lagrangian phases proved
        params["stopped_before"] = "mip"
        return _answer(work, cost, cap, best_open if math.isfinite(best_v) else None, TerminationCondition.TIME_LIMIT,
                       fx.proven_bound(), False, "Lagrangian bound", t0=t0, options=options, params=params,
                       model_name=model_name)
    tb = time.perf_counter()
    solved, open_idx, val, red_bound = _reduced_mip(work, cost, cap, fx, best_v=best_v, best_open=best_open,
                                                    options=options, t0=t0, params=params)
    params["mip_seconds"] = round(time.perf_counter() - tb, 4)
    bound = fx.proven_bound(red_bound)
    proven = math.isfinite(val) and val <= bound + gap * abs(val) + 1e-9
    return _answer(work, cost, cap, open_idx if math.isfinite(val) else None, solved.termination, bound, proven,
                   solved.solver, t0=t0, options=options, params=params, model_name=model_name)


def _answer(work: Problem, cost: np.ndarray, cap: np.ndarray, open_idx: np.ndarray | None,
            termination: TerminationCondition, bound: float, proven: bool, solver: str, *, t0: float,
            options: SolverOptions, params: dict[str, Any], model_name: str) -> Result:
    """The result of the open sites ``open_idx`` (``None``: no solution), allocated by the transport split and
    valued exactly; a bound that is not finite is reported as NaN."""
    bound = bound if math.isfinite(bound) else math.nan
    if open_idx is None:
        info = make_solve_info(termination, math.nan, bound, 0.0, time.perf_counter() - t0, options, False, solver)
        return Result(model=model_name, info=info, open=np.zeros(0, np.int64), allocation=np.zeros(0), params=params)
    x = split_allocation(work, cost, cap, open_idx)
    info = make_solve_info(termination, allocation_objective(work, x, open_idx), bound, 0.0,
                           time.perf_counter() - t0, options, proven, solver)
    return Result(model=model_name, info=info, open=np.asarray(open_idx, np.int64), allocation=x, params=params)


def solve_cflp_fast(problem: Problem, *, options: SolverOptions = SolverOptions(), fixing: bool = True
                    ) -> Result:
    """Solve the split-demand CFLP exactly: Lagrangian bound and reduced-cost fixing, heuristic warm start,
    then the strong model on the sites left (module docstring).

    Returns a :class:`~siting.core.results.Result` as :func:`siting.algorithms.pmedian.solve_cflp` does
    (``model="cflp"``, ``allocation`` = served fraction of each allowed pair, objective recomputed with
    numpy); ``params`` adds the Lagrangian bound, the numbers of sites closed / opened by reduced costs and
    the heuristic's value.
    """
    return _solve(problem, options=options, capacitated=True, fixing=fixing, model_name="cflp")


def solve_uflp_fast(problem: Problem, *, options: SolverOptions = SolverOptions(), fixing: bool = True
                    ) -> Result:
    """Solve the uncapacitated problem (capacities ignored) exactly, as :func:`solve_cflp_fast` with
    :math:`c = \\infty`; ``model="uflp"``, allocation = nearest open site."""
    return _solve(problem, options=options, capacitated=False, fixing=fixing, model_name="uflp")
