from __future__ import annotations

import time
import numpy as np
from siting.core.problem import Problem
from siting.model.levels import dense_costs


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


def open_set_objective(problem: Problem, open_idx: np.ndarray, dist: np.ndarray, *, fixed: bool) -> float:
    val = float(problem.weight @ dist)
    if fixed:
        val += float(problem.fixed_cost_cny[open_idx].sum())
    return val


def improve_from(problem: Problem, cost: np.ndarray, p: int, start: np.ndarray, *, fixed: bool,
                  best_val: float, best_open: np.ndarray) -> tuple[float, np.ndarray, float]:
    """Local search (greedy + vertex substitution) from ``start``; keep it if it beats the incumbent.

    Returns ``(best_val, best_open, seconds spent in the heuristic)``.
    """
    th = time.perf_counter()
    cand = pmedian_heuristic(cost, problem.weight, p, required=problem.required,
                             forbidden=problem.forbidden, start=start)
    seconds = time.perf_counter() - th
    _, dist_c = assignment_from_open(problem, cand, cost=cost)
    val_c = open_set_objective(problem, cand, dist_c, fixed=fixed)
    if val_c < best_val - 1e-9 * max(1.0, abs(val_c)):
        return val_c, cand, seconds
    return best_val, best_open, seconds
