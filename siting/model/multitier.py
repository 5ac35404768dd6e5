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
integers, with its rows cut from a sparse matrix; there is no loop over demand × candidate pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
import numpy as np
import scipy.sparse as sp
from siting.core.network import NetworkProblem
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

    def solution(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Read ``(open, link_used, link_flow)`` per tier from the loaded variable values."""
        p = self.problem
        m = self.model
        T = p.n_tiers
        yv = np.array([m.y[g].value if m.y[g].value is not None else 0.0 for g in range(int(self.y_offset[-1]))])
        opened = tuple(yv[self.y_offset[t] : self.y_offset[t + 1]] > 0.5 for t in range(T))
        if self.tree_lp:
            used_t, flow_t = cheapest_tree(p, opened)
            self._load(opened, used_t, flow_t)
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


    def _load(self, opened: tuple[np.ndarray, ...], used: tuple[np.ndarray, ...], flow: tuple[np.ndarray, ...]) -> None:
        """Set every model variable to the given integral solution (so the model's objective evaluates it)."""
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


def _csr_rows(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    mat = sp.csr_matrix((vals, (rows, cols)), shape=shape)
    mat.sum_duplicates()
    return mat


def _expand(child_of_parent_link: np.ndarray, upper_child: np.ndarray, n_child: int) -> tuple[np.ndarray, np.ndarray]:
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


def _auto_levels(p: NetworkProblem, n_pairs: dict[int, int], budget: int, small: int = 20_000) -> set[int]:
    """Levels that get path variables under ``strong="auto"``.

    Small problems: every level. Otherwise a level is skipped when its group cut is already tight (the
    child tier has "exactly one per group G" and its own links stay within G, so each group's volume is fixed,
    e.g. one park per planning unit), and the remaining levels are taken from the top down while the number of
    path variables stays within ``budget`` (measured on the Chongqing scenarios: the express network needs only
    the collection level, the cold chain only the top level).
    """
    T = p.n_tiers
    if sum(n_pairs.values()) <= small:
        return set(range(T - 1))

    def covered(t: int) -> bool:
        child = p.tiers[t + 1]
        return any(r.tier == t + 1 and r.by is not None and r.sense == "==" and r.value == 1
                   and child.link_same == r.by for r in p.counts)

    out: set[int] = set()
    left = budget
    for t in range(T - 1):
        if not covered(t) and n_pairs[t] <= left:
            out.add(t)
            left -= n_pairs[t]
    return out


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
        bottom tier), ``False``/``"none"`` (aggregated flows ``f <= M u`` everywhere), or ``"auto"``/``True``
        (see :func:`_auto_levels`).
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

    from siting.model.matrix import linear_expression, matrix_rows

    p = problem
    T = p.n_tiers
    sizes = np.array([t.size for t in p.tiers], dtype=np.int64)
    y_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n_y = int(y_off[-1])
    bottom = p.links[T - 1]
    n_x = len(bottom)
    u_off: list[int | None] = [None] * T
    acc = 0
    for t in range(T - 1):
        u_off[t] = acc
        acc += len(p.links[t])
    n_u = acc

    # ---- path pairs per level: (lower link l in L_{t+1}, upper link m in L_t) with child(m) == parent(l)
    pairs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for t in range(T - 1):
        pairs[t] = _expand(p.links[t + 1].parent, p.links[t].child, p.tiers[t + 1].size)
    if isinstance(strong, (tuple, list, set, frozenset)):
        path_levels = {int(t) for t in strong if 0 <= int(t) < T - 1}
        mode = "levels " + ",".join(str(t) for t in sorted(path_levels))
    else:
        mode = {True: "auto", False: "none", None: "none"}.get(strong, strong)  # type: ignore[call-overload]
        if mode not in ("auto", "all", "bottom", "none"):
            raise ValueError(f"strong must be 'auto', 'all', 'bottom', 'none' or a set of levels, got {strong!r}")
        if mode == "auto":
            path_levels = _auto_levels(p, {t: len(a) for t, (a, _) in pairs.items()}, max_path_vars)
            mode = "auto: levels " + ",".join(str(t) for t in sorted(path_levels))
        else:
            path_levels = {"all": set(range(T - 1)), "bottom": {T - 2} if T >= 2 else set(), "none": set()}[mode]

    # With no finite capacity, no budget and the cost objective, every integral y has an integral optimal
    # (x, u): each unit of volume takes a cheapest path to the top and all volume at one facility shares it.
    # x and u are then continuous (HiGHS branches on y only) and the solution is read back by the exact
    # cheapest-tree pass (cheapest_tree), which never costs more than the solver's assignment.
    tree_lp = (relax_assignments and p.objective == "cost" and not math.isfinite(p.budget_cny)
               and all(not np.any(np.isfinite(t.capacity)) for t in p.tiers))

    # numerical scaling: volumes in units of the largest demand point, costs so the largest coefficient ~1e3
    wscale = float(p.weight.max()) if p.n_demand and p.weight.max() > 0 else 1.0
    w = p.weight / wscale
    reach_mats = p.reach_matrices()
    reach = [np.asarray(r.T @ p.weight, dtype=np.float64).ravel() / wscale for r in reach_mats]

    def child_bound(t: int) -> np.ndarray:
        """Largest volume each child of the links serving tier t can send (scaled)."""
        return w if t == T - 1 else reach[t + 1]

    # ---- per-link unit cost (CNY per scaled unit of volume) on the links serving each tier
    unit_cost = [(p.tiers[t].transport_cost_cny_per_unit_km * p.links[t].distance_km
                  + p.tiers[t].handling_cost_cny_per_unit[p.links[t].parent]) * wscale for t in range(T)]
    fixed_coef = np.concatenate([t.fixed_cost_cny for t in p.tiers])
    x_coef = unit_cost[T - 1] * w[bottom.child]
    g_off: dict[int, int] = {}
    acc = 0
    for t in sorted(path_levels):
        g_off[t] = acc
        acc += len(pairs[t][0])
    n_g = acc
    g_coef = np.zeros(n_g)
    for t in path_levels:
        lo, up = pairs[t]
        g_coef[g_off[t] : g_off[t] + len(lo)] = unit_cost[t][up]
    f_levels = [t for t in range(T - 1) if t not in path_levels]
    f_index = (np.concatenate([int(u_off[t]) + np.arange(len(p.links[t])) for t in f_levels])  # type: ignore[arg-type]
               if f_levels else np.zeros(0, np.int64))
    f_coef = np.zeros(n_u)
    for t in f_levels:
        o = int(u_off[t])  # type: ignore[arg-type]
        f_coef[o : o + len(p.links[t])] = unit_cost[t]
    big = max([float(np.max(np.abs(a))) for a in (fixed_coef, x_coef, f_coef, g_coef) if len(a)] + [1.0])
    obj_scale = 10.0 ** (3 - math.floor(math.log10(big))) if big > 0 else 1.0

    model = pyo.ConcreteModel(name=name or p.name)
    model.y = pyo.Var(range(n_y), within=pyo.Binary)
    model.x = pyo.Var(range(n_x), within=pyo.Binary if (p.single_sourcing and not tree_lp) else pyo.UnitInterval)
    model.u = pyo.Var(range(n_u), within=pyo.UnitInterval if tree_lp else pyo.Binary)
    model.f = pyo.Var([int(k) for k in f_index], within=pyo.NonNegativeReals)
    model.g = pyo.Var(range(n_g), within=pyo.NonNegativeReals)
    Y = [model.y[g] for g in range(n_y)]
    X = [model.x[l] for l in range(n_x)]
    U = [model.u[l] for l in range(n_u)]
    Fv: list[Any] = [None] * n_u
    for k in f_index:
        Fv[int(k)] = model.f[int(k)]
    G = [model.g[q] for q in range(n_g)]
    families: dict[str, list[Any]] = {k: [] for k in FAMILIES}
    families["hierarchy"] = []

    def add_rows(cname: str, blocks: list[tuple[sp.csr_matrix, list[Any]]], sense: str, rhs: np.ndarray, family: str) -> None:
        """Rows ``sum_b A_b[r] . vars_b  (sense)  rhs[r]`` from CSR blocks of equal row count, as one
        :class:`~siting.model.matrix.MatrixRows` component (rows with no term are left out)."""
        nrow = len(rhs)
        if nrow == 0:
            return
        rr, cc, vv, xs = [], [], [], []
        for mat, vs in blocks:
            coo = mat.tocoo()
            nz = coo.data != 0
            used, inv = np.unique(coo.col[nz], return_inverse=True)
            rr.append(coo.row[nz])
            cc.append(len(xs) + inv)
            vv.append(coo.data[nz])
            xs.extend(vs[j] for j in used.tolist())
        r = np.concatenate(rr)
        keep = np.flatnonzero(np.bincount(r, minlength=nrow) > 0)
        if not len(keep):
            return
        new_row = np.full(nrow, -1, dtype=np.int64)
        new_row[keep] = np.arange(len(keep))
        b = np.asarray(rhs, dtype=np.float64)[keep]
        lower = b if sense in ("==", ">=") else None
        upper = b if sense in ("==", "<=") else None
        comp = matrix_rows(new_row[r], np.concatenate(cc), np.concatenate(vv), xs, n_rows=len(keep),
                           lower=lower, upper=upper)
        model.add_component(cname, comp)
        families.setdefault(family, []).append(comp)

    def link_flow(t: int) -> list[tuple[sp.csr_matrix, list[Any]]]:
        """Volume (scaled) on each link of L_t, as CSR blocks over the variables (rows = links)."""
        k = len(p.links[t])
        if t == T - 1:
            return [(sp.csr_matrix((w[bottom.child], (np.arange(n_x), np.arange(n_x))), shape=(n_x, n_x)), X)]
        if t in path_levels:
            lo, up = pairs[t]
            return [(_csr_rows(up, np.arange(len(up)) + g_off[t], np.ones(len(up)), (k, n_g)), G)]
        o = int(u_off[t])  # type: ignore[arg-type]
        return [(sp.csr_matrix((np.ones(k), (np.arange(k), o + np.arange(k))), shape=(k, n_u)), Fv)]

    def inflow(t: int) -> list[tuple[sp.csr_matrix, list[Any]]]:
        """Volume (scaled) into each tier-t facility (rows = candidates)."""
        lk = p.links[t]
        inc = sp.csr_matrix((np.ones(len(lk)), (lk.parent, np.arange(len(lk)))), shape=(p.tiers[t].size, len(lk)))
        return [((inc @ mat).tocsr(), v) for mat, v in link_flow(t)]

    # ---- fixings: required / forbidden / orphans (tier > 0 without any parent link)
    fixed: dict[int, float] = {}
    for t, tier in enumerate(p.tiers):
        for j in np.flatnonzero(tier.forbidden):
            fixed[int(y_off[t] + j)] = 0.0
        if t > 0:
            has_parent = np.bincount(p.links[t - 1].child, minlength=tier.size) > 0
            for j in np.flatnonzero(~has_parent & ~tier.required):
                fixed[int(y_off[t] + j)] = 0.0
        for j in np.flatnonzero(tier.required):
            fixed.setdefault(int(y_off[t] + j), 1.0)
    for g, v in fixed.items():
        Y[g].fix(v)
    req_rows = np.array([g for g, v in fixed.items() if v == 1.0], dtype=np.int64)
    if len(req_rows):  # a relaxable copy of the "required" family as constraints (the fixing is for presolve)
        add_rows("required_sites", [(_csr_rows(np.arange(len(req_rows)), req_rows, np.ones(len(req_rows)),
                                               (len(req_rows), n_y)), Y)], ">=", np.ones(len(req_rows)), "required")

    # ---- demand assignment and bottom linking x_l <= y_j
    a_demand = _csr_rows(bottom.child, np.arange(n_x), np.ones(n_x), (p.n_demand, n_x))
    rows = np.flatnonzero(np.diff(a_demand.indptr) > 0)
    add_rows("assign", [(a_demand[rows], X)], "==" if p.objective == "cost" else "<=", np.ones(len(rows)), "assignment")
    yb = y_off[T - 1] + bottom.parent
    ar = np.arange(n_x)
    add_rows("link_bottom", [(_csr_rows(ar, ar, np.ones(n_x), (n_x, n_x)), X),
                             (_csr_rows(ar, yb, -np.ones(n_x), (n_x, n_y)), Y)], "<=", np.zeros(n_x), "hierarchy")

    # ---- levels above the bottom tier
    for t in range(T - 1):
        lk = p.links[t]
        k = len(lk)
        o = int(u_off[t])  # type: ignore[arg-type]
        m_child, m_par = p.tiers[t + 1].size, p.tiers[t].size
        inc = _csr_rows(lk.child, o + np.arange(k), np.ones(k), (m_child, n_u))
        eye_child = sp.csr_matrix((-np.ones(m_child), (np.arange(m_child), y_off[t + 1] + np.arange(m_child))),
                                  shape=(m_child, n_y))
        rows = np.flatnonzero(np.diff(inc.indptr) > 0)
        # every open child has exactly one parent: sum_k u_jk = y_j; and u_jk <= y_k
        add_rows(f"one_parent_{t}", [(inc[rows], U), (eye_child[rows], Y)], "==", np.zeros(len(rows)), "hierarchy")
        yk = y_off[t] + lk.parent
        ak = np.arange(k)
        add_rows(f"link_{t}", [(_csr_rows(ak, o + ak, np.ones(k), (k, n_u)), U),
                               (_csr_rows(ak, yk, -np.ones(k), (k, n_y)), Y)], "<=", np.zeros(k), "hierarchy")
        below = p.links[t + 1]
        if t in path_levels:
            lo, up = pairs[t]
            n_p = len(lo)
            cols = g_off[t] + np.arange(n_p)
            # split: the volume on each lower link continues on links of its parent: sum_m g_lm = flow_l
            split = _csr_rows(lo, cols, np.ones(n_p), (len(below), n_g))
            add_rows(f"path_split_{t}", [(split, G)] + [(-mat, v) for mat, v in link_flow(t + 1)], "==",
                     np.zeros(len(below)), "hierarchy")
            bnd = child_bound(t + 1)[below.child[lo]]
            if not tree_lp:  # g_lm <= B_l u_m: the volume follows the parent link actually chosen
                aq = np.arange(n_p)
                add_rows(f"path_link_{t}", [(_csr_rows(aq, cols, np.ones(n_p), (n_p, n_g)), G),
                                            (_csr_rows(aq, o + up, -bnd, (n_p, n_u)), U)],
                         "<=", np.zeros(n_p), "hierarchy")
            # the volume of one child c (demand point or facility two tiers down) passes a tier-t facility k
            # only if k is open: sum over paths c -> . -> k of g <= B_c y_k (valid; the strong linking)
            key = below.child[lo] * np.int64(m_par) + lk.parent[up]
            uniq, row_of = np.unique(key, return_inverse=True)
            a = _csr_rows(row_of, cols, np.ones(n_p), (len(uniq), n_g))
            cb = child_bound(t + 1)[uniq // np.int64(m_par)]
            ey = sp.csr_matrix((-cb, (np.arange(len(uniq)), y_off[t] + uniq % np.int64(m_par))), shape=(len(uniq), n_y))
            add_rows(f"path_open_{t}", [(a, G), (ey, Y)], "<=", np.zeros(len(uniq)), "hierarchy")
            if t + 1 < T - 1:
                # group version over the children's units / regions: sum over paths from group H of tier t+2
                # through k <= R_H y_k (valid; tight when H's volume is fixed, e.g. a unit's own demand)
                ctier = p.tiers[t + 2]
                for by in ("unit", "region"):
                    if by not in ctier.groups:
                        continue
                    lab = ctier.groups[by]
                    has = np.array([x is not None for x in lab], dtype=bool)
                    names, gid = np.unique(np.where(has, lab, "").astype(str), return_inverse=True)
                    gmat = sp.csr_matrix((np.ones(int(has.sum())), (np.flatnonzero(has), gid[has])),
                                         shape=(ctier.size, len(names)))
                    r_h = np.asarray(((reach_mats[t + 2] @ gmat) > 0).astype(np.float64).T @ w).ravel()
                    cg = below.child[lo]
                    sel = has[cg]
                    key = gid[cg[sel]] * np.int64(m_par) + lk.parent[up[sel]]
                    uniq, row_of = np.unique(key, return_inverse=True)
                    a = _csr_rows(row_of, cols[sel], np.ones(int(sel.sum())), (len(uniq), n_g))
                    ey = sp.csr_matrix((-r_h[uniq // np.int64(m_par)], (np.arange(len(uniq)), y_off[t] + uniq % np.int64(m_par))),
                                       shape=(len(uniq), n_y))
                    add_rows(f"path_group_{t}_{by}", [(a, G), (ey, Y)], "<=", np.zeros(len(uniq)), "hierarchy")
            continue
        # aggregated flows: f_l <= M_l u_l with M_l the demand that can reach the child
        mb = reach[t + 1][lk.child]
        ak = np.arange(k)
        add_rows(f"flow_bound_{t}", [(_csr_rows(ak, o + ak, np.ones(k), (k, n_u)), Fv),
                                     (_csr_rows(ak, o + ak, -mb, (k, n_u)), U)], "<=", np.zeros(k), "hierarchy")
        # group cuts: for every group G of tier-(t+1) candidates (the groups of the count rules of both tiers and
        # the link_same group) and parent k: sum_{j in G} f_jk <= R_G y_k, R_G = demand that can reach G. Valid
        # for any grouping; tight when one member of G opens.
        bys = [r.by for r in p.counts if r.tier in (t, t + 1) and r.by is not None]
        if p.tiers[t].link_same:
            bys.append(p.tiers[t].link_same)
        for by in dict.fromkeys(b for b in bys if b in p.tiers[t + 1].groups):
            lab = p.tiers[t + 1].group(by)
            has = np.array([x is not None for x in lab], dtype=bool)
            names, gid = np.unique(np.where(has, lab, "").astype(str), return_inverse=True)
            gmat = sp.csr_matrix((np.ones(int(has.sum())), (np.flatnonzero(has), gid[has])), shape=(m_child, len(names)))
            r_g = np.asarray(((reach_mats[t + 1] @ gmat) > 0).astype(np.float64).T @ w).ravel()
            key = gid[lk.child] * np.int64(m_par) + lk.parent
            sel = has[lk.child]
            uniq, row_of = np.unique(key[sel], return_inverse=True)
            if not len(uniq):
                continue
            a = _csr_rows(row_of, o + np.flatnonzero(sel), np.ones(int(sel.sum())), (len(uniq), n_u))
            gy = sp.csr_matrix((-r_g[uniq // np.int64(m_par)], (np.arange(len(uniq)), y_off[t] + uniq % np.int64(m_par))),
                               shape=(len(uniq), n_y))
            add_rows(f"group_cut_{t}_{by}", [(a, Fv), (gy, Y)], "<=", np.zeros(len(uniq)), "hierarchy")
        # conservation: what child j sends up = what j receives from below
        blocks = [(inc[rows], Fv)] + [(-b[rows], v) for b, v in inflow(t + 1)]
        add_rows(f"conserve_{t}", blocks, "==", np.zeros(len(rows)), "hierarchy")

    # ---- capacities (only where finite and binding): V_j - Q_j y_j <= 0
    for t, tier in enumerate(p.tiers):
        capq = tier.capacity / wscale
        capped = np.flatnonzero(np.isfinite(capq) & (capq < reach[t]))
        if not len(capped):
            continue
        cap_y = sp.csr_matrix((-capq[capped], (np.arange(len(capped)), y_off[t] + capped)), shape=(len(capped), n_y))
        blocks = [(b[capped], v) for b, v in inflow(t)] + [(cap_y, Y)]
        add_rows(f"capacity_{t}", blocks, "<=", np.zeros(len(capped)), "capacity")

    # ---- counts
    for r, rule in enumerate(p.counts):
        tier = p.tiers[rule.tier]
        if rule.by is None:
            member = [np.arange(tier.size)]
        else:
            labels = tier.group(rule.by)
            member = [np.flatnonzero(labels == g) for g in rule.groups]
        ri = np.concatenate([np.full(len(idx), gi) for gi, idx in enumerate(member)]) if member else np.zeros(0, np.int64)
        ci = np.concatenate([y_off[rule.tier] + idx for idx in member]) if member else np.zeros(0, np.int64)
        mat = _csr_rows(ri, ci, np.ones(len(ri)), (len(member), n_y))
        # a group with no candidate cannot be a Pyomo row ("0 == 1"); the precheck reports it, and here it
        # becomes a row on an auxiliary variable fixed at 0, so a solve still proves infeasibility
        empty = np.flatnonzero(np.diff(mat.indptr) == 0)
        blocks = [(mat, Y)]
        if len(empty) and rule.sense in ("==", ">=") and rule.value > 0:
            aux = pyo.Var(range(len(empty)), bounds=(0, 0))
            model.add_component(f"count_{r}_empty", aux)
            blocks.append((sp.csr_matrix((np.ones(len(empty)), (empty, np.arange(len(empty)))), shape=(len(member), len(empty))),
                           [aux[q] for q in range(len(empty))]))
        add_rows(f"count_{r}", blocks, rule.sense, np.full(len(member), float(rule.value)), "counts")

    # ---- co-location
    if not p.colocation and T > 1:
        site_keys = np.concatenate([t.site.astype(str) for t in p.tiers])
        _, inv, cnt = np.unique(site_keys, return_inverse=True, return_counts=True)
        shared = np.flatnonzero(cnt > 1)
        if len(shared):
            pos = np.searchsorted(shared, inv)
            ok = (pos < len(shared)) & (shared[np.minimum(pos, len(shared) - 1)] == inv)
            cols = np.flatnonzero(ok)
            mat = _csr_rows(pos[ok], cols, np.ones(len(cols)), (len(shared), n_y))
            add_rows("colocation", [(mat, Y)], "<=", np.ones(len(shared)), "colocation")

    # ---- objective (scaled by obj_scale; solve_network reports CNY)
    f_vars = [Fv[int(l)] for l in f_index]

    def cost_expr(scope: str) -> Any:
        if scope != "total":
            return linear_expression(fixed_coef * obj_scale, Y)
        return linear_expression(np.concatenate([fixed_coef, x_coef, f_coef[f_index], g_coef]) * obj_scale,
                                 Y + X + f_vars + G)

    if math.isfinite(p.budget_cny):
        model.budget = pyo.Constraint(expr=cost_expr(p.budget_scope) <= p.budget_cny * obj_scale)
        families["budget"].append(model.budget)
    if p.objective == "cost":
        model.obj = pyo.Objective(expr=cost_expr("total"), sense=pyo.minimize)
        scale = obj_scale
    else:
        model.obj = pyo.Objective(expr=linear_expression(w[bottom.child], X), sense=pyo.maximize)
        scale = 1.0 / wscale
    return MultiTierModel(model=model, problem=p, y_offset=y_off, u_offset=u_off, families=families,
                          flow_bound=None, fixed_y=fixed, objective_scale=scale, tree_lp=tree_lp, wscale=wscale,
                          path_pairs={t: pairs[t] for t in path_levels}, path_offset=g_off, mode=mode)
