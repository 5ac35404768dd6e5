r"""Multi-tier (hierarchical) facility location: a single-sourcing tree of open facilities.

Notation (all sets come from a :class:`~siting.core.network.NetworkProblem`; nothing is read from files):

* tiers :math:`t = 0 \dots T-1`, 0 = top (hubs), :math:`T-1` = bottom (serves demand);
* :math:`J_t` candidates of tier *t*, with fixed cost :math:`F_j` (CNY/yr), handling cost :math:`h_j`
  (CNY/unit), capacity :math:`Q_j` (units/yr, may be :math:`\infty`);
* demand points :math:`i \in I` with volume :math:`w_i` (units/yr);
* allowed links :math:`L_t` serving tier *t*: pairs (child, parent) with parent in :math:`J_t` and child in
  :math:`I` (for :math:`t = T-1`) or in :math:`J_{t+1}`; each has a length :math:`d_l` (km). Radii, "same
  planning unit" rules and gateway access were applied when the links and candidates were built, so every
  variable below exists only for an allowed pair;
* :math:`c_t` transport cost on the links serving tier *t* (CNY per unit·km).

Variables:

* :math:`y_j \in \{0,1\}` open candidate *j* (of any tier); fixed to 1 (required) or 0 (forbidden, or a
  candidate of tier :math:`t>0` that has no allowed parent link);
* :math:`x_l \in \{0,1\}` for :math:`l=(i,j) \in L_{T-1}`: demand *i* served by bottom facility *j*
  (continuous in [0, 1] when ``single_sourcing`` is off: then :math:`x_l` is the share served);
* :math:`u_l \in \{0,1\}` for :math:`l=(j,k) \in L_t, t<T-1`: open facility *j* of tier *t+1* is served by
  facility *k* of tier *t*;
* :math:`f_l \ge 0` for the same links: volume per year sent from *j* to *k*.

Inflow (volume handled) of a facility: :math:`V_j = \sum_{l=(i,j)\in L_{T-1}} w_i x_l` at the bottom tier,
:math:`V_k = \sum_{l=(j,k)\in L_t} f_l` above it.

Constraints (the family name in brackets is what the infeasibility diagnosis relaxes):

.. math::

   \sum_{l=(i,\cdot)} x_l &= 1 \quad (\le 1 \text{ for the coverage objective}) && [assignment] \\
   x_l &\le y_j && l=(i,j) \quad [linking] \\
   \sum_{l=(j,\cdot)\in L_{t-1}} u_l &= y_j && j \in J_t,\ t>0 \quad [hierarchy] \\
   u_l &\le y_k && l=(j,k) \quad [linking] \\
   f_l &\le M_l\, u_l && [hierarchy] \\
   \sum_{l=(j,\cdot)\in L_{t-1}} f_l &= V_j && j\in J_t,\ t>0 \quad [conservation] \\
   V_j &\le Q_j\, y_j && Q_j < \infty \quad [capacity] \\
   \sum_{j \in J_t \cap G} y_j &\;\{=,\ge,\le\}\; n && \text{per count rule and group } G \quad [counts] \\
   \sum_{t} y_{t,s} &\le 1 && \text{per physical site } s \text{ if co-location is off} \quad [colocation] \\
   \text{cost} &\le B && \text{if a budget is set} \quad [budget]

with :math:`M_l = R_j`, the total demand that can reach *j* through allowed links (sparse boolean products,
:meth:`NetworkProblem.reachable_demand`): the tightest a-priori bound that does not depend on another
constraint family (capacities stay in their own rows, so the infeasibility diagnosis can relax them).
The linking constraints are disaggregated (one per allowed pair) and no other big-M appears: capacities
multiply :math:`y_j` only where finite.

**Path flows** (the strong form, used by default on the level just above the bottom tier, on every level
when small). At a level *t* < T-1 the aggregated flows :math:`f` are replaced by path variables
:math:`g_{l,m} \ge 0` for each lower link :math:`l \in L_{t+1}` and each upper link :math:`m \in L_t` that
continues it (child(m) = parent(l)): the volume of link *l* that goes on through *m*. With
:math:`F_l` the volume on *l* (:math:`w_i x_l` at the bottom) and :math:`B_c` the largest volume a child *c*
can send (:math:`w_i` for a demand point, :math:`R_c` for a facility):

.. math::

   \sum_{m} g_{l,m} &= F_l && \text{each lower link (split)} \\
   g_{l,m} &\le B_{\mathrm{child}(l)}\, u_m && \text{(the volume follows the parent link chosen)} \\
   \sum_{l: \mathrm{child}(l) = c,\ m: \mathrm{parent}(m) = k} g_{l,m} &\le B_c\, y_k
        && \text{each child } c \text{ and facility } k \text{ two tiers up (strong linking)}

At the bottom this is the classical disaggregation by demand point: a township's parcels pass a park only in
proportion to that park being open, which removes the weak-LP effect of :math:`f \le M u` (the LP would
otherwise ship every collection point's volume to its nearest, barely open, park).

**Group paths** (:mod:`siting.model.multitier_groups`): on a level without path flows, the same strong
linking aggregated by the groups of the facilities two tiers down (variables ``h``).

**Group cuts** on aggregated levels: for every group *G* of tier-(t+1) candidates (the groups of the count
rules of tiers *t* and *t+1* and of the ``link_same`` rule, e.g. the planning units or regions) and every
parent *k*: :math:`\sum_{j \in G} f_{jk} \le R_G\, y_k` with :math:`R_G` the demand that can reach *G*. Valid
for any grouping; tight when exactly one member of *G* opens (one park per unit, one hub per region).

**Exact relaxation of the assignments.** With no finite capacity, no budget and the cost objective, every
integral :math:`y` has an integral optimal :math:`(x, u)`: each unit of volume takes a cheapest path to the
top and all volume at one facility shares it. Then :math:`x, u` are continuous, the rows
:math:`g \le B u` are dropped (HiGHS branches on :math:`y` only) and the solution is read back by an exact
top-down cheapest-tree pass that never costs more than the solver's own assignment. Otherwise (capacities,
a budget, or the coverage objective) :math:`x` and :math:`u` are binary.

Objective, total annual cost in CNY/yr:

.. math::

   \min \sum_j F_j y_j + \sum_{l=(i,j)\in L_{T-1}} (c_{T-1} d_l + h_j)\, w_i x_l
        + \sum_{t<T-1} \sum_{l=(j,k)\in L_t} (c_t d_l + h_k)\, (\text{volume on } l)

or, with ``objective = "coverage"``, :math:`\max \sum_l w_i x_l` (demand served within the radii) subject
to the budget. Volumes are scaled by the largest demand and the objective by a power of ten inside the model
(HiGHS tolerances); reported values are in CNY/yr.

Co-location: a physical site that is a candidate of several tiers may host all of them (each opened tier pays
its fixed cost) unless ``colocation`` is off.

The model is built from numpy/CSR arrays: each constraint family is one Pyomo component indexed by
integers, with its rows cut from a sparse matrix; there is no loop over demand × candidate pairs. Each
family is one function of :mod:`siting.model.multitier_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from siting.core.network import NetworkProblem
from siting.model.multitier_rows import (Rows, add_assignment, add_capacities, add_colocation, add_counts,
                                         add_fixings, add_level, add_objective, plan_layout)
from siting.model.tree import cheapest_tree


#: constraint families, in the order the infeasibility diagnosis relaxes them
FAMILIES = ("counts", "required", "capacity", "budget", "colocation", "assignment")


@dataclass
class MultiTierModel:
    """A built Pyomo model plus the index maps needed to read its solution back.

    Attributes
    ----------
    model
        The Pyomo ``ConcreteModel`` (variables ``y``, ``x``, ``u``, ``f``).
    problem
        The problem it was built from.
    y_offset
        Start of each tier's candidates in the flat ``y`` index.
    u_offset
        Start of each upper tier's links in the flat ``u``/``f`` index (``None`` for the bottom tier).
    families
        Constraint components per family, for the infeasibility diagnosis.
    flow_bound
        Unused (kept for reports).
    fixed_y
        Flat ``y`` indices fixed before solving (1 = required, 0 = forbidden or orphan).
    objective_scale
        The model's objective is the problem's objective (CNY/yr, or covered units/yr) times this factor.
    tree_lp
        Assignments (``x``, ``u``) are continuous (uncapacitated cost minimisation without a budget); the
        solution is read back through :func:`cheapest_tree`.
    wscale, path_pairs, path_offset, mode
        Volume scale, the path-variable index maps per level, and the path mode used.
    group_paths, group_offset
        The group paths (:class:`~siting.model.multitier_groups.GroupPaths`) per level and the start of each
        level's variables in ``h``.
    """

    model: Any
    problem: NetworkProblem
    y_offset: np.ndarray
    u_offset: list[int | None]
    families: dict[str, list[Any]] = field(default_factory=dict)
    flow_bound: np.ndarray | None = None
    fixed_y: dict[int, float] = field(default_factory=dict)
    objective_scale: float = 1.0
    tree_lp: bool = False
    wscale: float = 1.0
    path_pairs: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    path_offset: dict[int, int] = field(default_factory=dict)
    mode: str = "none"
    group_paths: dict[int, Any] = field(default_factory=dict)
    group_offset: dict[int, int] = field(default_factory=dict)

    def solution(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Read ``(open, link_used, link_flow)`` per tier from the loaded variable values."""
        p = self.problem
        m = self.model
        T = p.n_tiers
        yv = np.array([m.y[g].value if m.y[g].value is not None else 0.0 for g in range(int(self.y_offset[-1]))])
        opened = tuple(yv[self.y_offset[t] : self.y_offset[t + 1]] > 0.5 for t in range(T))
        if self.tree_lp:
            used_t, flow_t = cheapest_tree(p, opened)
            self.load_solution(opened, used_t, flow_t)
            return opened, used_t, flow_t
        used: list[np.ndarray] = []
        flow: list[np.ndarray] = []
        for t in range(T):
            lk = p.links[t]
            k = len(lk)
            if t == T - 1:
                xv = np.array([m.x[l].value if m.x[l].value is not None else 0.0 for l in range(k)])
                xv = np.clip(xv, 0.0, 1.0)
                if p.single_sourcing:
                    xv = np.where(xv > 0.5, 1.0, 0.0)
                else:
                    xv = np.where(xv > 1e-7, xv, 0.0)
                used.append(xv > 0)
                flow.append(xv * p.weight[lk.child])
            else:
                o = self.u_offset[t]
                uv = np.array([m.u[o + l].value if m.u[o + l].value is not None else 0.0 for l in range(k)])
                ub = uv > 0.5
                used.append(ub)
                flow.append(np.zeros(k))  # filled below from the exact bottom-up sums
        # carry flows up the tree exactly (the LP values carry solver tolerances)
        for t in range(T - 2, -1, -1):
            below = self.problem.links[t + 1]
            inflow = np.bincount(below.parent, weights=flow[t + 1], minlength=p.tiers[t + 1].size)
            lk = p.links[t]
            flow[t] = np.where(used[t], inflow[lk.child], 0.0)
        return opened, tuple(used), tuple(flow)


    def load_solution(self, opened: tuple[np.ndarray, ...], used: tuple[np.ndarray, ...],
                      flow: tuple[np.ndarray, ...]) -> None:
        """Set every model variable to an integral solution, so that the model's objective evaluates it.

        The warm start (:mod:`siting.network.start`) and :meth:`solution` (cheapest-tree pass) load their
        solutions this way; fixed ``y`` variables (required, forbidden, orphan sites) keep their values.

        Parameters
        ----------
        opened : tuple of (m_t,) bool arrays
            Open candidates per tier.
        used : tuple of (k_t,) bool arrays
            Used links per tier (``problem.links[t]``).
        flow : tuple of (k_t,) float arrays
            Volume per link and tier, in the problem's weight unit per year (unscaled).
        """
        p, m = self.problem, self.model
        T = p.n_tiers
        for t in range(T):
            for j, v in enumerate(opened[t]):
                var = m.y[int(self.y_offset[t] + j)]
                if not var.fixed:
                    var.set_value(1.0 if v else 0.0, skip_validation=True)
        for l, v in enumerate(used[T - 1]):
            m.x[l].set_value(1.0 if v else 0.0, skip_validation=True)
        wscale = self.wscale
        for t in range(T - 1):
            o = int(self.u_offset[t])  # type: ignore[arg-type]
            for l, v in enumerate(used[t]):
                m.u[o + l].set_value(1.0 if v else 0.0, skip_validation=True)
                if (o + l) in m.f:
                    m.f[o + l].set_value(float(flow[t][l]) / wscale, skip_validation=True)
        for t, (lo, up) in self.path_pairs.items():
            o = self.path_offset[t]
            lower_flow = flow[t + 1][lo] / wscale
            gv = np.where(used[t + 1][lo] & used[t][up], lower_flow, 0.0)
            for q, v in enumerate(gv):
                m.g[o + q].set_value(float(v), skip_validation=True)
        for t, gp in self.group_paths.items():
            o = self.group_offset[t]
            agg_flow = np.bincount(gp.agg_of_link, weights=np.where(used[t + 1], flow[t + 1], 0.0),
                                   minlength=len(gp.agg_group)) / wscale
            hv = np.where(used[t][gp.pair_m], agg_flow[gp.pair_a], 0.0)
            for q, v in enumerate(hv):
                m.h[o + q].set_value(float(v), skip_validation=True)


def build_multitier(problem: NetworkProblem, *, name: str | None = None, strong: bool | str = "auto",
                    relax_assignments: bool = True, max_path_vars: int = 60_000) -> MultiTierModel:
    """Build the Pyomo model of ``problem`` (maths in the module docstring).

    Parameters
    ----------
    problem
        The multi-tier instance.
    name
        Pyomo model name (default: the problem name).
    strong
        Which levels carry path (disaggregated) flows: ``"all"``, ``"bottom"`` (the level just above the
        bottom tier), ``False``/``"none"`` (aggregated flows ``f <= M u`` everywhere), a set of level indices,
        or ``"auto"``/``True`` (see :func:`siting.model.multitier_rows.auto_levels`).
    relax_assignments
        Allow continuous assignment variables when that is exact (uncapacitated, cost objective, no budget).
    max_path_vars
        Size limit of the ``"auto"`` choice.

    Returns
    -------
    MultiTierModel
        The model, with the maps to read the solution back.
    """
    import pyomo.environ as pyo

    p = problem
    lay = plan_layout(p, strong=strong, relax_assignments=relax_assignments, max_path_vars=max_path_vars)
    model = pyo.ConcreteModel(name=name or p.name)
    families: dict[str, list[Any]] = {k: [] for k in FAMILIES}
    families["hierarchy"] = []
    rows = Rows(model, lay, families)
    # the order of the families is the row order HiGHS sees (its search path depends on it)
    fixed = add_fixings(rows)
    add_assignment(rows)
    for t in range(p.n_tiers - 1):
        add_level(rows, t)
    add_capacities(rows)
    add_counts(rows)
    add_colocation(rows)
    scale = add_objective(rows)
    return MultiTierModel(model=model, problem=p, y_offset=lay.y_off, u_offset=lay.u_off, families=families,
                          flow_bound=None, fixed_y=fixed, objective_scale=scale, tree_lp=lay.tree_lp,
                          wscale=lay.wscale, path_pairs={t: lay.pairs[t] for t in lay.path_levels},
                          path_offset=lay.g_off, mode=lay.mode, group_paths=lay.group_levels,
                          group_offset=lay.h_off)
