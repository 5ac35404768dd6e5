from __future__ import annotations

import math
import time

import numpy as np

from siting.core.problem import Problem
from siting.solvers.highs import LpArrays, new_highs, pass_arrays


# ============================================================================================ assignment
def dense_cost(problem: Problem) -> np.ndarray:
    """Per-unit cost ``(n, m)``, ``inf`` for pairs that are not allowed or forbidden sites."""
    d = np.full((problem.n_demand, problem.n_candidates), np.inf)
    d[problem.pair_demand, problem.pair_candidate] = problem.distance_km
    d[:, problem.forbidden] = np.inf
    return d


def assignment_cost(cost: np.ndarray, weight: np.ndarray, capacity: np.ndarray, open_idx: np.ndarray, *,
                    nearest: int | None = None) -> tuple[float, np.ndarray | None]:
    r"""Cheapest split-demand assignment of all customers to the open sites (transport cost only).

    Uncapacitated open sites (all :math:`c_j = \infty`): each customer to its nearest open site. Otherwise the
    transportation LP :math:`\min \sum w_i d_{ij} x_{ij}` s.t. :math:`\sum_j x_{ij} = 1`, :math:`\sum_i w_i
    x_{ij} \le c_j`, :math:`x \ge 0` over the open sites, solved by HiGHS.

    With ``nearest = k`` each customer may use only its ``k`` cheapest open sites (a restriction: the value is
    that of a feasible assignment, an upper bound of the exact one; when the restriction is infeasible the
    exact LP is solved instead).

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
    if nearest is not None and nearest < q:
        near = np.zeros_like(ok)
        np.put_along_axis(near, np.argpartition(sub, nearest - 1, axis=1)[:, :nearest], True, axis=1)
        v, x = assignment_cost(np.where(near, sub, np.inf), weight, cap, np.arange(q))
        if x is not None:
            return v, x
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
    h = new_highs(highspy)  # without HiGHS's start-up banner on stdout (JSON lines may be written there)
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


# ============================================================================================ heuristic
def uflp_heuristic(cost: np.ndarray, weight: np.ndarray, fixed: np.ndarray, *, required: np.ndarray,
                   usable: np.ndarray, max_moves: int = 10_000, deadline: float = math.inf
                   ) -> tuple[float, np.ndarray]:
    r"""Uncapacitated local search, vectorised: greedy add (largest saving
    :math:`\sum_i w_i \max(0, d_i - d_{ij}) - f_j` while positive), then best-improvement add / drop / swap
    moves (Whitaker's swap evaluation with each customer's nearest and second-nearest open site) until none
    improves, or until ``time.perf_counter()`` passes ``deadline`` (the greedy phase goes on past it only while
    some customer has no allowed open site, so that a feasible point is returned whenever one exists).
    Returns ``(value, open sites)`` (``inf`` if some customer cannot be served).
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
        if time.perf_counter() > deadline and bool(np.all(best < big)):
            break
    for _ in range(max_moves):
        if time.perf_counter() > deadline:
            break
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


def _value(cost, w, fixed, capacity, open_idx, nearest=None) -> tuple[float, np.ndarray | None]:
    v, x = assignment_cost(cost, w, capacity, open_idx, nearest=nearest)
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
    n_try: int = 8, max_rounds: int = 30, nearest: int | None = 6, deadline: float = math.inf,
) -> tuple[float, np.ndarray]:
    """Best of ``starts`` (site sets, topped up to cover demand by ``rank``, cheapest first), then drop / add /
    swap local search, first improvement, over the ``n_try`` best-ranked closed sites and all open ones.
    Moves are valued with each customer restricted to its ``nearest`` open sites (:func:`assignment_cost`;
    ``None``: exact), the result exactly. The local search stops once ``time.perf_counter()`` passes
    ``deadline`` (the starts are always valued).

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
            seen[key] = _value(cost, weight, fixed, capacity, np.flatnonzero(mask), nearest)[0]
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
        if time.perf_counter() > deadline:
            break
        opened = np.flatnonzero(mask & ~required)
        closed = [j for j in order.tolist() if not mask[j]][:n_try]
        moves: list[tuple[int, int]] = [(j, -1) for j in opened] + [(-1, k) for k in closed]
        moves += [(j, k) for j in opened for k in closed[: max(2, n_try // 2)]]
        for j, k in moves:
            if time.perf_counter() > deadline:
                break
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
    if nearest is not None:
        best_v = min(best_v, _value(cost, weight, fixed, capacity, np.flatnonzero(mask))[0])
    return best_v, np.flatnonzero(mask)


def split_allocation(problem: Problem, cost: np.ndarray, cap: np.ndarray, open_idx: np.ndarray) -> np.ndarray:
    """Optimal split-demand allocation to ``open_idx``, aligned with the problem's pairs."""
    _, xd = assignment_cost(cost, problem.weight, cap, open_idx)
    if xd is None:
        from siting.core.errors import SolverError

        raise SolverError(f"{problem.source}: no split-demand assignment to the chosen open sites was found "
                          "(the transportation LP failed); re-run, or report this as a bug")
    dense = np.zeros(cost.shape)
    dense[:, open_idx] = xd
    return dense[problem.pair_demand, problem.pair_candidate]


def allocation_objective(problem: Problem, x: np.ndarray, open_idx: np.ndarray) -> float:
    return float(problem.fixed_cost_cny[open_idx].sum()
                 + np.sum(problem.weight[problem.pair_demand] * problem.distance_km * x))


#: Moves ranked per pass of :func:`guided_swaps` (a pass keeps the cheapest this many; another pass ranks the
#: next ones only when capacity skips use them all up before ``n_eval`` moves are tried).
SWAP_BATCH = 256
#: Cells of the (site pairs x site pairs) table of double-swap sums computed at once (8 MB of float64); the
#: deadline is checked between blocks.
SWAP_BLOCK_CELLS = 1 << 20


def guided_swaps(cost: np.ndarray, weight: np.ndarray, fixed: np.ndarray, capacity: np.ndarray, *,
                 open_idx: np.ndarray, value: float, score: np.ndarray, free: np.ndarray, n_eval: int = 40,
                 nearest: int | None = 6, deadline: float = math.inf) -> tuple[float, np.ndarray]:
    """Single and double swaps among the ``free`` sites, tried in increasing order of the summed excess
    ``score - value`` of the sites flipped (e.g. the Lagrangian bound of the problem with that site flipped: a low bound marks a
    flip that may pay), at most ``n_eval`` of them, first improvement; moves that leave too little capacity
    are skipped; none is tried once ``time.perf_counter()`` passes ``deadline``. Returns ``(value, open sites)``
    of the best point (valued exactly), ``open_idx`` itself if nothing improves on ``value``.

    The moves are not listed: each pass ranks them block by block with numpy and keeps the
    :data:`SWAP_BATCH` first (:func:`_cheapest_moves`), in the order of a stable sort of the full list (singles
    first, then doubles, each in :func:`itertools.combinations` order), and gives up when the deadline passes.
    The full list had ``C(o, 2) C(c, 2)`` doubles for ``o`` open and ``c`` closed free sites, built and sorted
    before the deadline was first looked at: for 25 and 225 (7.5 M tuples) 24.8 s and a peak RSS of 1.8 GB
    with the deadline already passed, for 16 and 128 1.7 s (load 2.3-2.8); ranking the 7.5 M takes 0.03 s.
    """
    m = cost.shape[1]
    is_open = np.zeros(m, bool)
    is_open[np.asarray(open_idx, np.int64)] = True
    sc = np.where(np.isfinite(score), score - value, np.inf)  # excess over the incumbent: sums comparable
    fo = np.flatnonzero(free & is_open & np.isfinite(sc))
    fc = np.flatnonzero(free & ~is_open & np.isfinite(sc))
    total = float(weight.sum())
    tried, after = 0, None
    while tried < n_eval:
        moves = _cheapest_moves(sc, fo, fc, SWAP_BATCH, after=after, deadline=deadline)
        if moves is None:  # out of time while ranking
            break
        for key, pos, out, inn in moves:
            if tried >= n_eval or time.perf_counter() > deadline:
                break
            after = (key, pos)
            cand = is_open.copy()
            cand[list(out)] = False
            cand[list(inn)] = True
            if capacity[cand].sum() < total:
                continue
            tried += 1
            v = _value(cost, weight, fixed, capacity, np.flatnonzero(cand), nearest)[0]
            if v < value - 1e-9 * max(1.0, abs(value)):
                exact = _value(cost, weight, fixed, capacity, np.flatnonzero(cand))[0]
                if exact < value:
                    return exact, np.flatnonzero(cand)
        if len(moves) < SWAP_BATCH:
            break  # no move left (else: the pass's moves used up by capacity skips, rank the next ones)
    return value, np.asarray(open_idx, np.int64)


def _cheapest_moves(sc: np.ndarray, fo: np.ndarray, fc: np.ndarray, k: int, *, after: tuple[float, int] | None,
                    deadline: float) -> list[tuple[float, int, tuple[int, ...], tuple[int, ...]]] | None:
    """The first ``k`` moves of :func:`guided_swaps` after ``after`` (``(key, position)`` of the last one used),
    as ``(key, position, sites closed, sites opened)``; ``None`` once ``time.perf_counter()`` passes ``deadline``.

    A move's key is its sum of ``sc`` (singles ``sc[a] + sc[b]``, doubles ``sc[a1] + sc[a2] + sc[b1] + sc[b2]``,
    added in that order as the list did) and its position its index in the list of every move: singles
    ``(a, b)`` for ``a`` in ``fo``, ``b`` in ``fc``, then doubles by pair of ``fo``, then pair of ``fc``. The
    order (key, position) is the stable sort of that list. Blocks are ranked in position order, so a later
    block's entry displaces a kept one only with a smaller key.
    """
    if time.perf_counter() > deadline:
        return None
    so, sl = sc[fo], sc[fc]
    a1, a2 = np.triu_indices(len(fo), 1)  # itertools.combinations order
    b1, b2 = np.triu_indices(len(fc), 1)
    sb1, sb2 = sl[b1], sl[b2]
    n_single, n_cols = len(fo) * len(fc), len(b1)
    kept_key, kept_pos = np.zeros(0), np.zeros(0, np.int64)

    def rank(keys: np.ndarray, first: int) -> None:
        nonlocal kept_key, kept_pos
        keys = keys.ravel()
        ok = np.ones(len(keys), bool)
        if after is not None:
            ok &= (keys > after[0]) | ((keys == after[0]) & (first + np.arange(len(keys)) > after[1]))
        if len(kept_key) >= k:
            ok &= keys < kept_key[-1]
        at = np.flatnonzero(ok)
        if len(at):
            key = np.concatenate([kept_key, keys[at]])
            pos = np.concatenate([kept_pos, first + at])
            best = np.lexsort((pos, key))[:k]
            kept_key, kept_pos = key[best], pos[best]

    step = max(1, SWAP_BLOCK_CELLS // max(len(fc), 1))
    for r in range(0, len(fo) if len(fc) else 0, step):  # singles, by rows of fo
        if time.perf_counter() > deadline:
            return None
        rank(so[r: r + step, None] + sl[None, :], r * len(fc))
    step = max(1, SWAP_BLOCK_CELLS // max(n_cols, 1))
    for r in range(0, len(a1) if n_cols else 0, step):  # doubles, by rows of pairs of fo
        if time.perf_counter() > deadline:
            return None
        rows = slice(r, r + step)
        rank(((so[a1[rows]] + so[a2[rows]])[:, None] + sb1[None, :]) + sb2[None, :], n_single + r * n_cols)
    moves = []
    for key, pos in zip(kept_key.tolist(), kept_pos.tolist()):
        if pos < n_single:
            out, inn = (int(fo[pos // len(fc)]),), (int(fc[pos % len(fc)]),)
        else:
            ra, rb = divmod(pos - n_single, n_cols)
            out, inn = (int(fo[a1[ra]]), int(fo[a2[ra]])), (int(fc[b1[rb]]), int(fc[b2[rb]]))
        moves.append((key, pos, out, inn))
    return moves
