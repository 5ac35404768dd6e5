"""Plant location: uncapacitated (UFLP) and capacitated (CFLP, split or single-source)."""

from __future__ import annotations

from typing import Any

import numpy as np

from siting.core.problem import Problem
from siting.model.index import add_assignment, add_budget, add_link, add_pair_vars, base_model, linear_sum, pair_index
from siting.model.decay import Decay

__all__ = ["build_uflp", "build_cflp"]


def _objective(problem: Problem, model: Any, xs: list[Any], cost_per_unit_km: float, decay: Decay | None) -> None:
    import pyomo.environ as pyo

    ix = model.ix
    js = list(model.J)
    imp = ix.dist if decay is None else decay.transform(ix.dist)
    c = cost_per_unit_km * problem.weight[ix.pi] * imp
    coefs = np.concatenate([problem.fixed_cost_cny[js], c])
    model.obj = pyo.Objective(
        expr=linear_sum(coefs, [model.y[j] for j in js] + xs), sense=pyo.minimize
    )


def build_uflp(
    problem: Problem,
    *,
    max_distance_km: float | None = None,
    budget_cny: float | None = None,
    decay: Decay | None = None,
    cost_per_unit_km: float = 1.0,
) -> Any:
    r"""Uncapacitated facility location (Balinski 1965), strong formulation.

    .. math::

        \min \sum_j f_j y_j + \sum_{(i,j)\in A} r\, w_i\, t(d_{ij})\, x_{ij}
        \quad\text{s.t.}\quad
        \sum_{j:(i,j)\in A} x_{ij} = 1 \;\forall i,\qquad x_{ij} \le y_j,

    with :math:`\sum_j f_j y_j \le B` when a budget is given, :math:`y_j = 1` for required sites,
    :math:`x \in [0,1]` continuous, :math:`y` binary. ``r`` is ``cost_per_unit_km`` (CNY per unit of
    demand per km; 1 makes the assignment cost ``w * d``, which is how OR-Library costs are read when
    ``distance_km`` holds the per-unit cost). ``t`` as in p-median; ``A`` as in p-median.
    """
    ix = pair_index(problem, max_distance_km=max_distance_km)
    model = base_model(ix, "uflp")
    xs = add_pair_vars(model, ix)
    add_assignment(model, ix, xs, exact=True)
    add_link(model, ix, xs)
    add_budget(model, problem.fixed_cost_cny, budget_cny)
    _objective(problem, model, xs, cost_per_unit_km, decay)
    return model


def build_cflp(
    problem: Problem,
    *,
    single_source: bool = False,
    max_distance_km: float | None = None,
    budget_cny: float | None = None,
    decay: Decay | None = None,
    cost_per_unit_km: float = 1.0,
) -> Any:
    r"""Capacitated facility location, split (``x`` continuous) or single-source (``x`` binary).

    The UFLP model plus

    .. math::

        \sum_{i:(i,j)\in A} w_i x_{ij} \le u_j\, y_j \;\forall j \text{ with } u_j < \infty,
        \qquad \sum_{j} u_j y_j \ge \sum_i w_i \;\text{(valid aggregate cut, all } u_j < \infty),

    keeping the strong :math:`x_{ij} \le y_j`. ``single_source=True`` makes :math:`x_{ij} \in \{0,1\}`:
    each demand is served by exactly one facility.
    """
    import pyomo.environ as pyo

    ix = pair_index(problem, max_distance_km=max_distance_km)
    model = base_model(ix, "cflp-ss" if single_source else "cflp")
    xs = add_pair_vars(model, ix, binary=single_source)
    add_assignment(model, ix, xs, exact=True)
    add_link(model, ix, xs)
    cap = problem.capacity
    w = problem.weight
    finite = [j for j in model.J if np.isfinite(cap[j])]

    def cap_rule(_m: Any, j: int) -> Any:
        ks = ix.col(j)
        return linear_sum(np.append(w[ix.pi[ks]], -cap[j]), [xs[k] for k in ks.tolist()] + [model.y[j]]) <= 0

    model.JC = pyo.Set(initialize=finite, ordered=True)
    model.capacity = pyo.Constraint(model.JC, rule=cap_rule)
    model.families["capacity"] = [model.capacity]
    if finite and len(finite) == len(model.J) and len(finite) > 0:
        model.cover_demand = pyo.Constraint(
            expr=linear_sum(cap[finite], [model.y[j] for j in finite]) >= float(w.sum())
        )
        model.families["capacity"].append(model.cover_demand)
    add_budget(model, problem.fixed_cost_cny, budget_cny)
    _objective(problem, model, xs, cost_per_unit_km, decay)
    return model
