from __future__ import annotations

import math
import time
from dataclasses import dataclass
import numpy as np
from siting.core.problem import Problem
from siting.model.levels import prefix_index, row_count_below


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
        k = row_count_below(flat_c, off, lam)  # entries with w_i d_ij < lambda_i in each row
        idx = prefix_index(off, k)
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


def lagrangian_fixing(problem: Problem, cost: np.ndarray, p: int, best_val: float, best_open: np.ndarray,
                       integral: bool) -> tuple[Lagrangian, np.ndarray]:
    """Lagrangian bound and the candidates it closes: those whose forced opening costs more than the
    incumbent (or at least the incumbent less one, for integral data); never one of the incumbent's."""
    margin = 1.0 - 1e-6 if integral else 1e-9 * max(1.0, abs(best_val))
    lag = pmedian_lagrangian(cost, problem.weight, p, upper_bound=best_val, required=problem.required,
                             forbidden=problem.forbidden, start=best_open, target=best_val - margin)
    fix0 = (lag.bound + lag.reduced_cost > best_val - margin) & ~problem.forbidden & ~problem.required
    fix0[best_open] = False
    return lag, fix0
