r"""The strong split-demand warehouse model on a reduced site set, built directly as HiGHS arrays, with only
the variable-upper-bound rows :math:`x_{ij} \le y_j` that can matter.

Model (sites :math:`K` = those not closed; :math:`R \subseteq K` required; pairs :math:`P` = allowed
customer-site pairs with :math:`j \in K`; :math:`V \subseteq P` the pairs that keep their own link row):

.. math::

    \min \sum_{j \in K} f_j y_j + \sum_{(i,j) \in P} w_i d_{ij} x_{ij}
    \quad\text{s.t.}\quad \sum_{j} x_{ij} = 1 \;\forall i,\qquad
    x_{ij} \le y_j \;\; (i,j) \in V,\qquad
    \sum_i w_i x_{ij} \le c_j y_j \;\; (c_j < \infty),\qquad
    \sum_i x_{ij} \le n_j y_j \;\; (c_j = \infty),

.. math::

    \sum_j c_j y_j \ge W \;\text{(all } c_j \text{ finite)},\qquad 0 \le x \le 1,\quad y \in \{0,1\},
    \quad y_j = 1 \; (j \in R),

:math:`n_j` the number of customers allowed at :math:`j`. Exactness does not depend on :math:`V`: the
per-site rows alone force :math:`x_{ij} = 0` when :math:`y_j = 0`, so every integer point of the model is a
solution of the problem and conversely, for any :math:`V`. :math:`V` only sets the strength of the LP
relaxation. With :math:`V` = the pairs of negative Lagrangian reduced cost :math:`d_{ij} - \lambda_i / w_i <
0` (the only pairs the Lagrangian subproblem ever serves), the LP keeps almost all of the strong model's
bound at a fraction of its rows (measured in ``benchmarks/bench_warehouse.py``: 4.8 k instead of 27 k rows on
a 26-site reduction of a 100 x 1,000 instance).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from siting.solvers.highs import Compiled, LpArrays


@dataclass(frozen=True)
class ReducedModel:
    """The compiled reduced model and the map back to sites and pairs.

    Attributes
    ----------
    compiled : the model as HiGHS arrays (:class:`~siting.solvers.highs.Compiled`, no Pyomo model)
    sites : (k,) site index of each ``y`` column (columns ``0..k-1``)
    pair_i, pair_j : customer and site of each ``x`` column (columns ``k..``)
    link_rows : number of :math:`x_{ij} \\le y_j` rows kept
    """

    compiled: Compiled
    sites: np.ndarray
    pair_i: np.ndarray
    pair_j: np.ndarray
    link_rows: int

    def start_vector(self, open_idx: np.ndarray, x_dense: np.ndarray) -> np.ndarray:
        """Column values of the point (open sites ``open_idx``, dense allocation ``x_dense`` (n, m))."""
        is_open = np.zeros(x_dense.shape[1], bool)
        is_open[np.asarray(open_idx, np.int64)] = True
        y = is_open[self.sites].astype(np.float64)
        return np.concatenate([y, x_dense[self.pair_i, self.pair_j]])

    def solution(self, values: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """``(open sites, dense allocation (n, m))`` of a column vector (y rounded, x clipped to [0, 1] and to
        open sites)."""
        k = len(self.sites)
        open_idx = self.sites[values[:k] > 0.5]
        x = np.zeros(shape)
        x[self.pair_i, self.pair_j] = np.clip(values[k:], 0.0, 1.0)
        closed = np.ones(shape[1], bool)
        closed[open_idx] = False
        x[:, closed] = 0.0
        return open_idx, x


def build_reduced_cflp(cost: np.ndarray, weight: np.ndarray, fixed: np.ndarray, capacity: np.ndarray, *,
                       closed: np.ndarray, required: np.ndarray, link: np.ndarray) -> ReducedModel:
    r"""Build the reduced model (module docstring) as HiGHS arrays.

    Parameters
    ----------
    cost : (n, m) per-unit cost, ``inf`` where a pair is not allowed
    weight, fixed, capacity : (n,), (m,), (m,); ``capacity`` may be ``inf``
    closed, required : (m,) sites left out, sites forced open
    link : (n, m) bool, the pairs :math:`V` that keep their own row :math:`x_{ij} \le y_j`
    """
    n = cost.shape[0]
    sites = np.flatnonzero(~np.asarray(closed, bool))
    k = len(sites)
    sub = cost[:, sites]
    pi, pl = np.nonzero(np.isfinite(sub))  # pl = local site index
    npair = len(pi)
    w = np.asarray(weight, np.float64)
    cap = np.asarray(capacity, np.float64)[sites]
    fin = np.isfinite(cap)
    xcol = k + np.arange(npair)
    keep = np.asarray(link, bool)[:, sites][pi, pl]
    lq = np.flatnonzero(keep)
    nl = len(lq)
    rows, cols, vals = [pi, np.arange(nl).repeat(2) + n], [xcol, np.c_[xcol[lq], pl[lq]].ravel()], [
        np.ones(npair), np.tile([1.0, -1.0], nl)]
    r0 = n + nl
    per_site = np.bincount(pl, minlength=k).astype(np.float64)
    coef = np.where(fin[pl], w[pi], 1.0)
    rows += [r0 + pl, r0 + np.arange(k)]
    cols += [xcol, np.arange(k)]
    vals += [coef, -np.where(fin, cap, per_site)]
    nrow = r0 + k
    inf = math.inf
    row_lo = [np.ones(n), np.full(nl + k, -inf)]
    row_up = [np.ones(n), np.zeros(nl + k)]
    if k and fin.all():
        rows.append(np.full(k, nrow))
        cols.append(np.arange(k))
        vals.append(cap)
        row_lo.append(np.array([float(w.sum())]))
        row_up.append(np.array([inf]))
        nrow += 1
    ncol = k + npair
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nrow, ncol))
    a.sort_indices()
    data = LpArrays(col_cost=np.concatenate([np.asarray(fixed, np.float64)[sites], w[pi] * sub[pi, pl]]),
                    col_lower=np.concatenate([np.asarray(required, bool)[sites].astype(np.float64),
                                              np.zeros(npair)]),
                    col_upper=np.ones(ncol), row_lower=np.concatenate(row_lo), row_upper=np.concatenate(row_up),
                    a_start=a.indptr.astype(np.int32), a_index=a.indices.astype(np.int32),
                    a_value=a.data.astype(np.float64), offset=0.0)
    integer = np.zeros(ncol, bool)
    integer[:k] = True
    comp = Compiled(model=None, columns=[], data=data, integer=integer, maximise=False, seconds=0.0, col_of={})
    return ReducedModel(compiled=comp, sites=sites, pair_i=pi, pair_j=sites[pl], link_rows=nl)
