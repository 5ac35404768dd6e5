"""p-center: minimise the largest demand-to-facility distance."""

from __future__ import annotations

from typing import Any

import numpy as np

from siting.core.problem import Problem
from siting.model.index import add_assignment, add_budget, add_count, add_link, add_pair_vars, base_model, linear_sum, nearest_open, open_sites, pair_index, span

__all__ = ["build_p_center", "build_p_center_decision", "extract_center"]


def build_p_center(
    problem: Problem,
    *,
    p: int,
    max_distance_km: float | None = None,
    budget_cny: float | None = None,
    formulation: str = "radius",
) -> Any:
    r"""Vertex p-center (Hakimi 1965; unweighted, as spopt ``PCenter``), solved exactly.

    ``formulation="radius"`` (default) is a chained distinct-distance formulation in the spirit of
    Elloumi, Labbé & Pochet (2004) and Ales & Elloumi (2018), whose LP bound is far tighter than the
    assignment one. For demand :math:`i` let :math:`D_{i0} < \dots < D_{i,K_i}` be the distinct distances of
    its allowed pairs, :math:`B = \max_i D_{i0}` (no solution is better), and
    :math:`z_{ik} \in [0,1]` (:math:`k < K_i`) mean "no open site within :math:`D_{ik}`":

    .. math::

        z_{i0} + \sum_{j: d_{ij} = D_{i0}} y_j \ge 1,\qquad
        z_{ik} - z_{i,k-1} + \sum_{j: d_{ij} = D_{ik}} y_j \ge 0 \;(0<k<K_i),\qquad
        \sum_{j: d_{ij} = D_{iK_i}} y_j - z_{i,K_i-1} \ge 0,

    so every demand is served. With the distinct values :math:`B = U_0 < U_1 < \dots < U_S` among the
    :math:`D_{i,k+1} > B`, :math:`u_s \in [0,1]` means "the largest distance is at least :math:`U_s`":

    .. math::

        \min\; B + \sum_{s \ge 1} (U_s - U_{s-1})\, u_s
        \quad\text{s.t.}\quad u_{s(D_{i,k+1})} \ge z_{ik} \;(D_{i,k+1} > B),\qquad
        u_s \le u_{s-1},\qquad \sum_j y_j = p,

    ``y`` binary, required sites fixed open, budget when given. For integral ``y`` the least ``z`` and ``u``
    are integral, so ``z``, ``u`` are continuous. Size :math:`O(|A|)` variables, rows and nonzeros.

    ``formulation="assignment"`` is the textbook model
    :math:`\min z` s.t. :math:`\sum_j x_{ij} = 1`, :math:`x_{ij} \le y_j`, :math:`\sum_j y_j = p`,
    :math:`z \ge \sum_j d_{ij} x_{ij}\;\forall i`, :math:`x \in [0,1]`.

    ``A`` as in p-median (forbidden candidates and pairs beyond ``max_distance_km`` are not in the model).
    The reported solution allocates every demand to its nearest open site.

    :func:`siting.pipeline.locate.locate` does not use this one-model formulation: it bisects over the distinct
    distances with :func:`build_p_center_decision`, which is much faster on large instances. Both are
    checked against enumeration in the tests.
    """
    ix = pair_index(problem, max_distance_km=max_distance_km)
    if formulation == "assignment":
        return _assignment_model(problem, ix, p=p, budget_cny=budget_cny)
    if formulation != "radius":
        raise ValueError(f"unknown p-center formulation {formulation!r}")
    return _radius_model(problem, ix, p=p, budget_cny=budget_cny)


def _assignment_model(problem: Problem, ix: Any, *, p: int, budget_cny: float | None) -> Any:
    """The textbook p-center model (see :func:`build_p_center`, ``formulation="assignment"``)."""
    import pyomo.environ as pyo

    model = base_model(ix, "p-center")
    xs = add_pair_vars(model, ix)
    add_assignment(model, ix, xs, exact=True)
    add_link(model, ix, xs)
    add_count(model, p)
    add_budget(model, problem.fixed_cost_cny, budget_cny)
    model.z = pyo.Var(domain=pyo.NonNegativeReals)
    ptr, d = ix.row_ptr, ix.dist

    def radius_rule(m_: Any, i: int) -> Any:
        a, b = int(ptr[i]), int(ptr[i + 1])
        if a == b:
            return pyo.Constraint.Skip
        return linear_sum(d[a:b], xs[a:b]) - m_.z <= 0

    model.radius = pyo.Constraint(model.I, rule=radius_rule)
    model.obj = pyo.Objective(expr=model.z, sense=pyo.minimize)
    return model


def _distance_groups(ix: Any) -> tuple[np.ndarray, ...]:
    """Groups (demand, distinct distance) of the pairs sorted by demand then distance.

    Returns ``(gj, g_ptr, g_dem, g_dist, first, last)``: candidates in group order, the group pointer into
    them, each group's demand and distance, and whether it is its demand's first / last group.
    """
    order = np.lexsort((ix.dist, ix.pi))
    gi, gd, gj = ix.pi[order], ix.dist[order], ix.pj[order]
    k = len(order)
    new = np.ones(k, dtype=bool)
    if k:
        new[1:] = (gi[1:] != gi[:-1]) | (gd[1:] != gd[:-1])
    starts = np.flatnonzero(new)
    g_ptr = np.append(starts, k)
    g_dem, g_dist = gi[starts], gd[starts]
    n_g = len(starts)
    first = np.ones(n_g, dtype=bool)
    first[1:] = g_dem[1:] != g_dem[:-1]
    last = np.ones(n_g, dtype=bool)
    last[:-1] = g_dem[:-1] != g_dem[1:]
    return gj, g_ptr, g_dem, g_dist, first, last


def _radius_model(problem: Problem, ix: Any, *, p: int, budget_cny: float | None) -> Any:
    """The chained distinct-distance p-center model (see :func:`build_p_center`, ``formulation="radius"``)."""
    import pyomo.environ as pyo

    model = base_model(ix, "p-center")
    gj, g_ptr, _, g_dist, first, last = _distance_groups(ix)
    n_g = len(g_dist)
    base = float(g_dist[first].max()) if n_g else 0.0
    zg = np.flatnonzero(~last)  # groups with a z variable
    nxt = g_dist[np.minimum(zg + 1, max(n_g - 1, 0))]
    linked = zg[nxt > base]
    levels = np.unique(g_dist[linked + 1])  # U_1 < ... < U_S, all > base
    model.ZG = pyo.Set(initialize=zg.tolist(), ordered=True)
    model.z = pyo.Var(model.ZG, domain=pyo.UnitInterval)
    model.S = span(1, len(levels))
    model.u = pyo.Var(model.S, domain=pyo.UnitInterval)
    y, z, u = model.y, model.z, model.u
    gj_list = gj.tolist()

    def serve_rule(_m: Any, h: int) -> Any:
        terms = [y[j] for j in gj_list[g_ptr[h] : g_ptr[h + 1]]]
        coefs = [1.0] * len(terms)
        if not last[h]:
            terms.append(z[h]), coefs.append(1.0)
        if not first[h]:
            terms.append(z[h - 1]), coefs.append(-1.0)
        return linear_sum(coefs, terms) >= (1 if first[h] else 0)

    model.G = span(0, n_g - 1)
    model.serve = pyo.Constraint(model.G, rule=serve_rule)
    model.families["assignment of every demand"] = [model.serve]
    level_of = (np.searchsorted(levels, g_dist[linked + 1]) + 1).tolist()
    pairs = list(zip(linked.tolist(), level_of))
    model.L = span(0, len(pairs) - 1)
    model.reach = pyo.Constraint(model.L, rule=lambda _m, r: u[pairs[r][1]] - z[pairs[r][0]] >= 0)
    model.C = span(2, len(levels))
    model.chain = pyo.Constraint(model.C, rule=lambda _m, s: u[s] - u[s - 1] <= 0)
    add_count(model, p)
    add_budget(model, problem.fixed_cost_cny, budget_cny)
    steps = np.diff(np.concatenate([[base], levels]))
    model.obj = pyo.Objective(
        expr=base + linear_sum(steps, [u[s] for s in range(1, len(levels) + 1)]), sense=pyo.minimize
    )
    return model


def extract_center(problem: Problem, model: Any) -> tuple[np.ndarray, np.ndarray]:
    """Open candidates; every demand allocated to its nearest open candidate."""
    open_ = open_sites(model)
    return open_, nearest_open(model.ix, open_, problem.n_pairs)


def build_p_center_decision(
    problem: Problem,
    *,
    radius_km: float,
    p: int,
    max_distance_km: float | None = None,
    budget_cny: float | None = None,
) -> Any:
    r"""Decision version of p-center: can ``p`` open sites serve every demand within ``radius_km``?

    .. math::

        \sum_{j \in N_i(r)} y_j \ge 1 \;\forall i,\qquad \sum_j y_j = p,\qquad
        \sum_j f_j y_j \le B \text{ (if given)},\qquad y_j = 1 \text{ (required)},\qquad y \in \{0,1\},

    with a zero objective (pure feasibility; HiGHS stops at the first solution).
    """
    import pyomo.environ as pyo

    ix = pair_index(problem, max_distance_km=max_distance_km, radius_km=radius_km)
    model = base_model(ix, "p-center decision")
    pj = ix.pj.tolist()
    y = model.y
    model.I = span(0, ix.n - 1)

    def cover_rule(_m: Any, i: int) -> Any:
        a, b = int(ix.row_ptr[i]), int(ix.row_ptr[i + 1])
        if a == b:
            return pyo.Constraint.Infeasible
        return linear_sum(None, [y[j] for j in pj[a:b]]) >= 1

    model.cover = pyo.Constraint(model.I, rule=cover_rule)
    model.families["coverage of every demand within the radius"] = [model.cover]
    add_count(model, p)
    add_budget(model, problem.fixed_cost_cny, budget_cny)
    model.obj = pyo.Objective(expr=0.0, sense=pyo.minimize)
    return model
