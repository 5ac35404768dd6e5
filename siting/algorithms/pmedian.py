r"""Fast exact formulations for p-median, UFLP and CFLP (split demand), with a matrix-level HiGHS driver.

:func:`solve_pmedian` chooses between Benders decomposition (:mod:`siting.algorithms.benders`) and the
radius formulation below (solved by :mod:`siting.algorithms.radius`) by problem shape
(:func:`choose_pmedian_method`). UFLP uses the radius formulation.

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

from dataclasses import replace
from typing import Any

from siting.algorithms.common import check_p
from siting.algorithms.radius import solve_radius
from siting.algorithms.sparse_memory import choose_route
from siting.core.options import SolverOptions
from siting.core.problem import Problem
from siting.core.results import Result
from siting.model.radius import pyomo_env

__all__ = ["PMEDIAN_HIGHS_OPTIONS", "choose_pmedian_method", "solve_pmedian", "solve_radius"]


#: HiGHS settings for the p-median rounds (``options.extra`` overrides them). Our own heuristics supply the
#: incumbent, so HiGHS's sub-MIP heuristics are off; a small cut pool and no restarts: measured on pmed16,
#: pmed17 and a generated n = 900, p = 90 instance, 1.1x to 2.3x faster than HiGHS's defaults.
PMEDIAN_HIGHS_OPTIONS: dict[str, Any] = {
    "mip_heuristic_effort": 0.0,
    "mip_pool_soft_limit": 50,
    "mip_allow_restart": False,
}


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
    max_dense_bytes: int | None = None,
) -> Result:
    """Solve the p-median problem exactly, by Benders decomposition or the radius formulation.

    ``method="auto"`` picks by problem shape (:func:`choose_pmedian_method`): Benders decomposition of
    Elloumi's formulation (:func:`~siting.algorithms.benders.solve_pmedian_benders`) with our own
    branch-and-Benders-cut tree, which measured faster than the radius formulation (module docstring) on
    every shape tried. ``"radius"`` / ``"benders"`` force one. Both hold ``(n, m)`` arrays: when
    their estimate (:func:`siting.algorithms.sparse_memory.dense_route_bytes`) exceeds ``max_dense_bytes``
    (default half the memory available), or with ``method="sparse"``, the sparse Lagrangian route
    (:func:`siting.algorithms.sparse.solve_pmedian_sparse`) is taken instead: a certified bound and gap,
    optimal only when the gap closes to ``options.mip_rel_gap``.

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
    # --- sparse route (scale helper): when the dense routes' (n, m) arrays would not fit
    if method == "sparse" or (method == "auto" and choose_route(
            problem.n_demand, problem.n_candidates, problem.n_pairs, p, limit_bytes=max_dense_bytes) == "sparse"):
        from siting.algorithms.sparse import solve_pmedian_sparse

        return solve_pmedian_sparse(problem, p=p, options=options, use_time=use_time)
    # --- end sparse route
    chosen = choose_pmedian_method(problem, p) if method == "auto" else method
    if chosen == "benders":
        from siting.algorithms.benders import solve_pmedian_benders

        return solve_pmedian_benders(problem, p=p, options=options, use_time=use_time)
    if chosen != "radius":
        raise ValueError(f"method must be 'auto', 'radius', 'benders' or 'sparse', got {method!r}")
    pyomo_env()  # import outside the timings
    options = replace(options, extra={**PMEDIAN_HIGHS_OPTIONS, **options.extra})
    return solve_radius(problem, p=p, options=options, use_time=use_time, radius=radius,
                         warm_start=warm_start, margin_levels=margin_levels, max_rounds=max_rounds,
                         fixed=False, model_name="p-median", lagrangian=lagrangian,
                         lp_extend=lp_extend)


def choose_pmedian_method(problem: Problem, p: int) -> str:
    """``"benders"`` or ``"radius"`` for :func:`solve_pmedian` with ``method="auto"``.

    Rule, from ``benchmarks/bench_pmedian.py`` run side by side (both methods, same run): Benders with our
    own branch-and-Benders-cut tree (:mod:`~siting.algorithms.benders_tree`) everywhere. Before the tree,
    the radius method won for ``6 <= p <= 15`` (pmed17 (400, 10) 4.6 s against 8.2 s); with it Benders
    takes pmed17 in 0.5 s, pmed12 (300, 10) in 0.13 s (radius 2.3 s) and generated (600, 10) in 8.9 s
    (radius 37 s). The radius method stays available as ``method="radius"``.
    """
    return "benders"
