from __future__ import annotations

from dataclasses import dataclass
import numpy as np
from siting.core.errors import InfeasibleError
from siting.core.problem import Problem


_INT_TOL = 1e-9


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
        starts = self.start[prefix_index(np.append(self.offset[i], 0), self.n_levels[i])]
        return row_count_below(starts, sub_off, np.asarray(pos, dtype=np.int64) + 1) - 1

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
        fl = prefix_index(np.append(self.offset[:-1] + lo, 0), lvl_count)  # flat level ids, row by row
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


def levels_top(problem: Problem, lv: Levels) -> np.ndarray:
    """``K_i - 1`` (the last level) of every demand; raises :class:`InfeasibleError` naming the demands with
    no allowed candidate at all."""
    top = lv.n_levels - 1
    if np.any(top < 0):
        bad = np.flatnonzero(top < 0)
        raise InfeasibleError(
            [f"demand {problem.demand_ids[i]} has no allowed (non-forbidden) candidate" for i in bad[:20]]
        )
    return top


def is_integral(*arrays: np.ndarray) -> bool:
    for a in arrays:
        a = a[np.isfinite(a)]
        if a.size and np.max(np.abs(a - np.round(a))) > _INT_TOL:
            return False
    return True


def row_count_below(flat: np.ndarray, off: np.ndarray, x: np.ndarray) -> np.ndarray:
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


def prefix_index(off: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Flat indices ``off[i] + r`` for ``r < k[i]``, all rows (no Python loop)."""
    total = int(k.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(off[:-1] - np.concatenate([[0], np.cumsum(k)[:-1]]), k)
    return starts + np.arange(total)
