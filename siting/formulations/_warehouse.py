r"""Faster exact warehouse location (UFLP and split-demand CFLP): Lagrangian bound, reduced-cost fixing of
sites, a heuristic incumbent, then the strong model on the sites left, warm-started.

Model (the strong split-demand formulation of :mod:`siting.formulations.fast`; uncapacitated: :math:`c_j =
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

Incumbent. Sites of the Lagrangian subproblems are topped up to cover :math:`W`, and the split-demand
assignment to an open set (a transportation LP; for :math:`c = \infty` each customer's nearest open site)
gives a feasible value; a drop / add / swap local search over the most promising sites improves it. The best
point goes to HiGHS as a warm start (``setSolution``).

Customer-site pairs are not dropped: with split demand and binding capacities a customer may be served from
a far site, and no cheap exact rule was found (see the benchmark report).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DefectCollector, InfeasibleError
from ..problem import Problem
from ..results import Result, TerminationCondition
from ..solve import SolverOptions
from ._highs import LpArrays, _new_highs, pass_arrays

__all__ = [
    "WarehouseLagrangian",
    "warehouse_lagrangian",
    "assignment_cost",
    "warehouse_heuristic",
    "uflp_heuristic",
    "solve_cflp_fast",
    "solve_uflp_fast",
    "check_feasible",
    "WAREHOUSE_HIGHS_OPTIONS",
]

#: HiGHS settings for the reduced model (``options.extra`` overrides them); see the module docstring.
WAREHOUSE_HIGHS_OPTIONS: dict[str, Any] = {}


# ============================================================================================ assignment
def _dense(problem: Problem) -> np.ndarray:
    """Per-unit cost ``(n, m)``, ``inf`` for pairs that are not allowed or forbidden sites."""
    d = np.full((problem.n_demand, problem.n_candidates), np.inf)
    d[problem.pair_demand, problem.pair_candidate] = problem.distance_km
    d[:, problem.forbidden] = np.inf
    return d


def assignment_cost(cost: np.ndarray, weight: np.ndarray, capacity: np.ndarray, open_idx: np.ndarray
                    ) -> tuple[float, np.ndarray | None]:
    r"""Cheapest split-demand assignment of all customers to the open sites (transport cost only).

    Uncapacitated open sites (all :math:`c_j = \infty`): each customer to its nearest open site. Otherwise the
    transportation LP :math:`\min \sum w_i d_{ij} x_{ij}` s.t. :math:`\sum_j x_{ij} = 1`, :math:`\sum_i w_i
    x_{ij} \le c_j`, :math:`x \ge 0` over the open sites, solved by HiGHS.

    Returns
    -------
    (value, x)
        ``x`` is ``(n, len(open_idx))``; ``(inf, None)`` when infeasible (a customer with no allowed open
        site, or not enough capacity).
    """
    open_idx = np.asarray(open_idx, dtype=np.int64)
    sub = cost[:, open_idx]
    n, q = sub.shape
    if q == 0:
        return math.inf, None
    cap = capacity[open_idx]
    if np.all(np.isinf(cap)):
        k = np.argmin(sub, axis=1)
        dist = sub[np.arange(n), k]
        if not np.all(np.isfinite(dist)):
            return math.inf, None
        x = np.zeros((n, q))
        x[np.arange(n), k] = 1.0
        return float(weight @ dist), x
    if cap.sum() < weight.sum() * (1 - 1e-12):
        return math.inf, None
    import highspy
    import scipy.sparse as sp

    ok = np.isfinite(sub)
    ii, jj = np.nonzero(ok)
    nv = len(ii)
    inf = highspy.kHighsInf
    fin = np.isfinite(cap)
    crow = np.cumsum(fin) - 1  # capacity row of each finite-capacity open site
    sel = fin[jj]
    rows = np.concatenate([ii, n + crow[jj[sel]]])
    cols = np.concatenate([np.arange(nv), np.flatnonzero(sel)])
    vals = np.concatenate([np.ones(nv), weight[ii[sel]]])
    nrow = n + int(fin.sum())
    a = sp.csc_matrix((vals, (rows, cols)), shape=(nrow, nv))
    data = LpArrays(col_cost=weight[ii] * sub[ii, jj], col_lower=np.zeros(nv), col_upper=np.full(nv, inf),
                    row_lower=np.concatenate([np.ones(n), np.full(nrow - n, -inf)]),
                    row_upper=np.concatenate([np.ones(n), cap[fin]]), a_start=a.indptr.astype(np.int32),
                    a_index=a.indices.astype(np.int32), a_value=a.data.astype(np.float64), offset=0.0)
    h = _new_highs(highspy)  # without HiGHS's start-up banner on stdout (JSON lines may be written there)
    h.setOptionValue("output_flag", False)
    # no "threads" option: HiGHS keeps one thread scheduler per process and answers "unknown" (no solution)
    # to a solve asking for a thread count other than the earlier solves'
    pass_arrays(h, data)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return math.inf, None
    v = np.clip(np.asarray(h.getSolution().col_value), 0.0, 1.0)
    x = np.zeros((n, q))
    x[ii, jj] = v
    return float(np.sum(weight[:, None] * np.where(ok, sub, 0.0) * x)), x


# ============================================================================================ Lagrangian
@dataclass(frozen=True)
class WarehouseLagrangian:
    """Lagrangian bound of the warehouse problem and what it proves (module docstring).

    Attributes
    ----------
    bound : best Lagrangian value, a lower bound of the optimum
    delta_open, delta_close : (m,) at the best multipliers, forcing site ``j`` open (closed) costs at least
        ``bound + delta_open[j]`` (``bound + delta_close[j]``); 0 where that is the subproblem's own choice
    rho : (m,) the site values :math:`\rho_j` at the best multipliers
    lam : (n,) the best multipliers
    sites : list of site sets chosen by the subproblems (candidates for the heuristic)
    iterations, seconds
    """

    bound: float
    delta_open: np.ndarray
    delta_close: np.ndarray
    rho: np.ndarray
    lam: np.ndarray
    sites: list[np.ndarray]
    iterations: int
    seconds: float


def _site_values(cost: np.ndarray, weight: np.ndarray, fixed: np.ndarray, capacity: np.ndarray,
                 lam: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``rho`` (m,) and the knapsack solutions ``x`` (n, m) of every usable site (continuous knapsack)."""
    n, m = cost.shape
    r = cost - (lam / weight)[:, None]  # per-unit reduced cost, inf where not allowed
    x = np.zeros((n, m))
    rho = np.full(m, np.inf)
    cols = np.flatnonzero(usable)
    if len(cols) == 0:
        return rho, x
    rs = r[:, cols]
    neg = rs < 0
    cap = capacity[cols]
    unc = np.isinf(cap)
    xs = neg.astype(np.float64)
    if (~unc).any():
        cc = np.flatnonzero(~unc)
        sub = np.where(neg[:, cc], rs[:, cc], np.inf)
        order = np.argsort(sub, axis=0, kind="stable")
        ws = weight[order]
        cum = np.cumsum(ws, axis=0)
        frac = np.clip((cap[cc][None, :] - (cum - ws)) / ws, 0.0, 1.0)
        frac[~np.isfinite(np.take_along_axis(sub, order, axis=0))] = 0.0
        xc = np.zeros_like(frac)
        np.put_along_axis(xc, order, frac, axis=0)
        xs[:, cc] = xc
    x[:, cols] = xs
    val = (np.where(xs > 0, rs, 0.0) * weight[:, None] * xs).sum(axis=0)
    rho[cols] = fixed[cols] + val
    return rho, x


def _site_problem(rho: np.ndarray, capacity: np.ndarray, total: float, required: np.ndarray,
                  usable: np.ndarray) -> tuple[np.ndarray, float, np.ndarray, np.ndarray]:
    """Solve the site problem of :math:`L(\\lambda)` (module docstring).

    Returns ``(chosen mask, value, delta_open, delta_close)``; ``value = inf`` when no choice covers ``W``.
    """
    m = len(rho)
    free = usable & ~required
    need = total - float(capacity[required].sum())
    dopen = np.zeros(m)
    dclose = np.zeros(m)
    chosen = required.copy()
    if need <= 0 or np.all(np.isinf(capacity[free])):
        # no covering constraint left (or any one uncapacitated free site covers it): open the negative ones
        unc_free = free & np.isinf(capacity)
        if need > 0 and not (free & (rho < 0) & unc_free).any():
            # one uncapacitated site must open: the cheapest one (covering by one site)
            if not unc_free.any():
                return chosen, math.inf, dopen, dclose
            k = int(np.flatnonzero(unc_free)[np.argmin(rho[unc_free])])
            chosen[k] = True
            chosen |= free & (rho < 0)
            val = float(rho[chosen].sum())
            pos = free & ~chosen
            dopen[pos] = rho[pos]
            # closing k forces the next cheapest uncapacitated site in
            other = unc_free & ~chosen
            alt = float(rho[other].min()) if other.any() else math.inf
            dclose[k] = alt - rho[k]
            neg = free & chosen
            neg[k] = False
            dclose[neg] = -rho[neg]
            return chosen, val, dopen, dclose
        neg = free & (rho < 0)
        chosen |= neg
        val = float(rho[chosen].sum())
        dopen[free & ~neg] = rho[free & ~neg]
        dclose[neg] = -rho[neg]
        return chosen, val, dopen, dclose
    cf = capacity[free]
    if np.all(cf == cf[0]) and np.isfinite(cf[0]) and cf[0] > 0:
        # cardinality: at least K free sites
        k_need = math.ceil(need / cf[0] - 1e-12)
        idx = np.flatnonzero(free)
        if k_need > len(idx):
            return chosen, math.inf, dopen, dclose
        srt = idx[np.argsort(rho[idx], kind="stable")]
        nneg = int((rho[srt] < 0).sum())
        take = srt[: max(k_need, nneg)]
        chosen[take] = True
        val = float(rho[chosen].sum())
        rest = srt[len(take):]
        tight = len(take) == k_need
        worst = float(rho[take].max()) if len(take) else 0.0
        dopen[rest] = rho[rest] - (max(0.0, worst) if tight else 0.0)
        nxt = float(rho[rest].min()) if len(rest) else math.inf
        dclose[take] = (nxt - rho[take]) if tight else -rho[take]
        return chosen, val, np.maximum(dopen, 0.0), np.maximum(dclose, 0.0)
    # general capacities: LP relaxation of the covering knapsack (greedy by rho / c)
    idx = np.flatnonzero(free)
    neg = idx[rho[idx] < 0]
    got = float(capacity[neg].sum())
    chosen[neg] = True
    mu = 0.0
    val_lp = float(rho[chosen].sum())
    if got < need:
        pos = idx[rho[idx] >= 0]
        if capacity[pos].sum() + got < need:
            return chosen, math.inf, dopen, dclose
        ratio = rho[pos] / capacity[pos]
        o = pos[np.argsort(ratio, kind="stable")]
        cum = got + np.cumsum(capacity[o])
        last = int(np.searchsorted(cum, need - 1e-9))
        full = o[:last]
        chosen[full] = True
        j = o[last]
        before = got + float(capacity[full].sum())
        frac = (need - before) / capacity[j]
        mu = rho[j] / capacity[j]
        val_lp = float(rho[chosen].sum()) + frac * float(rho[j])
        if frac >= 1 - 1e-12:
            chosen[j] = True
    r = rho - mu * capacity
    dopen[free] = np.maximum(r[free], 0.0)
    dclose[free] = np.maximum(-r[free], 0.0)
    return chosen, val_lp, dopen, dclose


def warehouse_lagrangian(
    cost: np.ndarray,
    weight: np.ndarray,
    fixed: np.ndarray,
    capacity: np.ndarray,
    *,
    upper_bound: float,
    required: np.ndarray | None = None,
    forbidden: np.ndarray | None = None,
    lam0: np.ndarray | None = None,
    max_iter: int = 300,
    patience: int = 15,
    target: float | None = None,
) -> WarehouseLagrangian:
    r"""Maximise :math:`L(\lambda)` (module docstring) by subgradient optimisation.

    Subgradient of the relaxed rows: :math:`g_i = 1 - \sum_{j \in S} x_{ij}`; step
    :math:`\theta (U - L)/\|g\|^2`, :math:`\theta` halved after ``patience`` iterations without a better
    bound; stops at ``max_iter``, :math:`\theta < 10^{-4}`, :math:`g = 0`, or when the bound reaches
    ``target``. ``lam0`` defaults to each customer's cost at its nearest site.
    """
    t0 = time.perf_counter()
    n, m = cost.shape
    w = np.asarray(weight, dtype=np.float64)
    req = np.zeros(m, bool) if required is None else np.asarray(required, bool)
    usable = np.isfinite(cost).any(axis=0)
    if forbidden is not None:
        usable &= ~np.asarray(forbidden, bool)
    total = float(w.sum())
    if lam0 is None:
        lam = w * np.min(cost, axis=1)
    else:
        lam = np.asarray(lam0, dtype=np.float64).copy()
    best = -math.inf
    out = (np.zeros(m), np.zeros(m), np.zeros(m), lam.copy())
    sites: list[np.ndarray] = []
    theta, stall, it = 2.0, 0, 0
    ub = float(upper_bound)
    while it < max_iter and theta > 1e-4:
        it += 1
        rho, x = _site_values(cost, w, fixed, capacity, lam, usable)
        chosen, sval, dopen, dclose = _site_problem(rho, capacity, total, req, usable)
        if not math.isfinite(sval):
            break
        value = float(lam.sum()) + sval
        if it % 5 == 1:
            sites.append(np.flatnonzero(chosen))
        if value > best + 1e-12 * max(1.0, abs(value)):
            best, stall = value, 0
            out = (dopen, dclose, rho, lam.copy())
            if target is not None and best >= target:
                break
        else:
            stall += 1
            if stall >= patience:
                theta, stall = theta / 2.0, 0
        g = 1.0 - x[:, chosen].sum(axis=1)
        norm = float(g @ g)
        if norm < 1e-18:
            break
        lam = lam + theta * max(ub - value, 1e-9 * max(1.0, abs(ub))) / norm * g
    sites.append(np.flatnonzero(chosen) if it else np.zeros(0, np.int64))
    return WarehouseLagrangian(bound=best, delta_open=out[0], delta_close=out[1], rho=out[2], lam=out[3],
                               sites=sites, iterations=it, seconds=time.perf_counter() - t0)


# ============================================================================================ heuristic
def uflp_heuristic(cost: np.ndarray, weight: np.ndarray, fixed: np.ndarray, *, required: np.ndarray,
                   usable: np.ndarray, max_moves: int = 10_000) -> tuple[float, np.ndarray]:
    r"""Uncapacitated local search, vectorised: greedy add (largest saving
    :math:`\sum_i w_i \max(0, d_i - d_{ij}) - f_j` while positive), then best-improvement add / drop / swap
    moves (Whitaker's swap evaluation with each customer's nearest and second-nearest open site) until none
    improves. Returns ``(value, open sites)`` (``inf`` if some customer cannot be served).
    """
    n, m = cost.shape
    big = 10.0 * (np.max(np.where(np.isfinite(cost), cost, 0.0)) + 1.0) * max(n, 1)
    c = np.where(np.isfinite(cost), cost, big)
    w = np.asarray(weight, dtype=np.float64)
    ok = usable.copy()
    is_open = required.copy()
    if not is_open.any():
        tot = w @ np.where(ok[None, :], c, np.inf) + fixed
        is_open[int(np.argmin(tot))] = True
    best = c[:, is_open].min(axis=1)
    while True:
        gain = w @ np.maximum(best[:, None] - c, 0.0) - fixed
        gain[is_open | ~ok] = -np.inf
        j = int(np.argmax(gain))
        if not gain[j] > 1e-9:
            break
        is_open[j] = True
        best = np.minimum(best, c[:, j])
    for _ in range(max_moves):
        oi = np.flatnonzero(is_open)
        sub = c[:, oi]
        if len(oi) > 1:
            two = np.argpartition(sub, 1, axis=1)[:, :2]
            a2 = np.take_along_axis(sub, two, axis=1)
            sw = a2[:, 1] < a2[:, 0]
            f1 = np.where(sw, two[:, 1], two[:, 0])
            d1 = np.where(sw, a2[:, 1], a2[:, 0])
            d2 = np.where(sw, a2[:, 0], a2[:, 1])
        else:
            f1 = np.zeros(n, np.int64)
            d1 = sub[:, 0]
            d2 = np.full(n, big * 10)
        closer = np.minimum(c, d1[:, None])
        add = w @ (closer - d1[:, None]) + fixed  # delta of opening j
        add[is_open | ~ok] = np.inf
        onehot = np.zeros((n, len(oi)))
        onehot[np.arange(n), f1] = 1.0
        drop = (w * (d2 - d1)) @ onehot - fixed[oi]  # delta of closing oi[r]
        drop[required[oi]] = np.inf
        extra = w[:, None] * (np.minimum(c, d2[:, None]) - closer)
        swap = add[:, None] + extra.T @ onehot - fixed[oi][None, :]
        swap[:, required[oi]] = np.inf
        moves = [float(add.min()), float(drop.min()) if len(oi) > 1 else np.inf, float(swap.min())]
        k = int(np.argmin(moves))
        cur = float(w @ d1 + fixed[oi].sum())
        if not moves[k] < -1e-9 * max(abs(cur), 1.0):
            break
        if k == 0:
            is_open[int(np.argmin(add))] = True
        elif k == 1:
            is_open[oi[int(np.argmin(drop))]] = False
        else:
            j, r = np.unravel_index(int(np.argmin(swap)), swap.shape)
            is_open[oi[r]] = False
            is_open[j] = True
    oi = np.flatnonzero(is_open)
    d = cost[:, oi].min(axis=1)
    return (float(w @ d + fixed[oi].sum()) if np.all(np.isfinite(d)) else math.inf), oi


def _value(cost, w, fixed, capacity, open_idx) -> tuple[float, np.ndarray | None]:
    v, x = assignment_cost(cost, w, capacity, open_idx)
    return v + float(fixed[open_idx].sum()), x


def _cover(open_mask: np.ndarray, order: np.ndarray, capacity: np.ndarray, total: float) -> np.ndarray:
    """``open_mask`` topped up, in ``order``, until the open capacity covers ``total``."""
    mask = open_mask.copy()
    for j in order.tolist():
        if capacity[mask].sum() >= total:
            break
        mask[j] = True
    return mask


def warehouse_heuristic(
    cost: np.ndarray, weight: np.ndarray, fixed: np.ndarray, capacity: np.ndarray, *,
    starts: list[np.ndarray], rank: np.ndarray, required: np.ndarray, usable: np.ndarray,
    n_try: int = 8, max_rounds: int = 30,
) -> tuple[float, np.ndarray]:
    """Best of ``starts`` (site sets, topped up to cover demand by ``rank``, cheapest first), then drop / add /
    swap local search, first improvement, over the ``n_try`` best-ranked closed sites and all open ones.

    Returns ``(value, open sites)``; ``(inf, empty)`` if nothing feasible was found.
    """
    m = cost.shape[1]
    total = float(weight.sum())
    order = np.array([j for j in rank.tolist() if usable[j]], dtype=np.int64)
    best_v, best = math.inf, np.zeros(0, np.int64)
    seen: dict[bytes, float] = {}

    def val(mask: np.ndarray) -> float:
        key = np.packbits(mask).tobytes()
        if key not in seen:
            seen[key] = _value(cost, weight, fixed, capacity, np.flatnonzero(mask))[0]
        return seen[key]

    for s in starts:
        mask = np.zeros(m, bool)
        mask[s] = True
        mask &= usable
        mask |= required
        mask = _cover(mask, order, capacity, total)
        v = val(mask)
        if v < best_v:
            best_v, best = v, mask
    if not math.isfinite(best_v):
        return best_v, np.zeros(0, np.int64)
    mask = best
    for _ in range(max_rounds):
        improved = False
        opened = np.flatnonzero(mask & ~required)
        closed = [j for j in order.tolist() if not mask[j]][:n_try]
        moves: list[tuple[int, int]] = [(j, -1) for j in opened] + [(-1, k) for k in closed]
        moves += [(j, k) for j in opened for k in closed[: max(2, n_try // 2)]]
        for j, k in moves:
            cand = mask.copy()
            if j >= 0:
                cand[j] = False
            if k >= 0:
                cand[k] = True
            if capacity[cand].sum() < total:
                continue
            v = val(cand)
            if v < best_v - 1e-9 * max(1.0, abs(best_v)):
                best_v, mask, improved = v, cand, True
                break
        if not improved:
            break
    return best_v, np.flatnonzero(mask)


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


def _solve(problem: Problem, *, options: SolverOptions, capacitated: bool, fixing: bool, model_name: str
           ) -> Result:
    from .fast import _info, _pyo, build_cflp_split
    from ._highs import compile_model, run_highs

    check_feasible(problem, capacitated=capacitated)
    _pyo()
    t0 = time.perf_counter()
    gap = float(options.mip_rel_gap)
    work = problem if capacitated else problem.with_options(
        capacity=np.full(problem.n_candidates, np.inf))
    cost = _dense(work)
    w, f, cap = work.weight, work.fixed_cost_cny, work.capacity
    req, usable = work.required, ~work.forbidden & np.isfinite(cost).any(axis=0)
    m = cost.shape[1]
    # incumbent: uncapacitated local search, then (capacitated) covered and improved with the transport LP
    u_v, u_open = uflp_heuristic(cost, w, f, required=req, usable=usable)
    if capacitated:
        best_v, best_open = warehouse_heuristic(cost, w, f, cap, starts=[u_open],
                                                rank=np.argsort(np.where(usable, f, np.inf)), required=req,
                                                usable=usable)
    else:
        best_v, best_open = u_v, u_open
    heur_s = time.perf_counter() - t0
    params: dict[str, Any] = {"heuristic_value": best_v, "heuristic_seconds": round(heur_s, 4)}
    bound = -math.inf
    fix0 = np.zeros(m, bool)
    fix1 = np.zeros(m, bool)
    fix_bound = math.inf
    if fixing and math.isfinite(best_v):
        margin = 0.5 * gap * abs(best_v)
        lam0 = w * cost[:, best_open].min(axis=1)
        lag = warehouse_lagrangian(cost, w, f, cap, upper_bound=best_v, required=req, forbidden=~usable,
                                   lam0=lam0, target=best_v - margin)
        if capacitated and lag.bound < best_v - margin:
            th = time.perf_counter()
            v2, o2 = warehouse_heuristic(cost, w, f, cap, starts=[best_open] + lag.sites[-3:],
                                         rank=np.argsort(np.where(usable, lag.rho, np.inf), kind="stable"),
                                         required=req, usable=usable)
            if v2 < best_v:
                best_v, best_open = v2, o2
            params["heuristic2_seconds"] = round(time.perf_counter() - th, 4)
        params["heuristic_value"] = best_v
        margin = 0.5 * gap * abs(best_v)
        bound = lag.bound
        thr = best_v - margin
        is_open = np.zeros(m, bool)
        is_open[best_open] = True
        fix0 = usable & ~req & (lag.bound + lag.delta_open >= thr) & ~is_open
        fix1 = usable & ~req & (lag.bound + lag.delta_close >= thr) & is_open
        fixed_mask = fix0 | fix1
        if fixed_mask.any():
            fix_bound = float(np.min(lag.bound + np.where(fix0, lag.delta_open, lag.delta_close)[fixed_mask]))
        params.update({"lagrangian_bound": round(lag.bound, 6), "lagrangian_iterations": lag.iterations,
                       "lagrangian_seconds": round(lag.seconds, 4), "closed_by_reduced_cost": int(fix0.sum()),
                       "opened_by_reduced_cost": int(fix1.sum())})
        if best_v <= bound + gap * abs(best_v):
            x = _alloc(work, cost, cap, best_open)
            info = _info(TerminationCondition.OPTIMAL, _obj(work, x, best_open), bound, 0.0,
                         time.perf_counter() - t0, options, True, "Lagrangian bound")
            return Result(model=model_name, info=info, open=best_open, allocation=x, params=params)
    # the strong model on the sites left (closed ones forbidden, opened ones required), warm-started
    tb = time.perf_counter()
    red = work.with_closed(fix0).with_options(required=work.required | fix1)
    model = build_cflp_split(red)
    comp = compile_model(model)
    build_s = time.perf_counter() - tb
    x0 = None
    if math.isfinite(best_v):
        col_of = comp.column_index()
        x0 = np.zeros(len(comp.columns))
        xa = _alloc(red, cost, cap, best_open)
        for j in best_open.tolist():
            k = col_of.get(id(model.y[j]))
            if k is not None:
                x0[k] = 1.0
        for q in np.flatnonzero(xa > 0).tolist():
            k = col_of.get(id(model.x[q]))
            if k is not None:
                x0[k] = xa[q]
    remaining = None
    if options.time_limit_s is not None:
        remaining = max(options.time_limit_s - (time.perf_counter() - t0), 0.01)
    from dataclasses import replace

    opts = replace(options, extra={**WAREHOUSE_HIGHS_OPTIONS, **options.extra})
    solved = run_highs(comp, options=opts, warm_start=x0, time_limit_s=remaining)
    params["reduced_sites"] = int((~red.forbidden).sum())
    term = solved.termination
    open_idx, val = best_open, best_v
    if solved.has_solution:
        y = np.array([model.y[j].value or 0.0 for j in range(m)])
        cand = np.flatnonzero(y > 0.5)
        xs = np.clip(np.array([model.x[q].value or 0.0 for q in range(red.n_pairs)]), 0.0, 1.0)
        xs[~np.isin(red.pair_candidate, cand)] = 0.0
        v = _obj(red, xs, cand)
        if v < val:
            open_idx, val = cand, v
    red_bound = solved.bound if math.isfinite(solved.bound) else -math.inf
    bound = max(bound, min(red_bound, fix_bound))
    proven = math.isfinite(val) and val <= bound + gap * abs(val) + 1e-9
    if not math.isfinite(val):
        info = _info(term, math.nan, bound if math.isfinite(bound) else math.nan, build_s,
                     time.perf_counter() - t0 - build_s, options, False, solved.solver)
        return Result(model=model_name, info=info, open=np.zeros(0, np.int64), allocation=np.zeros(0),
                      params=params)
    x = _alloc(work, cost, cap, open_idx)
    val = _obj(work, x, open_idx)
    info = _info(term, val, bound if math.isfinite(bound) else math.nan, build_s,
                 time.perf_counter() - t0 - build_s, options, proven, solved.solver)
    return Result(model=model_name, info=info, open=np.asarray(open_idx, np.int64), allocation=x, params=params)


def _alloc(problem: Problem, cost: np.ndarray, cap: np.ndarray, open_idx: np.ndarray) -> np.ndarray:
    """Optimal split-demand allocation to ``open_idx``, aligned with the problem's pairs."""
    _, xd = assignment_cost(cost, problem.weight, cap, open_idx)
    if xd is None:
        from ..errors import SolverError

        raise SolverError(f"{problem.source}: no split-demand assignment to the chosen open sites was found "
                          "(the transportation LP failed); re-run, or report this as a bug")
    dense = np.zeros(cost.shape)
    dense[:, open_idx] = xd
    return dense[problem.pair_demand, problem.pair_candidate]


def _obj(problem: Problem, x: np.ndarray, open_idx: np.ndarray) -> float:
    return float(problem.fixed_cost_cny[open_idx].sum()
                 + np.sum(problem.weight[problem.pair_demand] * problem.distance_km * x))


def solve_cflp_fast(problem: Problem, *, options: SolverOptions = SolverOptions(), fixing: bool = True
                    ) -> Result:
    """Solve the split-demand CFLP exactly: Lagrangian bound and reduced-cost fixing, heuristic warm start,
    then the strong model on the sites left (module docstring).

    Returns a :class:`~siting.results.Result` as :func:`siting.formulations.fast.solve_cflp` does
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
