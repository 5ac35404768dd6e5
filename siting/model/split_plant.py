from __future__ import annotations

from typing import Any
import numpy as np
from siting.core.problem import Problem
from siting.model.matrix import linear_expression, matrix_rows
from siting.model.radius import pyomo_env


def build_cflp_split(problem: Problem, *, use_time: bool = False) -> Any:
    """The strong split-demand CFLP model (module docstring) over the allowed pairs, as a Pyomo model.

    ``model.y[j]`` binary per candidate, ``model.x[q]`` in [0, 1] per allowed pair ``q`` (aligned with
    ``problem.pair_demand``); rows ``assign``, ``link``, ``capacity`` (finite capacities only) and
    ``total_capacity``.
    """
    pyo = pyomo_env()
    n, m, k = problem.n_demand, problem.n_candidates, problem.n_pairs
    pi, pj = problem.pair_demand, problem.pair_candidate
    w = problem.weight
    d = problem.impedance(use_time=use_time)
    cap = problem.capacity
    model = pyo.ConcreteModel(name="cflp-split")
    model.y = pyo.Var(range(m), domain=pyo.Binary)
    model.x = pyo.Var(range(k), bounds=(0.0, 1.0))
    y = list(model.y.values())
    x = list(model.x.values())
    for j in np.flatnonzero(problem.forbidden).tolist():
        y[j].fix(0)
    for j in np.flatnonzero(problem.required).tolist():
        y[j].fix(1)
    yx = y + x  # columns: y = 0..m-1, x = m..m+k-1
    q = np.arange(k)
    model.assign = matrix_rows(pi, m + q, 1.0, yx, n_rows=n, lower=1.0, upper=1.0)
    model.link = matrix_rows(np.r_[q, q], np.r_[m + q, pj], np.r_[np.ones(k), -np.ones(k)], yx, n_rows=k,
                             upper=0.0)
    finite = np.flatnonzero(np.isfinite(cap))
    if len(finite):
        row_of = np.full(m, -1)
        row_of[finite] = np.arange(len(finite))
        qq = q[row_of[pj] >= 0]
        model.capacity = matrix_rows(np.r_[row_of[pj[qq]], np.arange(len(finite))], np.r_[m + qq, finite],
                                     np.r_[w[pi[qq]], -cap[finite]], yx, n_rows=len(finite), upper=0.0)
    if len(finite) == m:
        model.total_capacity = matrix_rows(np.zeros(m), np.arange(m), cap, y, n_rows=1, lower=float(w.sum()))
    obj = np.concatenate([problem.fixed_cost_cny, w[pi] * d])
    model.obj = pyo.Objective(expr=linear_expression(obj, yx), sense=pyo.minimize)
    return model
