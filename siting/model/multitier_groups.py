r"""Group path flows of the multi-tier model: the strong linking of a level, aggregated by groups two tiers down.

On a level *t* < T-2 (links :math:`m = (k, b)` from a tier-(t+1) facility *k* to a tier-*t* facility *b*), the
full path formulation of :mod:`siting.model.multitier` has one variable per lower link :math:`l = (j, k)` and
upper link *m*; on the Chongqing cold chain that is 48 k variables and makes the LP four times slower. Here the
lower links are aggregated by the group :math:`G` (e.g. the planning unit) of their child *j* (a tier-(t+2)
candidate; a child without a label is its own group): one variable :math:`\psi_{G,m} \ge 0` per group and
upper link that continues one of the group's lower links, the volume of *G* sent through *k* on to *b*:

.. math::

   \sum_{m:\ \mathrm{child}(m) = k} \psi_{G,m} &= \sum_{l = (j, k):\ j \in G} F_l
        && \text{each group } G \text{ and facility } k \text{ (split)} \\
   \psi_{G,m} &\le R_G\, u_m && \text{(the volume follows the parent link chosen; binary } u \text{ only)} \\
   \sum_{m = (k, b)} \psi_{G,m} &\le R_G\, y_b && \text{each group } G \text{ and facility } b \text{ (strong linking)}

with :math:`F_l` the volume on link *l* and :math:`R_G` the demand that can reach *G*. Every integral solution
has a feasible :math:`\psi` (the volume of *G* at *k* goes to *k*'s one parent), so the rows are valid; summing
the split over *G* gives the conservation at *k*. The strong linking is tight when the volume of *G* is fixed,
as with a ``link_same`` rule on tier t+2 (demand stays in its unit, so each unit's volume is a constant): then
it is the path formulation's strong linking summed over the members of *G*, at about 7 % of its variables.
Used by ``build_multitier(strong="auto")`` on levels without full path flows (measured on the cold chain,
``benchmarks/bench_multitier.py``).

The module also holds the two sparse helpers that both it and :mod:`siting.model.multitier_rows` use
(:func:`csr_rows`, :func:`expand_pairs`), so that the import goes one way only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from siting.core.network import NetworkProblem

__all__ = ["GroupPaths", "add_group_path_level", "csr_rows", "expand_pairs", "group_label", "group_paths"]


def csr_rows(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A CSR matrix from coordinates, duplicates summed."""
    mat = sp.csr_matrix((vals, (rows, cols)), shape=shape)
    mat.sum_duplicates()
    return mat


def expand_pairs(child_of_parent_link: np.ndarray, upper_child: np.ndarray, n_child: int) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (l, m) of a lower link l and an upper link m that continues it (child(m) == parent(l)).

    Vectorised: the upper links are sorted by child, so each lower link's continuations are one slice.
    """
    indptr = np.searchsorted(upper_child, np.arange(n_child + 1))
    start = indptr[child_of_parent_link]
    deg = indptr[child_of_parent_link + 1] - start
    lower = np.repeat(np.arange(len(child_of_parent_link), dtype=np.int64), deg)
    first = np.repeat(np.cumsum(deg) - deg, deg)
    upper = np.repeat(start, deg) + (np.arange(int(deg.sum()), dtype=np.int64) - first)
    return lower, upper


@dataclass
class GroupPaths:
    """Index maps of the group paths of one level ``t``.

    ``agg_of_link[l]``: aggregate (group, tier-(t+1) facility) of lower link ``l`` of ``L_{t+1}``;
    ``agg_group``/``agg_child``: group and facility of each aggregate; pair ``q`` is aggregate ``pair_a[q]``
    continued on upper link ``pair_m[q]`` of ``L_t``; ``reach[G]`` the scaled demand that can reach group G.
    """

    by: str
    agg_of_link: np.ndarray
    agg_group: np.ndarray
    agg_child: np.ndarray
    pair_a: np.ndarray
    pair_m: np.ndarray
    reach: np.ndarray

    @property
    def n_pairs(self) -> int:
        return len(self.pair_a)


def group_label(p: NetworkProblem, t: int) -> str | None:
    """The grouping of tier ``t+2`` used for the group paths of level ``t``: that tier's ``link_same`` label
    (its groups then have fixed volumes), or ``None``."""
    if t + 2 >= p.n_tiers:
        return None
    tier = p.tiers[t + 2]
    by = tier.link_same
    return by if by and by in tier.groups else None


def group_paths(p: NetworkProblem, t: int, by: str, reach_mat: Any, w: np.ndarray) -> GroupPaths:
    """The :class:`GroupPaths` of level ``t`` with tier-(t+2) candidates grouped by label ``by``; ``reach_mat``
    is the (demand x tier t+2) reach matrix and ``w`` the scaled demand."""
    tier = p.tiers[t + 2]
    labels = tier.group(by)
    has = np.array([x is not None for x in labels], dtype=bool)
    # groups: the labels, then one singleton group per unlabelled candidate
    names, gid = np.unique(np.where(has, labels, "").astype(str), return_inverse=True)
    n_lab = len(names)
    group_of = np.where(has, gid, n_lab + np.cumsum(~has) - 1).astype(np.int64)
    n_groups = int(group_of.max()) + 1 if len(group_of) else 0
    member = sp.csr_matrix((np.ones(tier.size), (np.arange(tier.size), group_of)), shape=(tier.size, n_groups))
    reach = np.asarray(((reach_mat @ member) > 0).astype(np.float64).T @ w).ravel()
    below, upper = p.links[t + 1], p.links[t]
    m_mid = p.tiers[t + 1].size
    key = group_of[below.child] * np.int64(m_mid) + below.parent
    uniq, agg_of_link = np.unique(key, return_inverse=True)
    agg_group, agg_child = uniq // np.int64(m_mid), uniq % np.int64(m_mid)
    pair_a, pair_m = expand_pairs(agg_child, upper.child, m_mid)
    return GroupPaths(by=by, agg_of_link=agg_of_link.astype(np.int64), agg_group=agg_group, agg_child=agg_child,
                      pair_a=pair_a, pair_m=pair_m, reach=reach)


def add_group_path_level(R: Any, t: int) -> None:
    """The rows of the module docstring for level ``t`` on the writer ``R`` (a
    :class:`~siting.model.multitier_rows.Rows`; its ``u`` rows are added by the caller)."""
    lay, p = R.lay, R.lay.p
    gp = lay.group_levels[t]
    o = int(lay.u_off[t])  # type: ignore[arg-type]
    n_q = gp.n_pairs
    cols = lay.h_off[t] + np.arange(n_q)
    n_agg = len(gp.agg_group)
    below = p.links[t + 1]
    split = csr_rows(gp.pair_a, cols, np.ones(n_q), (n_agg, lay.n_h))
    agg = csr_rows(gp.agg_of_link, np.arange(len(below)), np.ones(len(below)), (n_agg, len(below)))
    R.add(f"group_split_{t}", [(split, R.H)] + [(-(agg @ mat).tocsr(), v) for mat, v in R.link_flow(t + 1)], "==",
          np.zeros(n_agg), "hierarchy")
    bnd = gp.reach[gp.agg_group[gp.pair_a]]
    if not lay.tree_lp:
        aq = np.arange(n_q)
        R.add(f"group_link_{t}", [(csr_rows(aq, cols, np.ones(n_q), (n_q, lay.n_h)), R.H),
                                  (csr_rows(aq, o + gp.pair_m, -bnd, (n_q, lay.n_u)), R.U)], "<=", np.zeros(n_q),
              "hierarchy")
    m_par = p.tiers[t].size
    key = gp.agg_group[gp.pair_a] * np.int64(m_par) + p.links[t].parent[gp.pair_m]
    uniq, row_of = np.unique(key, return_inverse=True)
    a = csr_rows(row_of, cols, np.ones(n_q), (len(uniq), lay.n_h))
    ey = sp.csr_matrix((-gp.reach[uniq // np.int64(m_par)], (np.arange(len(uniq)), lay.y_off[t] + uniq % np.int64(m_par))),
                       shape=(len(uniq), lay.n_y))
    R.add(f"group_open_{t}", [(a, R.H), (ey, R.Y)], "<=", np.zeros(len(uniq)), "hierarchy")
