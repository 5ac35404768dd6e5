from __future__ import annotations

import math
import time
from dataclasses import dataclass
import numpy as np


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
                 lam: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``rho`` (m,) and the knapsack solutions of every usable site (continuous knapsack), the latter sparse as
    ``(customer, site, x)``. Only the pairs of negative reduced cost enter a knapsack, so only they are sorted
    (by site, then reduced cost)."""
    m = cost.shape[1]
    rho = np.full(m, np.inf)
    cols = np.flatnonzero(usable)
    rho[cols] = fixed[cols]
    unit = lam / weight
    r = cost[:, cols] - unit[:, None]  # per-unit reduced cost, inf where not allowed
    ii, jl = np.nonzero(r < 0)
    rv = r[ii, jl]
    order = np.lexsort((rv, jl))
    ii, jl, rv = ii[order], jl[order], rv[order]
    jj = cols[jl]
    ws = weight[ii]
    cum = np.cumsum(ws)
    start = np.searchsorted(jl, jl, side="left")  # first entry of each site's group
    before = cum - ws - np.where(start > 0, cum[start - 1], 0.0)  # weight taken earlier at the same site
    x = np.clip((capacity[jj] - before) / ws, 0.0, 1.0)
    rho += np.bincount(jj, weights=rv * ws * x, minlength=m)
    return rho, (ii, jj, x)


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
    deadline: float = math.inf,
) -> WarehouseLagrangian:
    r"""Maximise :math:`L(\lambda)` (module docstring) by subgradient optimisation.

    Subgradient of the relaxed rows: :math:`g_i = 1 - \sum_{j \in S} x_{ij}`; step
    :math:`\theta (U - L)/\|g\|^2`, :math:`\theta` halved after ``patience`` iterations without a better
    bound; stops at ``max_iter``, :math:`\theta < 10^{-4}`, :math:`g = 0`, or when the bound reaches
    ``target``, or once ``time.perf_counter()`` passes ``deadline`` (checked before each step; at least one
    step is taken, so the bound stays finite whenever the problem is feasible). Every value reached is a lower
    bound, so stopping early only weakens the bound and the deltas, never their validity.
    ``lam0`` defaults to each customer's cost at its nearest site.
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
    while it < max_iter and theta > 1e-4 and not (it and time.perf_counter() > deadline):
        it += 1
        rho, (xi, xj, xv) = _site_values(cost, w, fixed, capacity, lam, usable)
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
        g = 1.0 - np.bincount(xi, weights=np.where(chosen[xj], xv, 0.0), minlength=n)
        norm = float(g @ g)
        if norm < 1e-18:
            break
        lam = lam + theta * max(ub - value, 1e-9 * max(1.0, abs(ub))) / norm * g
    sites.append(np.flatnonzero(chosen) if it else np.zeros(0, np.int64))
    return WarehouseLagrangian(bound=best, delta_open=out[0], delta_close=out[1], rho=out[2], lam=out[3],
                               sites=sites, iterations=it, seconds=time.perf_counter() - t0)


@dataclass(frozen=True)
class SiteProbe:
    """Sites fixed by Lagrangian probing (:func:`probe_sites`).

    Attributes
    ----------
    closed, opened : (m,) bool, sites newly proven closed / open
    bound : (m,) a lower bound of every solution with the site the other way (``nan`` where not fixed)
    flip_bound : (m,) the last probe's bound of each probed site, fixed or not (``nan`` where not probed)
    lam : the multipliers of the last Lagrangian of the restricted problem
    restricted_bound : a lower bound of every solution the fixings keep (``-inf`` if not computed)
    probes, passes, seconds
    """

    closed: np.ndarray
    opened: np.ndarray
    bound: np.ndarray
    flip_bound: np.ndarray
    lam: np.ndarray
    restricted_bound: float
    probes: int
    passes: int
    seconds: float


def probe_sites(
    cost: np.ndarray, weight: np.ndarray, fixed: np.ndarray, capacity: np.ndarray, *,
    lam: np.ndarray, threshold: float, upper_bound: float, is_open: np.ndarray, candidates: np.ndarray,
    required: np.ndarray, forbidden: np.ndarray, max_iter: int = 40, passes: int = 3, patience: int = 10,
    max_seconds: float = math.inf, deadline: float = math.inf,
) -> SiteProbe:
    r"""Lagrangian probing: for each candidate site, force it the other way than in the incumbent (open if
    closed there, closed if open) and re-optimise :math:`L(\lambda)` of that restricted problem from ``lam``
    (:func:`warehouse_lagrangian`, ``max_iter`` steps). A bound reaching ``threshold`` proves that no solution
    below the threshold has that setting, so the site is fixed as in the incumbent. Fixings accumulate: each
    probe runs on the problem restricted by the earlier ones, which is valid because each fixing removes only
    solutions at or above the threshold.

    After a pass that fixed something, :math:`L` of the restricted problem is re-optimised (its value bounds
    every solution kept; its reduced costs fix more sites, as in :func:`warehouse_lagrangian`'s deltas) and
    the remaining candidates are probed again, up to ``passes`` passes. Candidates are probed in the caller's
    order (most promising first); a pass ends after ``patience`` probes in a row that fix nothing (with a
    weak incumbent most probes fail, and each costs ``max_iter`` Lagrangian steps), probing after
    ``max_seconds`` or once ``time.perf_counter()`` passes ``deadline`` (the Lagrangians it runs stop there
    too; the fixings made so far stay valid). An infeasible restricted problem (the
    Lagrangian site problem has no cover) fixes nothing.
    """
    t0 = time.perf_counter()
    deadline = min(deadline, t0 + max_seconds)
    m = cost.shape[1]
    req = np.asarray(required, bool).copy()
    forb = np.asarray(forbidden, bool).copy()
    closed = np.zeros(m, bool)
    opened = np.zeros(m, bool)
    bound = np.full(m, np.nan)
    flip_bound = np.full(m, np.nan)
    probes, done, rbound = 0, 0, -math.inf
    cand = [int(j) for j in np.asarray(candidates, np.int64)]

    def fix(j: int, b: float) -> None:
        bound[j] = b
        if is_open[j]:
            opened[j] = req[j] = True
        else:
            closed[j] = forb[j] = True

    while done < passes and time.perf_counter() <= deadline:
        done += 1
        before = int(closed.sum() + opened.sum())
        misses = 0
        for j in cand:
            if misses >= patience or time.perf_counter() > deadline:
                break
            if req[j] or forb[j]:
                continue
            r2, f2 = req.copy(), forb.copy()
            (f2 if is_open[j] else r2)[j] = True
            lag = warehouse_lagrangian(cost, weight, fixed, capacity, upper_bound=upper_bound, required=r2,
                                       forbidden=f2, lam0=lam, max_iter=max_iter, target=threshold,
                                       deadline=deadline)
            probes += 1
            flip_bound[j] = lag.bound
            misses += 1
            if lag.bound >= threshold:
                fix(j, lag.bound)
                misses = 0
        if int(closed.sum() + opened.sum()) == before or done == passes or time.perf_counter() > deadline:
            break
        lag = warehouse_lagrangian(cost, weight, fixed, capacity, upper_bound=upper_bound, required=req,
                                   forbidden=forb, lam0=lam, max_iter=3 * max_iter, target=threshold,
                                   deadline=deadline)
        lam, rbound = lag.lam, max(rbound, lag.bound)
        if rbound >= threshold:
            break
        flip = lag.bound + np.where(is_open, lag.delta_close, lag.delta_open)
        for j in cand:
            if not (req[j] or forb[j]) and flip[j] >= threshold:
                fix(j, float(flip[j]))
    return SiteProbe(closed=closed, opened=opened, bound=bound, flip_bound=flip_bound, lam=np.asarray(lam), restricted_bound=rbound,
                     probes=probes, passes=done, seconds=time.perf_counter() - t0)
