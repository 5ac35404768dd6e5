r"""The allowed pairs of a large p-median / UFLP instance as per-demand lists sorted by cost (CSR), and the
nearest and second-nearest open site of every demand over them.

Nothing here is ``(n, m)``: memory and time are linear in the number of allowed pairs ``k``. A demand with no
open site among its allowed pairs is charged a *penalty* :math:`P` larger than the value of any feasible
solution (:func:`penalty_cost`), so that a local search on the penalised cost repairs coverage first and a
solution with a finite, penalty-free cost is feasible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from siting.core.errors import DefectCollector, InfeasibleError
from siting.core.problem import Problem
from siting.model.levels import prefix_index

__all__ = ["Nearest", "SparsePairs", "nearest_two", "penalty_cost", "row_positions", "sparse_pairs"]


@dataclass(frozen=True)
class SparsePairs:
    """Allowed (demand, candidate) pairs, each demand's list in ascending cost.

    Attributes
    ----------
    indptr : (n + 1,) int64, row ``i`` is ``[indptr[i], indptr[i + 1])``
    cand : (k,) int32, candidate of each entry
    cost : (k,) float64, ``w_i * d_ij`` (times ``cost_per_unit_km`` for UFLP), ascending within a row
    row : (k,) int32, demand of each entry
    pair : (k,) int64, index of the entry in the problem's pair arrays
    n, m : demands and candidates
    """

    indptr: np.ndarray
    cand: np.ndarray
    cost: np.ndarray
    row: np.ndarray
    pair: np.ndarray
    n: int
    m: int

    @property
    def k(self) -> int:
        return len(self.cost)

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSC view: ``(colptr (m + 1,), rows (k,) int32, costs (k,))``, the pairs of each candidate."""
        order = np.argsort(self.cand, kind="stable")
        colptr = np.zeros(self.m + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.cand, minlength=self.m), out=colptr[1:])
        return colptr, self.row[order], self.cost[order]


def sparse_pairs(problem: Problem, *, use_time: bool = False, scale: float = 1.0) -> SparsePairs:
    """The problem's pairs to candidates that are not forbidden, sorted by demand then cost.

    Raises :class:`InfeasibleError` when a demand has no allowed pair to a candidate that is not forbidden.
    """
    n, m = problem.n_demand, problem.n_candidates
    keep = ~problem.forbidden[problem.pair_candidate]
    pair = np.flatnonzero(keep)
    del keep
    pi = problem.pair_demand[pair].astype(np.int32)
    cost = problem.weight[pi] * problem.impedance(use_time=use_time)[pair]
    if scale != 1.0:
        cost *= scale
    order = np.lexsort((cost, pi))
    pair, cost, pi = pair[order], cost[order], pi[order]
    del order
    counts = np.bincount(pi, minlength=n)
    empty = np.flatnonzero(counts == 0)
    if len(empty):
        found = DefectCollector(problem.source)
        for i in empty[:20]:
            found.add("demand has no allowed pair to a candidate that is not forbidden",
                      row=str(problem.demand_ids[i]))
        if len(empty) > 20:
            found.add(f"... and {len(empty) - 20} more demands")
        found.raise_if_any(InfeasibleError)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    cand = problem.pair_candidate[pair].astype(np.int32)
    return SparsePairs(indptr=indptr, cand=cand, cost=cost, row=pi, pair=pair, n=n, m=m)


def penalty_cost(sp: SparsePairs, fixed: np.ndarray) -> float:
    """A cost above every feasible solution's value: twice (each demand's dearest pair + all fixed costs)."""
    last = sp.cost[sp.indptr[1:] - 1]
    return 2.0 * (float(last.sum()) + float(np.asarray(fixed).sum())) + 1.0


def row_positions(sp: SparsePairs, rows: np.ndarray) -> np.ndarray:
    """Flat positions of all entries of ``rows`` (ascending rows give ascending positions)."""
    rows = np.asarray(rows, dtype=np.int64)
    return prefix_index(np.append(sp.indptr[rows], 0), sp.indptr[rows + 1] - sp.indptr[rows])


@dataclass
class Nearest:
    """Nearest and second-nearest open site of some demands (``P`` / ``-1`` where there is none).

    ``n1`` / ``n2``: entries of the row before the nearest / second-nearest open site (the whole row when
    there is none); the entries in ``[0, n1)`` are closed sites cheaper than ``d1``, those in ``[0, n2)``
    other than the nearest open one are closed sites cheaper than ``d2``.
    """

    d1: np.ndarray
    d2: np.ndarray
    c1: np.ndarray
    c2: np.ndarray
    n1: np.ndarray
    n2: np.ndarray


def nearest_two(sp: SparsePairs, is_open: np.ndarray, penalty: float,
                rows: np.ndarray | None = None) -> Nearest:
    """:class:`Nearest` of ``rows`` (ascending; default all) for the open mask ``is_open``."""
    if rows is None:
        start, end = sp.indptr[:-1], sp.indptr[1:]
        op = np.flatnonzero(is_open[sp.cand])
    else:
        start, end = sp.indptr[rows], sp.indptr[np.asarray(rows) + 1]
        pos = row_positions(sp, rows)
        op = pos[is_open[sp.cand[pos]]]
    last = max(len(op) - 1, 0)
    f = np.searchsorted(op, start)
    if len(op) == 0:
        has1 = has2 = np.zeros(len(start), dtype=bool)
        p1 = p2 = start
    else:
        p1 = op[np.minimum(f, last)]
        has1 = (f < len(op)) & (p1 < end)
        p2 = op[np.minimum(f + 1, last)]
        has2 = has1 & (f + 1 < len(op)) & (p2 < end)
    d1 = np.where(has1, sp.cost[np.where(has1, p1, 0)], penalty)
    d2 = np.where(has2, sp.cost[np.where(has2, p2, 0)], penalty)
    c1 = np.where(has1, sp.cand[np.where(has1, p1, 0)], -1).astype(np.int32)
    c2 = np.where(has2, sp.cand[np.where(has2, p2, 0)], -1).astype(np.int32)
    n1 = np.where(has1, p1, end) - start
    n2 = np.where(has2, p2, end) - start
    return Nearest(d1=d1, d2=d2, c1=c1, c2=c2, n1=n1, n2=n2)
