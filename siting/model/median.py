"""p-median and maximise-attendance (the ArcGIS "Minimize Impedance" / "Maximize Attendance" pair)."""

from __future__ import annotations

from typing import Any

import numpy as np

from siting.core.problem import Problem
from siting.model.index import add_assignment, add_budget, add_count, add_link, add_pair_vars, base_model, linear_sum, open_sites, pair_index, pair_values
from siting.model.decay import Decay

__all__ = ["build_p_median", "build_attendance", "extract_assignment", "extract_single_source"]


def build_p_median(
    problem: Problem,
    *,
    p: int,
    max_distance_km: float | None = None,
    budget_cny: float | None = None,
    decay: Decay | None = None,
) -> Any:
    r"""p-median (ReVelle & Swain 1970), strong disaggregated formulation.

    .. math::

        \min \sum_{(i,j) \in A} w_i\, t(d_{ij})\, x_{ij}
        \quad\text{s.t.}\quad
        \sum_{j:(i,j)\in A} x_{ij} = 1 \;\forall i,\qquad
        x_{ij} \le y_j \;\forall (i,j) \in A,\qquad
        \sum_j y_j = p,

    :math:`\sum_j f_j y_j \le B` when ``budget_cny`` is given, :math:`y_j = 1` for required candidates,
    :math:`0 \le x_{ij} \le 1` (continuous: for fixed ``y`` the assignment LP is integral), :math:`y_j`
    binary. ``A`` holds the problem's allowed pairs with :math:`d_{ij} \le` ``max_distance_km`` and a
    candidate that is not forbidden (forbidden candidates are not in the model at all). ``t(d) = d``, or
    the ArcGIS impedance transformation of ``decay`` (:meth:`Decay.transform`).
    """
    ix = pair_index(problem, max_distance_km=max_distance_km)
    model = base_model(ix, "p-median")
    xs = add_pair_vars(model, ix)
    imp = ix.dist if decay is None else decay.transform(ix.dist)
    cost = problem.weight[ix.pi] * imp
    add_assignment(model, ix, xs, exact=True)
    add_link(model, ix, xs)
    add_count(model, p)
    add_budget(model, problem.fixed_cost_cny, budget_cny)
    import pyomo.environ as pyo

    model.obj = pyo.Objective(expr=linear_sum(cost, xs), sense=pyo.minimize)
    return model


def build_attendance(
    problem: Problem,
    *,
    p: int,
    decay: Decay,
    max_distance_km: float | None = None,
    budget_cny: float | None = None,
) -> Any:
    r"""Maximise attendance (ArcGIS "Maximize Attendance"): demand attracted decays with distance.

    .. math::

        \max \sum_{(i,j) \in A} w_i\, g(d_{ij})\, x_{ij}
        \quad\text{s.t.}\quad
        \sum_{j:(i,j)\in A} x_{ij} \le 1 \;\forall i,\qquad
        x_{ij} \le y_j,\qquad
        \sum_j y_j = p,

    plus budget and required sites as in p-median. ``g`` is the decay factor of ``decay``
    (:meth:`Decay.factor`, decreasing in ``d``), so each demand is served by its nearest open facility, as
    ArcGIS does, and attends with weight ``w_i g(d)``. ``A`` drops pairs beyond ``max_distance_km``, with a
    forbidden candidate, or with ``g(d) = 0``. ``x`` continuous, ``y`` binary.
    """
    g_all = decay.factor(problem.distance_km)
    ix = pair_index(problem, max_distance_km=max_distance_km, keep=g_all > 0)
    model = base_model(ix, "attendance")
    xs = add_pair_vars(model, ix)
    gain = problem.weight[ix.pi] * g_all[ix.pair]
    add_assignment(model, ix, xs, exact=False)
    add_link(model, ix, xs)
    add_count(model, p)
    add_budget(model, problem.fixed_cost_cny, budget_cny)
    import pyomo.environ as pyo

    model.obj = pyo.Objective(expr=linear_sum(gain, xs), sense=pyo.maximize)
    return model


def extract_assignment(problem: Problem, model: Any) -> tuple[np.ndarray, np.ndarray]:
    """Open candidates and the ``x`` values on the problem's pairs (continuous assignment models)."""
    return open_sites(model), pair_values(model, model.ix, problem.n_pairs)


def extract_single_source(problem: Problem, model: Any) -> tuple[np.ndarray, np.ndarray]:
    """Open candidates and the rounded binary ``x`` values (single-source models)."""
    return open_sites(model), pair_values(model, model.ix, problem.n_pairs, binary=True)
