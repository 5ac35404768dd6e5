"""Coverage models: LSCP, LSCP with backup coverage (LSCP-B), MCLP."""

from __future__ import annotations

from typing import Any

import numpy as np

from siting.core.problem import Problem
from siting.model.index import add_budget, add_count, base_model, linear_sum, nearest_open, open_sites, pair_index, span

__all__ = ["build_lscp", "build_lscp_b", "build_mclp", "extract_cover"]


def _cover_rows(model: Any) -> list[list[Any]]:
    """For each demand, the list of ``y_j`` of candidates covering it (CSR row slices)."""
    ix = model.ix
    pj = ix.pj.tolist()
    y = model.y
    return [[y[j] for j in pj[ix.row_ptr[i] : ix.row_ptr[i + 1]]] for i in range(ix.n)]


def build_lscp(
    problem: Problem,
    *,
    radius_km: float,
    objective: str = "count",
    max_distance_km: float | None = None,
    budget_cny: float | None = None,
) -> Any:
    r"""Location set covering (Toregas et al. 1971).

    .. math::

        \min \sum_j c_j y_j \quad\text{s.t.}\quad \sum_{j \in N_i} y_j \ge 1 \;\forall i,

    ``c_j = 1`` (``objective="count"``: fewest facilities) or ``c_j = f_j`` (``objective="fixed_cost"``),
    :math:`N_i = \{j : (i,j)\in A,\ d_{ij} \le` ``radius_km``:math:`\}`, every demand row (whatever its
    weight) must be covered, :math:`y_j = 1` for required sites, budget :math:`\sum_j f_j y_j \le B` when
    given, ``y`` binary.
    """
    import pyomo.environ as pyo

    ix = pair_index(problem, max_distance_km=max_distance_km, radius_km=radius_km)
    model = base_model(ix, "lscp")
    rows = _cover_rows(model)
    model.I = span(0, ix.n - 1)
    model.cover = pyo.Constraint(
        model.I,
        rule=lambda _m, i: linear_sum(None, rows[i]) >= 1 if rows[i] else pyo.Constraint.Infeasible,
    )
    model.families["coverage of every demand within the radius"] = [model.cover]
    add_budget(model, problem.fixed_cost_cny, budget_cny)
    js = list(model.J)
    c = np.ones(len(js)) if objective == "count" else problem.fixed_cost_cny[js]
    model.obj = pyo.Objective(expr=linear_sum(c, [model.y[j] for j in js]), sense=pyo.minimize)
    return model


def build_lscp_b(
    problem: Problem,
    *,
    radius_km: float,
    p: int,
    max_distance_km: float | None = None,
    budget_cny: float | None = None,
) -> Any:
    r"""LSCP with backup coverage (spopt ``LSCPB``; Church & Murray 2018, Hogan & ReVelle 1986).

    Second stage after an LSCP: with ``p`` the minimal number of facilities,

    .. math::

        \max \sum_i w_i u_i \quad\text{s.t.}\quad
        \sum_{j \in N_i} y_j \ge 1 + u_i \;\forall i,\qquad \sum_j y_j = p,\qquad 0 \le u_i \le 1,

    so every demand is covered and ``u_i = 1`` when it is covered at least twice (``u`` continuous: for
    integral ``y`` the optimum is integral). With all weights 1 this is spopt's objective (number of demand
    points with backup coverage). Required sites, budget and :math:`N_i` as in :func:`build_lscp`.
    """
    import pyomo.environ as pyo

    ix = pair_index(problem, max_distance_km=max_distance_km, radius_km=radius_km)
    model = base_model(ix, "lscp-b")
    rows = _cover_rows(model)
    model.I = span(0, ix.n - 1)
    model.u = pyo.Var(model.I, domain=pyo.UnitInterval)
    model.cover = pyo.Constraint(
        model.I,
        rule=lambda m_, i: linear_sum(None, rows[i]) - m_.u[i] >= 1 if rows[i] else pyo.Constraint.Infeasible,
    )
    model.families["coverage of every demand within the radius"] = [model.cover]
    add_count(model, p)
    add_budget(model, problem.fixed_cost_cny, budget_cny)
    us = [model.u[i] for i in range(ix.n)]
    model.obj = pyo.Objective(expr=linear_sum(problem.weight, us), sense=pyo.maximize)
    return model


def build_mclp(
    problem: Problem,
    *,
    radius_km: float,
    p: int,
    max_distance_km: float | None = None,
    budget_cny: float | None = None,
) -> Any:
    r"""Maximal covering location (Church & ReVelle 1974).

    .. math::

        \max \sum_{i \in C} w_i z_i \quad\text{s.t.}\quad
        z_i \le \sum_{j \in N_i} y_j \;\forall i \in C,\qquad \sum_j y_j = p,\qquad 0 \le z_i \le 1,

    ``C`` the demands with a non-empty :math:`N_i` (others cannot be covered and get no variable), ``z``
    continuous (integral at the optimum for integral ``y``), ``y`` binary; required sites, budget and
    :math:`N_i` as in :func:`build_lscp`.
    """
    import pyomo.environ as pyo

    ix = pair_index(problem, max_distance_km=max_distance_km, radius_km=radius_km)
    model = base_model(ix, "mclp")
    rows = _cover_rows(model)
    coverable = [i for i in range(ix.n) if rows[i]]
    model.C = pyo.Set(initialize=coverable, ordered=True)
    model.z = pyo.Var(model.C, domain=pyo.UnitInterval)
    model.cover = pyo.Constraint(model.C, rule=lambda m_, i: m_.z[i] - linear_sum(None, rows[i]) <= 0)
    model.families["coverage"] = [model.cover]
    add_count(model, p)
    add_budget(model, problem.fixed_cost_cny, budget_cny)
    model.obj = pyo.Objective(
        expr=linear_sum(problem.weight[coverable], [model.z[i] for i in coverable]), sense=pyo.maximize
    )
    return model


def extract_cover(problem: Problem, model: Any) -> tuple[np.ndarray, np.ndarray]:
    """Open candidates; each covered demand allocated wholly to its nearest open covering candidate."""
    open_ = open_sites(model)
    return open_, nearest_open(model.ix, open_, problem.n_pairs)
