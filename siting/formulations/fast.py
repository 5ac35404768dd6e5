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
:class:`~siting.formulations._matrix.MatrixRows` component built from numpy index arrays in one call (no
per-row Python). :func:`~siting.formulations._highs.compile_model` reads those arrays directly and passes the
matrix to HiGHS (``highspy``) in one call, with a warm start (``setSolution``); the solution is loaded back
into the Pyomo variables. Radius rounds only add rows and columns: :func:`raise_radius` adds them to the Pyomo
model as a new block and :func:`~siting.formulations._highs.extend_compiled` appends them to the matrix, so
nothing is rebuilt. Objectives returned are recomputed from the solution with numpy.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..errors import InfeasibleError
from ..problem import Problem
from ..results import Result, SolutionStatus, SolveInfo, TerminationCondition
from ..solve import SolverOptions, relative_gap
from ._highs import compile_model, extend_compiled, run_highs, solve_model_highs
from ._matrix import extend_objective, linear_expression, linear_objective, matrix_rows

__all__ = [
    "Levels",
    "dense_costs",
    "distance_levels",
    "pmedian_heuristic",
    "pmedian_lagrangian",
    "Lagrangian",
    "build_compact",
    "raise_radius",
    "build_cflp_split",
    "PMEDIAN_HIGHS_OPTIONS",
    "compile_model",
    "run_highs",
    "solve_model_highs",
    "solve_pmedian",
    "solve_uflp",
    "solve_cflp",
    "assignment_from_open",
]

_INT_TOL = 1e-9

#: HiGHS settings for the p-median rounds (``options.extra`` overrides them). Our own heuristics supply the
#: incumbent, so HiGHS's sub-MIP heuristics are off; a small cut pool and no restarts: measured on pmed16,
#: pmed17 and a generated n = 900, p = 90 instance, 1.1x to 2.3x faster than HiGHS's defaults.
PMEDIAN_HIGHS_OPTIONS: dict[str, Any] = {
    "mip_heuristic_effort": 0.0,
    "mip_pool_soft_limit": 50,
    "mip_allow_restart": False,
}
_TRACE = bool(__import__('os').environ.get('SITING_FAST_TRACE'))


# ============================================================================================ data
def dense_costs(problem: Problem, *, use_time: bool = False) -> np.ndarray:
    """Dense ``(n, m)`` per-unit cost matrix; ``inf`` where the pair is not allowed or the candidate is
    forbidden."""
    d = np.full((problem.n_demand, problem.n_candidates), np.inf)
    d[problem.pair_demand, problem.pair_candidate] = problem.impedance(use_time=use_time)
    if problem.forbidden.any():
        d[:, problem.forbidden] = np.inf
    return d


@dataclass(frozen=True)
class Levels:
    """Distinct-distance levels of every demand.

    Attributes
    ----------
    order : (n, m) int64, candidates of each demand sorted by distance (allowed ones first); (n, m') when
        built on a subset of m' columns
    n_levels : (n,) int64, ``K_i`` (number of distinct distances)
    flat : (sum K_i,) float64, all ``D_ik`` row after row; ``offset`` (n + 1,) the start of each row
    start : (sum K_i,) int64, aligned with ``flat``: position in ``order[i]`` of the first candidate at that
        distance (level ``k`` of row ``i`` is ``order[i, start[offset[i] + k] : end]``)
    n_allowed : (n,) int64, allowed candidates of each demand (``order[i, :n_allowed[i]]``)
    """

    order: np.ndarray
    n_levels: np.ndarray
    flat: np.ndarray
    offset: np.ndarray
    start: np.ndarray
    n_allowed: np.ndarray

    @property
    def value(self) -> list[np.ndarray]:
        """The distinct distances ``D_ik`` of each demand, one array per row."""
        return np.split(self.flat, self.offset[1:-1])

    @property
    def level(self) -> np.ndarray:
        """(n, m) level index of ``order[i, r]`` within row ``i`` (``-1`` when not allowed)."""
        n, w = self.order.shape
        marks = np.zeros((n, w), dtype=np.int64)
        marks[np.repeat(np.arange(n), self.n_levels), self.start] = 1
        lev = np.cumsum(marks, axis=1) - 1
        lev[np.arange(w)[None, :] >= self.n_allowed[:, None]] = -1
        return lev

    def level_at(self, i: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Level of the candidate at sorted position ``pos[k]`` (``< n_allowed``) of row ``i[k]``."""
        i = np.asarray(i, dtype=np.int64)
        sub_off = np.concatenate([[0], np.cumsum(self.n_levels[i])])
        starts = self.start[_prefix_index(np.append(self.offset[i], 0), self.n_levels[i])]
        return _row_count_below(starts, sub_off, np.asarray(pos, dtype=np.int64) + 1) - 1

    def entries(self, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every (row ``i``, sorted position ``r``, level ``k``) with ``lo[i] <= k < hi[i]``, row by row in
        ascending position; O(entries), no pass over the whole (n, m) matrix."""
        lo = np.asarray(lo, dtype=np.int64)
        hi = np.maximum(np.asarray(hi, dtype=np.int64), lo)
        n = len(self.n_levels)
        end = np.empty_like(self.start)  # one past the last position of each level
        end[:-1] = self.start[1:]
        if len(end):
            last = self.offset[1:] - 1
            has = self.n_levels > 0
            end[last[has]] = self.n_allowed[has]
        lvl_count = hi - lo
        fl = _prefix_index(np.append(self.offset[:-1] + lo, 0), lvl_count)  # flat level ids, row by row
        f_row = np.repeat(np.arange(n), lvl_count)
        width = end[fl] - self.start[fl]
        ii = np.repeat(f_row, width)
        kk = np.repeat(fl - self.offset[f_row], width)
        first = np.repeat(self.start[fl], width)
        rr = first + (np.arange(len(ii)) - np.repeat(np.cumsum(width) - width, width))
        return ii, rr, kk

    def level_of(self, i: np.ndarray, dist: np.ndarray) -> np.ndarray:
        """Level index of distance ``dist[k]`` in row ``i[k]`` (the first level ``>= dist``), by a vectorised
        binary search over :attr:`flat`."""
        i = np.asarray(i, dtype=np.int64)
        x = np.asarray(dist, dtype=np.float64)
        thr = x - 1e-9 * np.maximum(1.0, np.abs(x))
        lo = self.offset[i]
        a, b = lo.copy(), self.offset[i + 1].copy()
        last = max(len(self.flat) - 1, 0)
        while True:
            active = a < b
            if not active.any():
                return a - lo
            mid = (a + b) // 2
            right = active & (self.flat[np.minimum(mid, last)] < thr)
            a = np.where(right, mid + 1, a)
            b = np.where(active & ~right, mid, b)


def distance_levels(cost: np.ndarray, *, columns: np.ndarray | None = None) -> Levels:
    """Sorted distinct distances of each row of a dense cost matrix (``inf`` = not allowed).

    With ``columns`` only those candidate columns are considered (the others must be ``inf``): ``order``
    and ``level`` then have ``len(columns)`` columns, ``order`` holding the original candidate indices.
    """
    sub = cost if columns is None else cost[:, columns]
    keys = _radix_keys(sub)
    # the order among equal distances is irrelevant (they share a level): small whole numbers are sorted by
    # numpy's radix sort (its stable sort on 16-bit keys, ~5x faster), anything else by the unstable sort
    if keys is None:
        order = np.argsort(sub, axis=1)
        ds = np.take_along_axis(sub, order, axis=1)
        finite = np.isfinite(ds)
    else:  # the sorted keys are the distances (65535 = not allowed): gather 2-byte keys, not 8-byte floats
        order = np.argsort(keys, axis=1, kind="stable")
        ds = np.take_along_axis(keys, order, axis=1)
        finite = ds != 65535
    if columns is not None:
        order = np.asarray(columns)[order]
    new = finite.copy()
    new[:, 1:] &= ds[:, 1:] != ds[:, :-1]
    n_levels = new.sum(axis=1).astype(np.int64)
    offset = np.concatenate([[0], np.cumsum(n_levels)])
    start = np.flatnonzero(new) % max(new.shape[1], 1)  # row-major, so aligned with flat
    flat = ds[new].astype(np.float64)  # row-major: grouped by demand, ascending within each
    return Levels(order=order, n_levels=n_levels, flat=flat, offset=offset, start=start,
                  n_allowed=finite.sum(axis=1).astype(np.int64))


def _radix_keys(sub: np.ndarray) -> np.ndarray | None:
    """``sub`` as ``uint16`` sort keys (``inf`` -> 65535) when every finite entry is a whole number in
    [0, 65535); ``None`` otherwise. The keys sort exactly like ``sub``."""
    finite = np.isfinite(sub)
    if sub.size == 0 or not finite.any():
        return None
    if sub.min(where=finite, initial=np.inf) < 0 or sub.max(where=finite, initial=-np.inf) >= 65535:
        return None
    full = np.where(finite, sub, 65535.0)
    keys = full.astype(np.uint16)
    return keys if np.array_equal(keys, full) else None


def _levels_top(problem: Problem, lv: Levels) -> np.ndarray:
    """``K_i - 1`` (the last level) of every demand; raises :class:`InfeasibleError` naming the demands with
    no allowed candidate at all."""
    top = lv.n_levels - 1
    if np.any(top < 0):
        bad = np.flatnonzero(top < 0)
        raise InfeasibleError(
            [f"demand {problem.demand_ids[i]} has no allowed (non-forbidden) candidate" for i in bad[:20]]
        )
    return top


def _is_integral(*arrays: np.ndarray) -> bool:
    for a in arrays:
        a = a[np.isfinite(a)]
        if a.size and np.max(np.abs(a - np.round(a))) > _INT_TOL:
            return False
    return True


# ============================================================================================ heuristic
def _nearest_two(cost: np.ndarray, open_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sub = cost[:, open_idx]
    if sub.shape[1] == 1:
        return sub[:, 0].copy(), np.full(cost.shape[0], np.inf), np.zeros(cost.shape[0], dtype=np.int64)
    two = np.argpartition(sub, 1, axis=1)[:, :2]
    a = np.take_along_axis(sub, two, axis=1)
    swap = a[:, 1] < a[:, 0]
    first = np.where(swap, two[:, 1], two[:, 0])
    d1 = np.where(swap, a[:, 1], a[:, 0])
    d2 = np.where(swap, a[:, 0], a[:, 1])
    return d1, d2, first


def pmedian_heuristic(
    cost: np.ndarray,
    weight: np.ndarray,
    p: int,
    *,
    required: np.ndarray | None = None,
    forbidden: np.ndarray | None = None,
    start: np.ndarray | None = None,
    max_swaps: int = 10_000,
) -> np.ndarray:
    """Greedy construction then best-improvement vertex substitution (Teitz & Bart, with Whitaker's fast
    swap evaluation), vectorised with numpy.

    ``start`` (candidate indices) replaces the greedy start (topped up greedily to ``p``; required ones are
    always added). Returns the sorted open candidate indices (``p`` of them). Large finite penalties stand in for ``inf``
    so that partial coverage still ranks sensibly.
    """
    n, m = cost.shape
    big = 10.0 * (np.nanmax(np.where(np.isfinite(cost), cost, 0.0)) + 1.0) * max(n, 1)
    c = np.where(np.isfinite(cost), cost, big)
    w = np.asarray(weight, dtype=np.float64)
    allowed = np.ones(m, dtype=bool) if forbidden is None else ~np.asarray(forbidden, bool)
    req = np.zeros(m, dtype=bool) if required is None else np.asarray(required, bool)
    is_open = req.copy()
    if start is not None:
        st = np.asarray(start, dtype=np.int64)
        st = st[allowed[st] & ~req[st]]  # keep the caller's order (best first)
        _, first = np.unique(st, return_index=True)
        st = st[np.sort(first)]
        is_open[st[: max(p - int(req.sum()), 0)]] = True
    best = c[:, is_open].min(axis=1) if is_open.any() else np.full(n, big * 10)
    while is_open.sum() < p:
        gain = w @ np.maximum(best[:, None] - c, 0.0)
        gain[is_open | ~allowed] = -1.0
        j = int(np.argmax(gain))
        is_open[j] = True
        best = np.minimum(best, c[:, j])
    # best-improvement swaps
    for _ in range(max_swaps):
        open_idx = np.flatnonzero(is_open)
        d1, d2, f1 = _nearest_two(c, open_idx)
        cur = w @ d1
        closer = np.minimum(c, d1[:, None])  # (n, m)
        a = w @ (closer - d1[:, None])  # gain of inserting j, none removed (<= 0)
        extra = w[:, None] * (np.minimum(c, d2[:, None]) - closer)  # loss if i's nearest is removed
        onehot = np.zeros((n, len(open_idx)))
        onehot[np.arange(n), f1] = 1.0
        b = extra.T @ onehot  # (m, q): loss of removing open_idx[r] when inserting j
        delta = a[:, None] + b
        delta[is_open | ~allowed, :] = np.inf
        delta[:, req[open_idx]] = np.inf
        j, r = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if not delta[j, r] < -1e-9 * max(abs(cur), 1.0):
            break
        is_open[open_idx[r]] = False
        is_open[j] = True
    return np.flatnonzero(is_open)


@dataclass(frozen=True)
class Lagrangian:
    """Lagrangian bound of the p-median and what it proves.

    Attributes
    ----------
    bound : the best Lagrangian value (a valid lower bound of the p-median optimum)
    reduced_cost : (m,) extra cost, over ``bound``, of forcing a candidate that the best subproblem left
        closed to open (``0`` for the ones it opened, ``inf`` for forbidden ones): opening ``j`` costs at
        least ``bound + reduced_cost[j]``
    best_open, best_value : the best p-median solution met among the subproblems' choices
    iterations, seconds
    """

    bound: float
    reduced_cost: np.ndarray
    best_open: np.ndarray | None
    best_value: float
    iterations: int
    seconds: float


def _row_count_below(flat: np.ndarray, off: np.ndarray, x: np.ndarray) -> np.ndarray:
    """For each row ``i`` (ascending ``flat[off[i]:off[i+1]]``), how many entries are ``< x[i]``
    (vectorised binary search)."""
    lo, hi = off[:-1].copy(), off[1:].copy()
    last = max(len(flat) - 1, 0)
    while True:
        active = lo < hi
        if not active.any():
            return lo - off[:-1]
        mid = (lo + hi) // 2
        left = active & (flat[np.minimum(mid, last)] < x)
        lo = np.where(left, mid + 1, lo)
        hi = np.where(active & ~left, mid, hi)


def _prefix_index(off: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Flat indices ``off[i] + r`` for ``r < k[i]``, all rows (no Python loop)."""
    total = int(k.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(off[:-1] - np.concatenate([[0], np.cumsum(k)[:-1]]), k)
    return starts + np.arange(total)


def pmedian_lagrangian(
    cost: np.ndarray,
    weight: np.ndarray,
    p: int,
    *,
    upper_bound: float,
    required: np.ndarray | None = None,
    forbidden: np.ndarray | None = None,
    start: np.ndarray | None = None,
    max_iter: int = 400,
    patience: int = 20,
    target: float | None = None,
) -> Lagrangian:
    r"""Lagrangian relaxation of the assignment rows, by subgradient optimisation (Beasley 1993), vectorised.

    Relaxing :math:`\sum_j x_{ij} = 1` with multipliers :math:`\lambda_i` leaves

    .. math::

        L(\lambda) = \sum_i \lambda_i + \min_{|S| = p} \sum_{j \in S} \rho_j, \qquad
        \rho_j = \sum_i \min(0,\, w_i d_{ij} - \lambda_i),

    solved by taking the ``p`` smallest :math:`\rho_j` (required candidates always, forbidden never). Every
    :math:`L(\lambda)` is a lower bound; its maximum equals the LP bound (the subproblem has the integrality
    property). Forcing a candidate :math:`j \notin S` open costs at least :math:`\rho_j - \max_{k \in S}\rho_k`
    more, which is what reduced-cost fixing uses. Multipliers start at each demand's cost in the incumbent
    (``start``), or its nearest cost; the step is Polyak's, :math:`\theta (UB - L)/\|g\|^2`, with
    :math:`\theta` halved after ``patience`` iterations without a better bound; it stops at ``max_iter``,
    when :math:`\theta < 10^{-4}`, or when the bound reaches ``target``.
    """
    t0 = time.perf_counter()
    n, m = cost.shape
    w = np.asarray(weight, dtype=np.float64)
    closed = np.zeros(m, bool) if forbidden is None else np.asarray(forbidden, bool)
    req = np.zeros(m, bool) if required is None else np.asarray(required, bool)
    free = ~closed & ~req
    k_free = p - int(req.sum())
    # every row's allowed costs w_i d_ij in ascending order, flattened: only the prefix below lambda_i
    # counts in rho, so an iteration costs O(that prefix), not O(n m)
    order = np.argsort(cost, axis=1)
    srt = np.take_along_axis(cost, order, axis=1)
    finite = np.isfinite(srt)
    counts = finite.sum(axis=1)
    off = np.concatenate([[0], np.cumsum(counts)])
    flat_c = (w[:, None] * srt)[finite]
    flat_j = order[finite]
    flat_i = np.repeat(np.arange(n), counts)
    if start is not None:
        lam = (w[:, None] * cost[:, np.asarray(start)]).min(axis=1)
    else:
        lam = flat_c[off[:-1]] if len(flat_c) else np.zeros(n)
    lam = np.where(np.isfinite(lam), lam, 0.0)
    best = -math.inf
    best_rc = np.zeros(m)
    best_open: np.ndarray | None = None
    best_value = math.inf
    theta, stall, it = 2.0, 0, 0
    ub = float(upper_bound)
    while it < max_iter and theta > 1e-4:
        it += 1
        k = _row_count_below(flat_c, off, lam)  # entries with w_i d_ij < lambda_i in each row
        idx = _prefix_index(off, k)
        contrib = flat_c[idx] - lam[flat_i[idx]]  # < 0
        rho = np.bincount(flat_j[idx], weights=contrib, minlength=m)
        rho_f = np.where(free, rho, np.inf)
        if k_free > 0:
            pick = np.argpartition(rho_f, k_free - 1)[:k_free]
            sel = np.concatenate([np.flatnonzero(req), pick])
            worst = float(rho_f[pick].max())
        else:
            sel = np.flatnonzero(req)
            worst = math.inf
        value = float(lam.sum() + rho[sel].sum())
        if it % 10 == 1:  # the subproblem's choice is a p-median solution too (checked now and then)
            v_sel = float(w @ cost[:, sel].min(axis=1))
            if v_sel < best_value:
                best_value, best_open = v_sel, np.sort(sel)
                ub = min(ub, v_sel)
        if value > best + 1e-9 * max(1.0, abs(value)):
            best, stall = value, 0
            rc = np.where(free, rho - worst, np.inf) if k_free > 0 else np.where(free, np.inf, 0.0)
            rc[sel] = 0.0
            best_rc = np.maximum(rc, 0.0)
            if target is not None and best >= target:
                break
        else:
            stall += 1
            if stall >= patience:
                theta, stall = theta / 2.0, 0
        # subgradient of the relaxed rows: 1 - (number of chosen candidates that would serve i)
        chosen = np.zeros(m, dtype=bool)
        chosen[sel] = True
        g = 1.0 - np.bincount(flat_i[idx], weights=chosen[flat_j[idx]].astype(float), minlength=n)
        norm = float(g @ g)
        if norm == 0.0:  # the subproblem's choice is feasible and complementary: L = its value, optimal
            break
        lam = np.maximum(lam + theta * max(ub - value, 1e-9 * max(1.0, abs(ub))) / norm * g, 0.0)
    return Lagrangian(bound=best, reduced_cost=best_rc, best_open=best_open, best_value=best_value,
                      iterations=it, seconds=time.perf_counter() - t0)


# ============================================================================================ Pyomo models
def _pyo():
    import highspy  # noqa: F401  (imported here, outside timed sections)
    import pyomo.environ as pyo
    from pyomo.repn.plugins import standard_form  # noqa: F401  (imported here, outside timed sections)

    from . import _matrix

    _matrix.MatrixRows  # noqa: B018  (creates the component class outside timed sections)
    return pyo


@dataclass
class _Compact:
    """State of a compact model that grows by radius (what the solve loop needs besides the Pyomo model).

    ``g[i]`` is demand ``i``'s radius level and ``n_rows[i]`` its number of level rows (``g[i]``, plus the
    coverage row once ``g[i]`` is the last level); z variable ``t`` (in ``zvars``, all blocks in order) stands
    for demand ``z_demand[t]`` at level ``z_level[t]``, distance ``z_value[t]``.
    """

    g: np.ndarray
    n_rows: np.ndarray
    last_z: np.ndarray  # (n,) position in zvars of z_{i, g_i - 1}; -1 when g_i = 0
    zvars: list[Any]
    z_demand: np.ndarray
    z_level: np.ndarray
    z_value: np.ndarray
    constant: float
    blocks: int = 0


def build_compact(
    problem: Problem,
    *,
    p: int | None,
    radius_level: np.ndarray | None = None,
    cost: np.ndarray | None = None,
    levels: Levels | None = None,
    use_fixed_costs: bool = False,
) -> tuple[Any, _Compact]:
    """Build the chained distinct-distance model (module docstring) as a Pyomo ``ConcreteModel``.

    Parameters
    ----------
    problem
        The instance; pairs, weights, required/forbidden candidates and (with ``use_fixed_costs``) fixed
        costs are used.
    p
        Number of facilities (p-median); ``None`` for UFLP (free number, fixed costs).
    radius_level
        ``G_i`` per demand (0-based level index): cost capped at ``D_{iG_i}``; ``None`` or ``K_i - 1`` = exact
        with the coverage row.
    cost, levels
        Precomputed :func:`dense_costs` and :func:`distance_levels` (computed when omitted).
    use_fixed_costs
        Add ``sum_j f_j y_j`` to the objective.

    Returns
    -------
    (model, maps)
        ``model.y[j]`` (binary, every candidate; forbidden fixed at 0, required at 1), ``model.z[t]``,
        ``model.level[r]`` rows (one :class:`~siting.formulations._matrix.MatrixRows` component),
        ``model.cardinality`` (p-median) and ``model.obj``. :func:`raise_radius` adds levels later.
    """
    pyo = _pyo()
    c = dense_costs(problem) if cost is None else cost
    lv = distance_levels(c) if levels is None else levels
    n, m = c.shape
    top = _levels_top(problem, lv)
    g = top.copy() if radius_level is None else np.minimum(np.asarray(radius_level, np.int64), top)
    model = pyo.ConcreteModel(name="compact-radius")
    model.y = pyo.Var(range(m), domain=pyo.Binary)
    y = list(model.y.values())
    for j in np.flatnonzero(problem.forbidden).tolist():
        y[j].fix(0)
    for j in np.flatnonzero(problem.required).tolist():
        y[j].fix(1)
    if p is not None:
        model.cardinality = matrix_rows(np.zeros(m), np.arange(m), 1.0, y, n_rows=1, lower=p, upper=p)
    constant = float(problem.weight @ lv.flat[lv.offset[:-1]])  # every demand pays its nearest distance
    fixed = problem.fixed_cost_cny if use_fixed_costs else np.zeros(m)
    linear_objective(model, fixed, y, constant)
    empty = np.zeros(0, dtype=np.int64)
    maps = _Compact(g=np.zeros(n, dtype=np.int64), n_rows=np.zeros(n, dtype=np.int64),
                    last_z=np.full(n, -1, dtype=np.int64), zvars=[], z_demand=empty, z_level=empty,
                    z_value=np.zeros(0), constant=constant)
    raise_radius(model, maps, g, problem=problem, levels=lv)
    return model, maps


def raise_radius(model: Any, maps: _Compact, radius_level: np.ndarray, *, problem: Problem, levels: Levels
                 ) -> tuple[list[Any], np.ndarray, list[Any]]:
    """Raise the radius levels of a compact model in place (never lowers them).

    The chained rows only ever gain rows and z variables when a radius grows (existing rows and objective
    coefficients stay as they are), so the new levels go into one new block: ``model.z`` / ``model.level``
    for the first call, ``model.z_<b>`` / ``model.level_<b>`` after; the objective gains their terms.

    Returns
    -------
    (blocks, z_cost, new_z)
        The new ``MatrixRows`` component (as a list), the objective coefficients of the new z variables and
        those variables, for :func:`~siting.formulations._highs.extend_compiled`.
    """
    pyo = _pyo()
    lv = levels
    n, m = len(lv.n_levels), len(model.y)
    top = lv.n_levels - 1
    g_new = np.maximum(np.minimum(np.asarray(radius_level, np.int64), top), maps.g)
    rows_new = g_new + (g_new == top)
    add_rows = rows_new - maps.n_rows
    add_z = g_new - maps.g
    b = maps.blocks
    suffix = "" if b == 0 else f"_{b}"
    # new z variables: demand i gets levels g_i .. g_new_i - 1, contiguous after the existing ones
    n_new = int(add_z.sum())
    zoff = np.concatenate([[0], np.cumsum(add_z)])
    z_dem = np.repeat(np.arange(n), add_z)
    z_lvl = maps.g[z_dem] + (np.arange(n_new) - zoff[z_dem])
    z_val = lv.flat[lv.offset[z_dem] + z_lvl]
    z_cost = problem.weight[z_dem] * (lv.flat[lv.offset[z_dem] + z_lvl + 1] - z_val)
    zcomp = pyo.Var(range(n_new), domain=pyo.NonNegativeReals)
    model.add_component("z" + suffix, zcomp)
    new_z = list(zcomp.values())
    # rows: demand i gets levels n_rows_i .. rows_new_i - 1
    n_add = int(add_rows.sum())
    roff = np.concatenate([[0], np.cumsum(add_rows)])
    r_dem = np.repeat(np.arange(n), add_rows)
    r_lvl = maps.n_rows[r_dem] + (np.arange(n_add) - roff[r_dem])
    ii, rr, kk = lv.entries(maps.n_rows, rows_new)
    y_row = roff[ii] + kk - maps.n_rows[ii]
    y_col = lv.order[ii, rr]
    # columns of this block: y (0..m-1), the previous last z of the demands that grow (m..), new z (after)
    grow = np.flatnonzero((add_rows > 0) & (maps.last_z >= 0))
    old_col = np.full(n, -1, dtype=np.int64)
    old_col[grow] = m + np.arange(len(grow))
    base = m + len(grow)
    zr = np.flatnonzero(r_lvl < g_new[r_dem])  # rows with their own z
    z_col = base + zoff[r_dem[zr]] + (r_lvl[zr] - maps.g[r_dem[zr]])
    pr = np.flatnonzero(r_lvl > 0)  # rows with the previous level's z
    prev_lvl = r_lvl[pr] - 1
    prev_is_old = prev_lvl < maps.g[r_dem[pr]]
    p_col = np.where(prev_is_old, old_col[r_dem[pr]], base + zoff[r_dem[pr]] + (prev_lvl - maps.g[r_dem[pr]]))
    x = list(model.y.values()) + [maps.zvars[t] for t in maps.last_z[grow].tolist()] + new_z
    rows = np.concatenate([y_row, zr, pr])
    cols = np.concatenate([y_col, z_col, p_col])
    coefs = np.concatenate([np.ones(len(y_row) + len(zr)), -np.ones(len(pr))])
    block = matrix_rows(rows, cols, coefs, x, n_rows=n_add, lower=(r_lvl == 0).astype(float))
    model.add_component("level" + suffix, block)
    if n_new:
        extend_objective(model, z_cost, new_z)
    # bookkeeping
    start = len(maps.zvars)
    maps.zvars.extend(new_z)
    has = add_z > 0
    maps.last_z[has] = start + zoff[1:][has] - 1
    maps.z_demand = np.concatenate([maps.z_demand, z_dem])
    maps.z_level = np.concatenate([maps.z_level, z_lvl])
    maps.z_value = np.concatenate([maps.z_value, z_val])
    maps.g, maps.n_rows, maps.blocks = g_new, rows_new, b + 1
    return [block], z_cost, new_z


def build_cflp_split(problem: Problem, *, use_time: bool = False) -> Any:
    """The strong split-demand CFLP model (module docstring) over the allowed pairs, as a Pyomo model.

    ``model.y[j]`` binary per candidate, ``model.x[q]`` in [0, 1] per allowed pair ``q`` (aligned with
    ``problem.pair_demand``); rows ``assign``, ``link``, ``capacity`` (finite capacities only) and
    ``total_capacity``.
    """
    pyo = _pyo()
    n, m, k = problem.n_demand, problem.n_candidates, problem.n_pairs
    pi, pj = problem.pair_demand, problem.pair_candidate
    w = problem.weight
    d = problem.impedance(use_time=use_time)
    cap = problem.capacity
    model = pyo.ConcreteModel(name="cflp-split")
    model.y = pyo.Var(range(m), domain=pyo.Binary)
    model.x = pyo.Var(range(k), bounds=(0.0, 1.0))
    y = list(model.y.values())
    x = list(model.x.values())
    for j in np.flatnonzero(problem.forbidden).tolist():
        y[j].fix(0)
    for j in np.flatnonzero(problem.required).tolist():
        y[j].fix(1)
    yx = y + x  # columns: y = 0..m-1, x = m..m+k-1
    q = np.arange(k)
    model.assign = matrix_rows(pi, m + q, 1.0, yx, n_rows=n, lower=1.0, upper=1.0)
    model.link = matrix_rows(np.r_[q, q], np.r_[m + q, pj], np.r_[np.ones(k), -np.ones(k)], yx, n_rows=k,
                             upper=0.0)
    finite = np.flatnonzero(np.isfinite(cap))
    if len(finite):
        row_of = np.full(m, -1)
        row_of[finite] = np.arange(len(finite))
        qq = q[row_of[pj] >= 0]
        model.capacity = matrix_rows(np.r_[row_of[pj[qq]], np.arange(len(finite))], np.r_[m + qq, finite],
                                     np.r_[w[pi[qq]], -cap[finite]], yx, n_rows=len(finite), upper=0.0)
    if len(finite) == m:
        model.total_capacity = matrix_rows(np.zeros(m), np.arange(m), cap, y, n_rows=1, lower=float(w.sum()))
    obj = np.concatenate([problem.fixed_cost_cny, w[pi] * d])
    model.obj = pyo.Objective(expr=linear_expression(obj, yx), sense=pyo.minimize)
    return model


# ============================================================================================ solutions
def assignment_from_open(problem: Problem, open_idx: np.ndarray, *, cost: np.ndarray | None = None
                         ) -> tuple[np.ndarray, np.ndarray]:
    """Serve every demand from its nearest open candidate (ties: lowest index).

    Returns ``(allocation aligned with problem pairs, distance of each demand)`` (``inf`` when a demand has
    no open candidate in its allowed pairs; its allocation stays 0).
    """
    c = dense_costs(problem) if cost is None else cost
    n, m = c.shape
    sub = c[:, open_idx]
    k = np.argmin(sub, axis=1)
    dist = sub[np.arange(n), k]
    j = np.asarray(open_idx)[k]
    key = problem.pair_demand * m + problem.pair_candidate
    q = np.searchsorted(key, np.arange(n) * m + j)
    ok = np.isfinite(dist)
    alloc = np.zeros(problem.n_pairs)
    alloc[q[ok]] = 1.0
    return alloc, dist


def _objective(problem: Problem, open_idx: np.ndarray, dist: np.ndarray, *, fixed: bool) -> float:
    val = float(problem.weight @ dist)
    if fixed:
        val += float(problem.fixed_cost_cny[open_idx].sum())
    return val


def _improve_from(problem: Problem, cost: np.ndarray, p: int, start: np.ndarray, *, fixed: bool,
                  best_val: float, best_open: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Local search (greedy + vertex substitution) from ``start``; keep it if it beats the incumbent.

    Returns ``(best_val, best_open, seconds spent in the heuristic)``.
    """
    th = time.perf_counter()
    cand = pmedian_heuristic(cost, problem.weight, p, required=problem.required,
                             forbidden=problem.forbidden, start=start)
    seconds = time.perf_counter() - th
    _, dist_c = assignment_from_open(problem, cand, cost=cost)
    val_c = _objective(problem, cand, dist_c, fixed=fixed)
    if val_c < best_val - 1e-9 * max(1.0, abs(val_c)):
        return val_c, cand, seconds
    return best_val, best_open, seconds


def _info(term: TerminationCondition, objective: float, bound: float, build_s: float, solve_s: float,
          options: SolverOptions, proven: bool, solver: str = "highs") -> SolveInfo:
    has = math.isfinite(objective)
    status = SolutionStatus.NO_SOLUTION if not has else (
        SolutionStatus.OPTIMAL if proven else SolutionStatus.FEASIBLE)
    if has and proven:
        term = TerminationCondition.OPTIMAL
        gap = 0.0 if abs(objective - bound) <= max(options.mip_rel_gap * abs(objective), 1e-9) else \
            relative_gap(objective, bound)
    else:
        if term is TerminationCondition.OPTIMAL:
            # "optimal" is a certificate: without a proven incumbent it is not one (the caller names the
            # reason; this keeps termination and status consistent whatever it passed)
            term = TerminationCondition.UNKNOWN if not has else TerminationCondition.ITERATION_LIMIT
        gap = relative_gap(objective, bound)
    return SolveInfo(termination=term, status=status, objective=objective, bound=bound, gap=gap,
                     build_seconds=build_s, solve_seconds=solve_s, sense="min", solver=solver,
                     options=options.to_dict())


# ============================================================================================ p-median / UFLP
def _check_p(problem: Problem, p: int) -> None:
    from ..errors import DefectCollector

    found = DefectCollector(problem.source)
    allowed = int((~problem.forbidden).sum())
    n_req = int(problem.required.sum())
    if p < 1:
        found.add(f"p must be >= 1, got {p}", column="p")
    if p > allowed:
        found.add(f"p = {p} is larger than the {allowed} candidates that are not forbidden", column="p")
    if n_req > p:
        found.add(f"{n_req} candidates are required but p = {p}", column="p")
    found.raise_if_any(InfeasibleError)


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
) -> Result:
    """Solve the p-median problem exactly with the radius formulation (module docstring).

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
    _check_p(problem, p)
    _pyo()  # import outside the timings
    options = replace(options, extra={**PMEDIAN_HIGHS_OPTIONS, **options.extra})
    return _solve_radius(problem, p=p, options=options, use_time=use_time, radius=radius,
                         warm_start=warm_start, margin_levels=margin_levels, max_rounds=max_rounds,
                         fixed=False, model_name="p-median", lagrangian=lagrangian,
                         lp_extend=lp_extend)


def solve_uflp(
    problem: Problem,
    *,
    options: SolverOptions = SolverOptions(),
    use_time: bool = False,
) -> Result:
    """Solve the uncapacitated facility-location problem exactly. Capacities are ignored.

    On distances (the default) this is :func:`siting.formulations._warehouse.solve_uflp_fast` (Lagrangian
    bound, reduced-cost fixing of sites, local-search warm start, then the strong model on the sites left:
    4.4x faster than this module's radius model on a generated 100 x 1,000 instance). With ``use_time`` it is
    the distinct-distance model with fixed costs, full radius, one solve.
    """
    if not use_time:
        from ._warehouse import solve_uflp_fast

        return solve_uflp_fast(problem, options=options)
    _pyo()
    return _solve_radius(problem, p=None, options=options, use_time=use_time, radius=False,
                         warm_start=False, margin_levels=0, max_rounds=1, fixed=True, model_name="uflp")


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


def _lagrangian_fixing(problem: Problem, cost: np.ndarray, p: int, best_val: float, best_open: np.ndarray,
                       integral: bool) -> tuple[Lagrangian, np.ndarray]:
    """Lagrangian bound and the candidates it closes: those whose forced opening costs more than the
    incumbent (or at least the incumbent less one, for integral data); never one of the incumbent's."""
    margin = 1.0 - 1e-6 if integral else 1e-9 * max(1.0, abs(best_val))
    lag = pmedian_lagrangian(cost, problem.weight, p, upper_bound=best_val, required=problem.required,
                             forbidden=problem.forbidden, start=best_open, target=best_val - margin)
    fix0 = (lag.bound + lag.reduced_cost > best_val - margin) & ~problem.forbidden & ~problem.required
    fix0[best_open] = False
    return lag, fix0


def _solve_radius(
    problem: Problem, *, p: int | None, options: SolverOptions, use_time: bool, radius: bool,
    warm_start: bool, margin_levels: int, max_rounds: int, fixed: bool, model_name: str,
    lp_first: bool = True, lagrangian: bool = True, lp_extend: int = 0,
) -> Result:
    from pyomo.common.gc_manager import PauseGC

    t_start = time.perf_counter()
    cost = dense_costs(problem, use_time=use_time)
    lv = distance_levels(cost)
    n, m = cost.shape
    top = _levels_top(problem, lv)
    cap_level = _cap_levels(problem, cost, lv, p)
    # every finite cost is one of the rows' distinct distances (lv.flat), a fraction of the dense matrix
    integral = _is_integral(problem.weight, lv.flat, problem.fixed_cost_cny if fixed else np.zeros(1))
    abs_gap = 1.0 - 1e-6 if integral else None
    prep_s = time.perf_counter() - t_start  # data preparation counts as model construction

    best_open: np.ndarray | None = None
    best_val = math.inf
    th = time.perf_counter()
    if warm_start and p is not None:
        best_open = pmedian_heuristic(cost, problem.weight, p, required=problem.required,
                                      forbidden=problem.forbidden)
        _, dist_h = assignment_from_open(problem, best_open, cost=cost)
        best_val = _objective(problem, best_open, dist_h, fixed=fixed)
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
                best_val, best_open, hs = _improve_from(problem, cost, p, start, fixed=fixed,
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
                lag, fix0 = _lagrangian_fixing(problem, cost, p, best_val, best_open, integral)
                heuristic_s += lag.seconds
                lagr = {"lagrangian_bound": round(lag.bound, 6), "lagrangian_iterations": lag.iterations,
                        "closed_by_reduced_cost": int(fix0.sum())}
                if lag.best_value < best_val and lag.best_open is not None:
                    best_val, best_open, hs = _improve_from(problem, cost, p, lag.best_open, fixed=fixed,
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
        val = _objective(problem, open_idx, dist, fixed=fixed)
        if val < best_val - 1e-9 * max(1.0, abs(val)):
            best_val, best_open = val, open_idx
        if term is not TerminationCondition.OPTIMAL:
            break
        if p is not None and best_val > bound + max(options.mip_rel_gap * abs(best_val), 1e-9):
            # the relaxation's optimum is a good start for local search on the true objective
            best_val, best_open, hs = _improve_from(problem, cost, p, open_idx, fixed=fixed,
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
        info = _info(term, math.nan, bound, build_s, solve_s + heuristic_s, options, False)
        return Result(model=model_name, info=info, open=np.zeros(0, np.int64), allocation=np.zeros(0),
                      params={"p": p, "rounds": rounds})
    alloc, dist = assignment_from_open(problem, best_open, cost=cost)
    val = _objective(problem, best_open, dist, fixed=fixed)
    # after reduced-cost fixing, bounds of the restricted model bound only the solutions better than the
    # incumbent; the optimum itself is bounded by min(incumbent, that bound)
    bound = min(bound, val)
    info = _info(term, val, bound if math.isfinite(bound) else math.nan, build_s, solve_s + heuristic_s,
                 options, proven, solver)
    return Result(
        model=model_name,
        info=info,
        open=np.asarray(best_open, dtype=np.int64),
        allocation=alloc,
        params={"p": p, "rounds": rounds, "sizes": sizes, "heuristic_seconds": round(heuristic_s, 4),
                "integral_objective": integral, **lagr},
    )


def _extend_by_lp(model: Any, maps: _Compact, comp: Any, g: np.ndarray, cap_level: np.ndarray, *,
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


def _warm_values(model: Any, maps: _Compact, open_idx: np.ndarray, cost: np.ndarray
                 ) -> list[tuple[Any, float]]:
    y_open = np.zeros(cost.shape[1])
    y_open[open_idx] = 1.0
    d = cost[:, open_idx].min(axis=1)
    z_on = d[maps.z_demand] > maps.z_value + 1e-9 * np.maximum(1.0, np.abs(maps.z_value))
    ws = [(model.y[j], float(y_open[j])) for j in range(cost.shape[1])]
    ws.extend((maps.zvars[t], 1.0) for t in np.flatnonzero(z_on).tolist())
    return ws


# ============================================================================================ CFLP
def solve_cflp(
    problem: Problem,
    *,
    options: SolverOptions = SolverOptions(),
    use_time: bool = False,
) -> Result:
    """Solve the capacitated facility-location problem with split demand exactly (strong formulation).

    On distances (the default) the model is solved on the sites left after Lagrangian reduced-cost fixing,
    warm-started from a local-search incumbent (:func:`siting.formulations._warehouse.solve_cflp_fast`);
    with ``use_time`` the full strong model is solved directly.

    Returns a :class:`~siting.results.Result` with ``allocation`` = the served fraction ``x`` of each
    allowed pair; the objective is recomputed as ``sum f_j y_j + sum w_i d_ij x_ij`` with numpy.
    """
    from ._warehouse import check_feasible

    check_feasible(problem, capacitated=True)
    if not use_time:
        from ._warehouse import solve_cflp_fast

        return solve_cflp_fast(problem, options=options)
    _pyo()
    t0 = time.perf_counter()
    model = build_cflp_split(problem, use_time=use_time)
    build_s = time.perf_counter() - t0
    d = problem.impedance(use_time=use_time)
    solved = solve_model_highs(model, options=options)
    build_s += solved.compile_seconds
    if not solved.has_solution:
        info = _info(solved.termination, math.nan, solved.bound, build_s, solved.seconds, options, False)
        return Result(model="cflp", info=info, open=np.zeros(0, np.int64), allocation=np.zeros(0), params={})
    y = np.array([model.y[j].value or 0.0 for j in range(problem.n_candidates)])
    open_idx = np.flatnonzero(y > 0.5)
    x = np.clip(np.array([model.x[q].value or 0.0 for q in range(problem.n_pairs)]), 0.0, 1.0)
    x[~np.isin(problem.pair_candidate, open_idx)] = 0.0
    val = float(problem.fixed_cost_cny[open_idx].sum() + np.sum(problem.weight[problem.pair_demand] * d * x))
    proven = solved.termination is TerminationCondition.OPTIMAL
    info = _info(solved.termination, val, solved.bound, build_s, solved.seconds, options, proven, solved.solver)
    return Result(model="cflp", info=info, open=open_idx.astype(np.int64), allocation=x, params={"split": True})
