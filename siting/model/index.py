"""Index structures shared by the single-level formulations (private).

Everything here is numpy: the allowed pairs of a :class:`~siting.core.problem.Problem` are filtered once
(forbidden candidates dropped, impedance cutoff and coverage radius applied) and turned into CSR-style
row/column pointers, so that every Pyomo constraint family is built by slicing, never by looping over
all ``n x m`` combinations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from siting.core.problem import Problem

__all__ = [
    "PairIndex",
    "pair_index",
    "span",
    "linear_sum",
    "base_model",
    "add_count",
    "add_budget",
    "add_pair_vars",
    "add_assignment",
    "add_link",
    "open_sites",
    "pair_values",
    "nearest_open",
]


@dataclass(frozen=True, eq=False)
class PairIndex:
    """The pairs a formulation may use.

    Attributes
    ----------
    n, m : int
        Demand and candidate counts of the problem.
    cand : (q,) int64
        Candidates that exist in the model (not forbidden), sorted.
    required : (r,) int64
        Required candidates (a subset of ``cand``).
    pair : (k,) int64
        Positions of the kept pairs in the problem's pair arrays (sorted by demand, then candidate).
    pi, pj : (k,) int64
        Demand and candidate of each kept pair.
    dist : (k,) float64
        Distance (km) of each kept pair.
    row_ptr : (n + 1,) int64
        Kept pairs of demand ``i`` are ``k in range(row_ptr[i], row_ptr[i+1])``.
    col_order, col_ptr
        Kept pairs of candidate ``j`` are ``col_order[col_ptr[j]:col_ptr[j+1]]``.
    """

    n: int
    m: int
    cand: np.ndarray
    required: np.ndarray
    pair: np.ndarray
    pi: np.ndarray
    pj: np.ndarray
    dist: np.ndarray
    row_ptr: np.ndarray
    col_order: np.ndarray
    col_ptr: np.ndarray

    @property
    def k(self) -> int:
        return len(self.pair)

    def row(self, i: int) -> range:
        return range(int(self.row_ptr[i]), int(self.row_ptr[i + 1]))

    def col(self, j: int) -> np.ndarray:
        return self.col_order[self.col_ptr[j] : self.col_ptr[j + 1]]


def pair_index(
    problem: Problem,
    *,
    max_distance_km: float | None = None,
    radius_km: float | None = None,
    keep: np.ndarray | None = None,
) -> PairIndex:
    """Filter the problem's pairs: drop forbidden candidates, pairs beyond the cutoff or radius.

    ``keep`` is an optional extra boolean mask over the problem's pairs.
    """
    n, m = problem.n_demand, problem.n_candidates
    d = problem.distance_km
    mask = ~problem.forbidden[problem.pair_candidate]
    if max_distance_km is not None:
        mask &= d <= max_distance_km
    if radius_km is not None:
        mask &= d <= radius_km
    if keep is not None:
        mask &= keep
    pair = np.flatnonzero(mask).astype(np.int64)
    pi = problem.pair_demand[pair]
    pj = problem.pair_candidate[pair]
    row_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(pi, minlength=n), out=row_ptr[1:])
    col_order = np.argsort(pj, kind="stable").astype(np.int64)
    col_ptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(pj, minlength=m), out=col_ptr[1:])
    cand = np.flatnonzero(~problem.forbidden).astype(np.int64)
    required = np.flatnonzero(problem.required & ~problem.forbidden).astype(np.int64)
    return PairIndex(n, m, cand, required, pair, pi, pj, d[pair], row_ptr, col_order, col_ptr)


def linear_sum(coefs: np.ndarray | None, variables: list[Any]) -> Any:
    """``sum_k coefs[k] * variables[k]`` as one Pyomo linear expression (``0`` when empty)."""
    from pyomo.core.expr.numeric_expr import LinearExpression

    if not variables:
        return 0.0
    c = [1.0] * len(variables) if coefs is None else np.asarray(coefs, dtype=np.float64).tolist()
    return LinearExpression(constant=0.0, linear_coefs=c, linear_vars=list(variables))


def base_model(ix: PairIndex, name: str) -> Any:
    """A ConcreteModel with ``J`` (candidates in the model), ``y[j]`` binary and required ``y`` fixed to 1.

    The model carries ``ix`` (the :class:`PairIndex`) and ``families`` (constraint family name -> list of
    components), used to explain infeasibility.
    """
    import pyomo.environ as pyo

    model = pyo.ConcreteModel(name=name)
    model.J = pyo.Set(initialize=ix.cand.tolist(), ordered=True)
    model.y = pyo.Var(model.J, domain=pyo.Binary)
    for j in ix.required.tolist():
        model.y[j].fix(1)
    model.ix = ix
    model.families = {}
    return model


def span(first: int, last: int) -> Any:
    """The Pyomo set ``first..last`` (a RangeSet; an empty Set when ``last < first``)."""
    import pyomo.environ as pyo

    return pyo.RangeSet(first, last) if last >= first else pyo.Set(initialize=[], ordered=True)


def add_count(model: Any, p: int) -> None:
    """``sum_j y_j = p``."""
    import pyomo.environ as pyo

    model.count = pyo.Constraint(expr=linear_sum(None, list(model.y.values())) == int(p))
    model.families["facility count p"] = [model.count]


def add_budget(model: Any, fixed_cost: np.ndarray, budget_cny: float | None) -> None:
    """``sum_j f_j y_j <= B`` when a budget is given."""
    import pyomo.environ as pyo

    if budget_cny is None:
        return
    js = list(model.J)
    model.budget = pyo.Constraint(
        expr=linear_sum(fixed_cost[js], [model.y[j] for j in js]) <= float(budget_cny)
    )
    model.families["budget"] = [model.budget]


def open_sites(model: Any) -> np.ndarray:
    """Sorted candidate indices with ``y_j > 0.5``."""
    vals = model.y.extract_values()
    return np.array(sorted(j for j, v in vals.items() if v is not None and v > 0.5), dtype=np.int64)


def pair_values(model: Any, ix: PairIndex, n_pairs: int, *, binary: bool = False) -> np.ndarray:
    """Values of ``x`` (indexed by kept pair) scattered onto the problem's pairs; tiny values zeroed."""
    vals = model.x.extract_values()
    xv = np.array([vals[k] if vals[k] is not None else 0.0 for k in range(ix.k)], dtype=np.float64)
    xv = np.clip(xv, 0.0, 1.0)
    xv[xv < 1e-7] = 0.0
    if binary:
        xv = np.round(xv)
    out = np.zeros(n_pairs, dtype=np.float64)
    out[ix.pair] = xv
    return out


def nearest_open(ix: PairIndex, open_: np.ndarray, n_pairs: int) -> np.ndarray:
    """Allocation sending each demand wholly to its nearest open candidate among the kept pairs."""
    is_open = np.zeros(ix.m, dtype=bool)
    is_open[open_] = True
    ok = np.flatnonzero(is_open[ix.pj])
    out = np.zeros(n_pairs, dtype=np.float64)
    if len(ok) == 0:
        return out
    order = ok[np.lexsort((ix.pj[ok], ix.dist[ok], ix.pi[ok]))]
    _, first = np.unique(ix.pi[order], return_index=True)
    out[ix.pair[order[first]]] = 1.0
    return out


def add_pair_vars(model: Any, ix: PairIndex, *, binary: bool = False) -> list[Any]:
    """``x[k]`` for every kept pair (``[0, 1]`` continuous, or binary); returns them as a list."""
    import pyomo.environ as pyo

    model.K = span(0, ix.k - 1)
    model.x = pyo.Var(model.K, domain=pyo.Binary if binary else pyo.UnitInterval)
    return [model.x[k] for k in range(ix.k)]


def add_assignment(model: Any, ix: PairIndex, xs: list[Any], *, exact: bool = True) -> None:
    """``sum_j x_ij = 1`` (``exact``) or ``<= 1`` for every demand, one CSR row slice each.

    A demand with no kept pair gets an infeasible row when ``exact`` (the precheck reports it first).
    """
    import pyomo.environ as pyo

    ptr = ix.row_ptr

    def rule(_m: Any, i: int) -> Any:
        a, b = int(ptr[i]), int(ptr[i + 1])
        if a == b:
            return pyo.Constraint.Infeasible if exact else pyo.Constraint.Skip
        expr = linear_sum(None, xs[a:b])
        return expr == 1 if exact else expr <= 1

    model.I = span(0, ix.n - 1)
    model.assign = pyo.Constraint(model.I, rule=rule)
    model.families["assignment of every demand" if exact else "assignment"] = [model.assign]


def add_link(model: Any, ix: PairIndex, xs: list[Any]) -> None:
    """The strong linking ``x_ij <= y_j`` for every kept pair."""
    import pyomo.environ as pyo

    y, pj = model.y, ix.pj.tolist()
    model.link = pyo.Constraint(model.K, rule=lambda _m, k: xs[k] - y[pj[k]] <= 0)
    model.families["open-facility linking"] = [model.link]
