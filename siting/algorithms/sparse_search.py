r"""Best-improvement local search (swap; and add / drop for UFLP) over sparse pairs, with incremental gains.

For an open set :math:`S` let :math:`d_1(i), d_2(i)` be the costs of demand :math:`i`'s nearest and
second-nearest open site (the penalty :math:`P` where there is none) and :math:`\phi_1(i)` its nearest open
site. Following Resende & Werneck (2004, "A fast swap-based local search procedure for location problems"):

.. math::

    \mathrm{gain}_j = \sum_i \big(d_1(i) - c_{ij}\big)^+, \qquad
    \mathrm{loss}_r = \sum_{i: \phi_1(i) = r} \big(d_2(i) - d_1(i)\big), \qquad
    \mathrm{extra}_{jr} = \sum_{i: \phi_1(i) = r,\; c_{ij} < d_2(i)} \big(d_2(i) - \max(c_{ij}, d_1(i))\big),

and the saving of opening :math:`j` and closing :math:`r` is
:math:`\mathrm{gain}_j - \mathrm{loss}_r + \mathrm{extra}_{jr} - f_j + f_r` (add: :math:`\mathrm{gain}_j - f_j`;
drop: :math:`f_r - \mathrm{loss}_r`). Each sum runs over the allowed pairs only, and ``extra`` is kept as an
``(m, open slots)`` array. After a move only the demands whose nearest or second-nearest site changed (those
served by the closed site, and those whose pair to the opened one costs at most their :math:`d_2`) are
recomputed: their old contributions
are subtracted and their new ones added, so a move costs time in proportion to those demands' pairs, not
to ``k``. Everything is recomputed from scratch every ``refresh`` moves against rounding drift.
"""

from __future__ import annotations

import math
import time

import numpy as np

from siting.algorithms.sparse_pairs import Nearest, SparsePairs, nearest_two
from siting.model.levels import prefix_index

__all__ = ["LocalSearch"]


class LocalSearch:
    """Local search state for one open set; :meth:`run` improves it in place.

    Parameters
    ----------
    sp
        The sorted pairs.
    is_open
        (m,) bool start set.
    fixed
        (m,) fixed costs (zeros for the p-median).
    penalty
        Cost of a demand with no open allowed site (:func:`~siting.algorithms.sparse_pairs.penalty_cost`).
    can_open, can_close
        (m,) bool: candidates that may be opened / closed by a move.
    swaps_only
        Keep the number of open sites (p-median).
    columns
        ``sp.columns()``, if already computed.
    """

    def __init__(self, sp: SparsePairs, is_open: np.ndarray, *, fixed: np.ndarray, penalty: float,
                 can_open: np.ndarray, can_close: np.ndarray, swaps_only: bool,
                 columns: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> None:
        self.sp, self.fixed, self.penalty = sp, np.asarray(fixed, dtype=np.float64), float(penalty)
        self.can_open, self.can_close, self.swaps_only = can_open, can_close, swaps_only
        self.colptr, self.colrows, self.colcost = sp.columns() if columns is None else columns
        self.open = np.asarray(is_open, dtype=bool).copy()
        self.moves = 0
        self._rebuild()

    # ------------------------------------------------------------------ state
    def _rebuild(self) -> None:
        m = self.sp.m
        q = int(self.open.sum())
        self.slot = np.full(m, -1, dtype=np.int64)
        self.slot[self.open] = np.arange(q)
        self.free_slots = list(range(max(64, 2 * q) - 1, q - 1, -1))
        self.extra = np.zeros((m, max(64, 2 * q)))
        self.gain, self.loss = np.zeros(m), np.zeros(m)
        self.near = nearest_two(self.sp, self.open, self.penalty)
        self._contribute(np.arange(self.sp.n), self.near, 1.0)

    def _contribute(self, rows: np.ndarray, near: Nearest, sign: float) -> None:
        sp, m = self.sp, self.sp.m
        start = sp.indptr[rows]
        idx = prefix_index(np.append(start, 0), near.n1)
        rr = np.repeat(np.arange(len(rows)), near.n1)
        self.gain += sign * np.bincount(sp.cand[idx], weights=near.d1[rr] - sp.cost[idx], minlength=m)
        has = near.c1 >= 0
        self.loss += sign * np.bincount(near.c1[has], weights=(near.d2 - near.d1)[has], minlength=m)
        idx = prefix_index(np.append(start, 0), near.n2)
        rr = np.repeat(np.arange(len(rows)), near.n2)
        j, r = sp.cand[idx], near.c1[rr]
        keep = (j != r) & (r >= 0)
        val = near.d2[rr[keep]] - np.maximum(sp.cost[idx[keep]], near.d1[rr[keep]])
        np.add.at(self.extra, (j[keep], self.slot[r[keep]]), sign * val)

    @property
    def objective(self) -> float:
        """Penalised cost of the current set: ``sum d1 + sum f_open``."""
        return float(self.near.d1.sum() + self.fixed[self.open].sum())

    @property
    def feasible(self) -> bool:
        return bool(np.all(self.near.c1 >= 0))

    # ------------------------------------------------------------------ moves
    def best_move(self) -> tuple[float, int, int]:
        """``(saving, j to open or -1, r to close or -1)`` of the best move."""
        jj = np.flatnonzero(~self.open & self.can_open)
        rr = np.flatnonzero(self.open & self.can_close)
        best = (0.0, -1, -1)
        if len(jj) and len(rr):
            prof = self.extra[np.ix_(jj, self.slot[rr])]
            prof += (self.gain[jj] - self.fixed[jj])[:, None]
            prof += (self.fixed[rr] - self.loss[rr])[None, :]
            a = int(np.argmax(prof))
            v = float(prof.flat[a])
            if v > best[0]:
                best = (v, int(jj[a // len(rr)]), int(rr[a % len(rr)]))
        if not self.swaps_only:
            if len(jj):
                add = self.gain[jj] - self.fixed[jj]
                a = int(np.argmax(add))
                if add[a] > best[0]:
                    best = (float(add[a]), int(jj[a]), -1)
            if len(rr):
                drop = self.fixed[rr] - self.loss[rr]
                a = int(np.argmax(drop))
                if drop[a] > best[0]:
                    best = (float(drop[a]), -1, int(rr[a]))
        return best

    def apply(self, j: int, r: int) -> None:
        """Open ``j`` and close ``r`` (either may be ``-1``), updating the affected demands only."""
        near, parts = self.near, []
        if r >= 0:
            parts.append(np.flatnonzero((near.c1 == r) | (near.c2 == r)))
        if j >= 0:  # the demands for which j is cheaper than (or as cheap as) their second-nearest open site
            seg = slice(self.colptr[j], self.colptr[j + 1])
            rows_j = self.colrows[seg].astype(np.int64)
            parts.append(rows_j[self.colcost[seg] <= near.d2[rows_j]])
        rows = np.unique(np.concatenate(parts)) if parts else np.zeros(0, np.int64)
        old = Nearest(*(getattr(near, f)[rows] for f in ("d1", "d2", "c1", "c2", "n1", "n2")))
        self._contribute(rows, old, -1.0)
        if r >= 0:
            self.open[r] = False
            s = int(self.slot[r])
            self.extra[:, s] = 0.0
            self.free_slots.append(s)
            self.slot[r] = -1
            self.loss[r] = 0.0
        if j >= 0:
            self.open[j] = True
            if not self.free_slots:
                cap = self.extra.shape[1]
                self.extra = np.concatenate([self.extra, np.zeros((self.sp.m, cap))], axis=1)
                self.free_slots = list(range(2 * cap - 1, cap - 1, -1))
            self.slot[j] = self.free_slots.pop()
            self.gain[j] = 0.0
            self.extra[j, :] = 0.0
        new = nearest_two(self.sp, self.open, self.penalty, rows)
        for f in ("d1", "d2", "c1", "c2", "n1", "n2"):
            getattr(near, f)[rows] = getattr(new, f)
        self._contribute(rows, new, 1.0)
        self.moves += 1

    def run(self, *, max_moves: int = 100_000, deadline: float = math.inf, refresh: int = 200) -> int:
        """Apply best moves while one saves more than a rounding tolerance; return the moves made."""
        tol = 1e-12 * self.penalty + 1e-9
        made = 0
        while made < max_moves and time.perf_counter() < deadline:
            saving, j, r = self.best_move()
            if saving <= tol:
                break
            before = self.objective
            self.apply(j, r)
            made += 1
            if made % refresh == 0 or self.objective > before - 0.5 * saving:
                self._rebuild()  # drift, or a stale gain: recompute from scratch
                if self.objective > before + tol:  # undo a move that did not save (never seen; a guard)
                    self.apply(r, j)
                    self._rebuild()
                    break
        return made
