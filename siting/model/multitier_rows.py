"""The constraint families of the multi-tier model, one function each (the maths is in
:mod:`siting.model.multitier`'s docstring; that module's :func:`~siting.model.multitier.build_multitier`
calls these in a fixed order, which fixes the row order HiGHS sees).

:func:`plan_layout` decides the index maps (which variable lives where, which levels carry path flows, the
scalings); :class:`Rows` holds the model's variable lists and adds one family at a time as a
:class:`~siting.model.matrix.MatrixRows` component built from CSR blocks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from siting.core.network import NetworkProblem
from siting.model.multitier_groups import add_group_path_level, csr_rows, expand_pairs, group_label, group_paths

__all__ = ["Layout", "Rows", "plan_layout", "add_fixings", "add_assignment", "add_level", "add_capacities",
           "add_counts", "add_colocation", "add_objective"]


def level_covered(p: NetworkProblem, t: int) -> bool:
    """Whether the group cut of level ``t`` is already tight: the child tier has "exactly one per group G" and
    its own links stay within G, so each group's volume is fixed (e.g. one park per planning unit)."""
    child = p.tiers[t + 1]
    return any(r.tier == t + 1 and r.by is not None and r.sense == "==" and r.value == 1
               and child.link_same == r.by for r in p.counts)


def auto_levels(p: NetworkProblem, n_pairs: dict[int, int], budget: int, small: int = 20_000) -> set[int]:
    """Levels that get path variables under ``strong="auto"``.

    Small problems: every level. Otherwise a level is skipped when its group cut is already tight
    (:func:`level_covered`), and the remaining levels are taken from the bottom up while the number of path
    variables stays within ``budget``; the levels left out get group paths where they can
    (:func:`auto_group_levels`). Measured on the Chongqing scenarios (``benchmarks/bench_multitier.py``): the
    express network needs only the collection level; the cold chain gets path flows on the level above its
    bottom tier and group paths on the top level (root LP 2,016 M CNY/yr, integral, in a few seconds, where
    top-level paths alone, the choice until 2026-12, gave 2,001 M in 18 s, and both full levels took 120 s).
    """
    T = p.n_tiers
    if sum(n_pairs.values()) <= small:
        return set(range(T - 1))
    out: set[int] = set()
    left = budget
    for t in range(T - 2, -1, -1):
        if not level_covered(p, t) and n_pairs[t] <= left:
            out.add(t)
            left -= n_pairs[t]
    return out


def auto_group_levels(p: NetworkProblem, path_levels: set[int]) -> dict[int, str]:
    """Levels that get group paths (:mod:`siting.model.multitier_groups`) under ``strong="auto"``: those
    without path flows whose grandchild tier has a ``link_same`` grouping, unless :func:`level_covered`."""
    out: dict[int, str] = {}
    for t in range(p.n_tiers - 2):
        by = group_label(p, t)
        if t not in path_levels and by is not None and not level_covered(p, t):
            out[t] = by
    return out


def path_levels_of(p: NetworkProblem, strong: Any, pairs: dict[int, tuple[np.ndarray, np.ndarray]],
                   max_path_vars: int) -> tuple[set[int], str]:
    """The levels with path flows for the ``strong`` switch of ``build_multitier``, and a label."""
    T = p.n_tiers
    if isinstance(strong, (tuple, list, set, frozenset)):
        levels = {int(t) for t in strong if 0 <= int(t) < T - 1}
        return levels, "levels " + ",".join(str(t) for t in sorted(levels))
    mode = {True: "auto", False: "none", None: "none"}.get(strong, strong)  # type: ignore[call-overload]
    if mode not in ("auto", "all", "bottom", "none"):
        raise ValueError(f"strong must be 'auto', 'all', 'bottom', 'none' or a set of levels, got {strong!r}")
    if mode == "auto":
        levels = auto_levels(p, {t: len(a) for t, (a, _) in pairs.items()}, max_path_vars)
        return levels, "auto: levels " + ",".join(str(t) for t in sorted(levels))
    return {"all": set(range(T - 1)), "bottom": {T - 2} if T >= 2 else set(), "none": set()}[mode], mode


@dataclass
class Layout:
    """Where every variable lives and how the model is scaled.

    ``y`` (open, all tiers, tier ``t`` from ``y_off[t]``), ``x`` (bottom links), ``u``/``f`` (links of the upper
    levels, level ``t`` from ``u_off[t]``; ``f`` only on aggregated levels, listed in ``f_index``), ``g`` (path
    pairs of each path level ``t`` from ``g_off[t]``). Volumes are divided by ``wscale``; ``reach[t]`` is the
    (scaled) demand that can reach each tier-``t`` candidate; ``unit_cost[t]`` the cost per scaled unit on each
    link serving tier ``t``.
    """

    p: NetworkProblem
    y_off: np.ndarray
    u_off: list[int | None]
    n_u: int
    pairs: dict[int, tuple[np.ndarray, np.ndarray]]
    path_levels: set[int]
    mode: str
    tree_lp: bool
    wscale: float
    w: np.ndarray
    reach_mats: list[Any]
    reach: list[np.ndarray]
    unit_cost: list[np.ndarray]
    g_off: dict[int, int] = field(default_factory=dict)
    n_g: int = 0
    group_levels: dict[int, Any] = field(default_factory=dict)
    h_off: dict[int, int] = field(default_factory=dict)
    n_h: int = 0
    f_index: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def T(self) -> int:
        return self.p.n_tiers

    @property
    def n_y(self) -> int:
        return int(self.y_off[-1])

    @property
    def n_x(self) -> int:
        return len(self.p.links[self.T - 1])

    def child_bound(self, t: int) -> np.ndarray:
        """Largest volume each child of the links serving tier t can send (scaled)."""
        return self.w if t == self.T - 1 else self.reach[t + 1]


def plan_layout(p: NetworkProblem, *, strong: Any, relax_assignments: bool, max_path_vars: int) -> Layout:
    """Index maps, path levels, exactness of the relaxed assignments and scalings of ``build_multitier``."""
    T = p.n_tiers
    sizes = np.array([t.size for t in p.tiers], dtype=np.int64)
    y_off = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    u_off: list[int | None] = [None] * T
    acc = 0
    for t in range(T - 1):
        u_off[t] = acc
        acc += len(p.links[t])
    # path pairs per level: (lower link l in L_{t+1}, upper link m in L_t) with child(m) == parent(l)
    pairs = {t: expand_pairs(p.links[t + 1].parent, p.links[t].child, p.tiers[t + 1].size) for t in range(T - 1)}
    path_levels, mode = path_levels_of(p, strong, pairs, max_path_vars)
    # With no finite capacity, no budget and the cost objective, every integral y has an integral optimal
    # (x, u): each unit of volume takes a cheapest path to the top and all volume at one facility shares it.
    # x and u are then continuous (HiGHS branches on y only) and the solution is read back by the exact
    # cheapest-tree pass (cheapest_tree), which never costs more than the solver's assignment.
    tree_lp = (relax_assignments and p.objective == "cost" and not math.isfinite(p.budget_cny)
               and all(not np.any(np.isfinite(t.capacity)) for t in p.tiers))
    # numerical scaling: volumes in units of the largest demand point
    wscale = float(p.weight.max()) if p.n_demand and p.weight.max() > 0 else 1.0
    reach_mats = p.reach_matrices()
    unit_cost = [(p.tiers[t].transport_cost_cny_per_unit_km * p.links[t].distance_km
                  + p.tiers[t].handling_cost_cny_per_unit[p.links[t].parent]) * wscale for t in range(T)]
    lay = Layout(p=p, y_off=y_off, u_off=u_off, n_u=acc, pairs=pairs, path_levels=path_levels, mode=mode,
                 tree_lp=tree_lp, wscale=wscale, w=p.weight / wscale, reach_mats=reach_mats,
                 reach=[np.asarray(r.T @ p.weight, dtype=np.float64).ravel() / wscale for r in reach_mats],
                 unit_cost=unit_cost)
    acc = 0
    for t in sorted(path_levels):
        lay.g_off[t] = acc
        acc += len(pairs[t][0])
    lay.n_g = acc
    if mode.startswith("auto"):
        acc = 0
        for t, by in sorted(auto_group_levels(p, path_levels).items()):
            lay.group_levels[t] = group_paths(p, t, by, reach_mats[t + 2], lay.w)
            lay.h_off[t] = acc
            acc += lay.group_levels[t].n_pairs
        lay.n_h = acc
        if lay.group_levels:
            lay.mode += "; group paths: " + ", ".join(f"level {t} by {g.by}" for t, g in lay.group_levels.items())
    f_levels = [t for t in range(T - 1) if t not in path_levels and t not in lay.group_levels]
    lay.f_index = (np.concatenate([int(u_off[t]) + np.arange(len(p.links[t])) for t in f_levels])  # type: ignore[arg-type]
                   if f_levels else np.zeros(0, np.int64))
    return lay


class Rows:
    """The model's variables (``y, x, u, f, g`` as flat lists) and a writer of constraint families.

    Creating it adds the variables to ``model`` (Pyomo ``ConcreteModel``) in the order ``y, x, u, f, g``.
    """

    def __init__(self, model: Any, lay: Layout, families: dict[str, list[Any]]) -> None:
        import pyomo.environ as pyo

        self.model, self.lay, self.families = model, lay, families
        p = lay.p
        model.y = pyo.Var(range(lay.n_y), within=pyo.Binary)
        model.x = pyo.Var(range(lay.n_x), within=pyo.Binary if (p.single_sourcing and not lay.tree_lp) else pyo.UnitInterval)
        model.u = pyo.Var(range(lay.n_u), within=pyo.UnitInterval if lay.tree_lp else pyo.Binary)
        model.f = pyo.Var([int(k) for k in lay.f_index], within=pyo.NonNegativeReals)
        model.g = pyo.Var(range(lay.n_g), within=pyo.NonNegativeReals)
        model.h = pyo.Var(range(lay.n_h), within=pyo.NonNegativeReals)
        self.Y = [model.y[g] for g in range(lay.n_y)]
        self.X = [model.x[l] for l in range(lay.n_x)]
        self.U = [model.u[l] for l in range(lay.n_u)]
        self.F: list[Any] = [None] * lay.n_u
        for k in lay.f_index:
            self.F[int(k)] = model.f[int(k)]
        self.G = [model.g[q] for q in range(lay.n_g)]
        self.H = [model.h[q] for q in range(lay.n_h)]

    def add(self, cname: str, blocks: list[tuple[sp.csr_matrix, list[Any]]], sense: str, rhs: np.ndarray,
            family: str) -> None:
        """Rows ``sum_b A_b[r] . vars_b  (sense)  rhs[r]`` from CSR blocks of equal row count, as one
        :class:`~siting.model.matrix.MatrixRows` component (rows with no term are left out)."""
        from siting.model.matrix import matrix_rows

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
        self.model.add_component(cname, comp)
        self.families.setdefault(family, []).append(comp)

    def link_flow(self, t: int) -> list[tuple[sp.csr_matrix, list[Any]]]:
        """Volume (scaled) on each link of L_t, as CSR blocks over the variables (rows = links)."""
        lay, p = self.lay, self.lay.p
        k = len(p.links[t])
        if t == lay.T - 1:
            n_x = lay.n_x
            w_l = lay.w[p.links[t].child]
            return [(sp.csr_matrix((w_l, (np.arange(n_x), np.arange(n_x))), shape=(n_x, n_x)), self.X)]
        if t in lay.path_levels:
            _, up = lay.pairs[t]
            return [(csr_rows(up, np.arange(len(up)) + lay.g_off[t], np.ones(len(up)), (k, lay.n_g)), self.G)]
        if t in lay.group_levels:
            gm = lay.group_levels[t].pair_m
            return [(csr_rows(gm, np.arange(len(gm)) + lay.h_off[t], np.ones(len(gm)), (k, lay.n_h)), self.H)]
        o = int(lay.u_off[t])  # type: ignore[arg-type]
        return [(sp.csr_matrix((np.ones(k), (np.arange(k), o + np.arange(k))), shape=(k, lay.n_u)), self.F)]

    def inflow(self, t: int) -> list[tuple[sp.csr_matrix, list[Any]]]:
        """Volume (scaled) into each tier-t facility (rows = candidates)."""
        p = self.lay.p
        lk = p.links[t]
        inc = sp.csr_matrix((np.ones(len(lk)), (lk.parent, np.arange(len(lk)))), shape=(p.tiers[t].size, len(lk)))
        return [((inc @ mat).tocsr(), v) for mat, v in self.link_flow(t)]


def add_fixings(R: Rows) -> dict[int, float]:
    """Fix required (1), forbidden and orphan (0) sites; a relaxable copy of "required" as rows."""
    lay, p = R.lay, R.lay.p
    fixed: dict[int, float] = {}
    for t, tier in enumerate(p.tiers):
        for j in np.flatnonzero(tier.forbidden):
            fixed[int(lay.y_off[t] + j)] = 0.0
        if t > 0:
            has_parent = np.bincount(p.links[t - 1].child, minlength=tier.size) > 0
            for j in np.flatnonzero(~has_parent & ~tier.required):
                fixed[int(lay.y_off[t] + j)] = 0.0
        for j in np.flatnonzero(tier.required):
            fixed.setdefault(int(lay.y_off[t] + j), 1.0)
    for g, v in fixed.items():
        R.Y[g].fix(v)
    req = np.array([g for g, v in fixed.items() if v == 1.0], dtype=np.int64)
    if len(req):  # the fixing is for presolve; the rows let the infeasibility diagnosis relax "required"
        R.add("required_sites", [(csr_rows(np.arange(len(req)), req, np.ones(len(req)), (len(req), lay.n_y)), R.Y)],
              ">=", np.ones(len(req)), "required")
    return fixed


def add_assignment(R: Rows) -> None:
    """Each demand assigned (``== 1``, or ``<= 1`` for coverage) and the bottom linking ``x_l <= y_j``."""
    lay, p = R.lay, R.lay.p
    bottom, n_x = p.links[lay.T - 1], lay.n_x
    a_demand = csr_rows(bottom.child, np.arange(n_x), np.ones(n_x), (p.n_demand, n_x))
    rows = np.flatnonzero(np.diff(a_demand.indptr) > 0)
    R.add("assign", [(a_demand[rows], R.X)], "==" if p.objective == "cost" else "<=", np.ones(len(rows)), "assignment")
    yb = lay.y_off[lay.T - 1] + bottom.parent
    ar = np.arange(n_x)
    R.add("link_bottom", [(csr_rows(ar, ar, np.ones(n_x), (n_x, n_x)), R.X),
                          (csr_rows(ar, yb, -np.ones(n_x), (n_x, lay.n_y)), R.Y)], "<=", np.zeros(n_x), "hierarchy")


def _child_incidence(lay: Layout, t: int) -> tuple[sp.csr_matrix, np.ndarray]:
    """Child-by-``u`` incidence of level ``t`` and the children that have a link."""
    lk = lay.p.links[t]
    o = int(lay.u_off[t])  # type: ignore[arg-type]
    inc = csr_rows(lk.child, o + np.arange(len(lk)), np.ones(len(lk)), (lay.p.tiers[t + 1].size, lay.n_u))
    return inc, np.flatnonzero(np.diff(inc.indptr) > 0)


def add_level(R: Rows, t: int) -> None:
    """All rows of level ``t`` (links serving tier ``t < T-1``): one parent per open child, ``u <= y``, then
    path flows or aggregated flows."""
    lay, p = R.lay, R.lay.p
    lk = p.links[t]
    k = len(lk)
    o = int(lay.u_off[t])  # type: ignore[arg-type]
    m_child = p.tiers[t + 1].size
    inc, rows = _child_incidence(lay, t)
    eye_child = sp.csr_matrix((-np.ones(m_child), (np.arange(m_child), lay.y_off[t + 1] + np.arange(m_child))),
                              shape=(m_child, lay.n_y))
    # every open child has exactly one parent: sum_k u_jk = y_j; and u_jk <= y_k
    R.add(f"one_parent_{t}", [(inc[rows], R.U), (eye_child[rows], R.Y)], "==", np.zeros(len(rows)), "hierarchy")
    yk = lay.y_off[t] + lk.parent
    ak = np.arange(k)
    R.add(f"link_{t}", [(csr_rows(ak, o + ak, np.ones(k), (k, lay.n_u)), R.U),
                        (csr_rows(ak, yk, -np.ones(k), (k, lay.n_y)), R.Y)], "<=", np.zeros(k), "hierarchy")
    if t in lay.group_levels:
        add_group_path_level(R, t)
        return
    if t in lay.path_levels:
        add_path_level(R, t)
        if t + 1 < lay.T - 1:
            for by in ("unit", "region"):
                add_path_group_cut(R, t, by)
        return
    add_flow_bound(R, t)
    add_group_cuts(R, t)
    # conservation: what child j sends up = what j receives from below
    R.add(f"conserve_{t}", [(inc[rows], R.F)] + [(-b[rows], v) for b, v in R.inflow(t + 1)], "==",
          np.zeros(len(rows)), "hierarchy")


def add_path_level(R: Rows, t: int) -> None:
    """Path flows of level ``t``: split, ``g <= B u`` (unless the assignments are relaxed) and the strong
    linking per child two tiers down and parent."""
    lay, p = R.lay, R.lay.p
    lk, below = p.links[t], p.links[t + 1]
    o = int(lay.u_off[t])  # type: ignore[arg-type]
    m_par = p.tiers[t].size
    lo, up = lay.pairs[t]
    n_p = len(lo)
    cols = lay.g_off[t] + np.arange(n_p)
    # split: the volume on each lower link continues on links of its parent: sum_m g_lm = flow_l
    split = csr_rows(lo, cols, np.ones(n_p), (len(below), lay.n_g))
    R.add(f"path_split_{t}", [(split, R.G)] + [(-mat, v) for mat, v in R.link_flow(t + 1)], "==",
          np.zeros(len(below)), "hierarchy")
    bnd = lay.child_bound(t + 1)[below.child[lo]]
    if not lay.tree_lp:  # g_lm <= B_l u_m: the volume follows the parent link actually chosen
        aq = np.arange(n_p)
        R.add(f"path_link_{t}", [(csr_rows(aq, cols, np.ones(n_p), (n_p, lay.n_g)), R.G),
                                 (csr_rows(aq, o + up, -bnd, (n_p, lay.n_u)), R.U)], "<=", np.zeros(n_p), "hierarchy")
    # the volume of one child c (demand point or facility two tiers down) passes a tier-t facility k only if
    # k is open: sum over paths c -> . -> k of g <= B_c y_k (valid; the strong linking)
    key = below.child[lo] * np.int64(m_par) + lk.parent[up]
    uniq, row_of = np.unique(key, return_inverse=True)
    a = csr_rows(row_of, cols, np.ones(n_p), (len(uniq), lay.n_g))
    cb = lay.child_bound(t + 1)[uniq // np.int64(m_par)]
    ey = sp.csr_matrix((-cb, (np.arange(len(uniq)), lay.y_off[t] + uniq % np.int64(m_par))), shape=(len(uniq), lay.n_y))
    R.add(f"path_open_{t}", [(a, R.G), (ey, R.Y)], "<=", np.zeros(len(uniq)), "hierarchy")


def _group_ids(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(has a label, group names, group index per member)`` of a label array (``None`` = no group)."""
    has = np.array([x is not None for x in labels], dtype=bool)
    names, gid = np.unique(np.where(has, labels, "").astype(str), return_inverse=True)
    return has, names, gid


def _group_reach(lay: Layout, tier: int, has: np.ndarray, names: np.ndarray, gid: np.ndarray) -> np.ndarray:
    """Scaled demand that can reach each group of tier ``tier``'s candidates."""
    size = lay.p.tiers[tier].size
    gmat = sp.csr_matrix((np.ones(int(has.sum())), (np.flatnonzero(has), gid[has])), shape=(size, len(names)))
    return np.asarray(((lay.reach_mats[tier] @ gmat) > 0).astype(np.float64).T @ lay.w).ravel()


def add_path_group_cut(R: Rows, t: int, by: str) -> None:
    """Group version of the strong linking over the units / regions (``by``) of tier ``t+2``: the volume on
    paths from group H through k is at most ``R_H y_k`` (valid; tight when H's volume is fixed, e.g. a unit's
    own demand)."""
    lay, p = R.lay, R.lay.p
    ctier = p.tiers[t + 2]
    if by not in ctier.groups:
        return
    lk, below = p.links[t], p.links[t + 1]
    m_par = p.tiers[t].size
    lo, up = lay.pairs[t]
    cols = lay.g_off[t] + np.arange(len(lo))
    has, names, gid = _group_ids(ctier.groups[by])
    r_h = _group_reach(lay, t + 2, has, names, gid)
    cg = below.child[lo]
    sel = has[cg]
    key = gid[cg[sel]] * np.int64(m_par) + lk.parent[up[sel]]
    uniq, row_of = np.unique(key, return_inverse=True)
    a = csr_rows(row_of, cols[sel], np.ones(int(sel.sum())), (len(uniq), lay.n_g))
    ey = sp.csr_matrix((-r_h[uniq // np.int64(m_par)], (np.arange(len(uniq)), lay.y_off[t] + uniq % np.int64(m_par))),
                       shape=(len(uniq), lay.n_y))
    R.add(f"path_group_{t}_{by}", [(a, R.G), (ey, R.Y)], "<=", np.zeros(len(uniq)), "hierarchy")


def add_flow_bound(R: Rows, t: int) -> None:
    """Aggregated flows: ``f_l <= M_l u_l`` with ``M_l`` the demand that can reach the child."""
    lay, p = R.lay, R.lay.p
    lk = p.links[t]
    k = len(lk)
    o = int(lay.u_off[t])  # type: ignore[arg-type]
    mb = lay.reach[t + 1][lk.child]
    ak = np.arange(k)
    R.add(f"flow_bound_{t}", [(csr_rows(ak, o + ak, np.ones(k), (k, lay.n_u)), R.F),
                              (csr_rows(ak, o + ak, -mb, (k, lay.n_u)), R.U)], "<=", np.zeros(k), "hierarchy")


def add_group_cuts(R: Rows, t: int) -> None:
    """For every group G of tier-(t+1) candidates (the groups of the count rules of both tiers and the
    link_same group) and parent k: ``sum_{j in G} f_jk <= R_G y_k``, R_G = demand that can reach G. Valid for
    any grouping; tight when one member of G opens."""
    lay, p = R.lay, R.lay.p
    lk = p.links[t]
    o = int(lay.u_off[t])  # type: ignore[arg-type]
    m_par = p.tiers[t].size
    bys = [r.by for r in p.counts if r.tier in (t, t + 1) and r.by is not None]
    if p.tiers[t].link_same:
        bys.append(p.tiers[t].link_same)
    for by in dict.fromkeys(b for b in bys if b in p.tiers[t + 1].groups):
        has, names, gid = _group_ids(p.tiers[t + 1].group(by))
        r_g = _group_reach(lay, t + 1, has, names, gid)
        key = gid[lk.child] * np.int64(m_par) + lk.parent
        sel = has[lk.child]
        uniq, row_of = np.unique(key[sel], return_inverse=True)
        if not len(uniq):
            continue
        a = csr_rows(row_of, o + np.flatnonzero(sel), np.ones(int(sel.sum())), (len(uniq), lay.n_u))
        gy = sp.csr_matrix((-r_g[uniq // np.int64(m_par)], (np.arange(len(uniq)), lay.y_off[t] + uniq % np.int64(m_par))),
                           shape=(len(uniq), lay.n_y))
        R.add(f"group_cut_{t}_{by}", [(a, R.F), (gy, R.Y)], "<=", np.zeros(len(uniq)), "hierarchy")


def add_capacities(R: Rows) -> None:
    """``V_j - Q_j y_j <= 0``, only where the capacity is finite and below the reachable demand."""
    lay, p = R.lay, R.lay.p
    for t, tier in enumerate(p.tiers):
        capq = tier.capacity / lay.wscale
        capped = np.flatnonzero(np.isfinite(capq) & (capq < lay.reach[t]))
        if not len(capped):
            continue
        cap_y = sp.csr_matrix((-capq[capped], (np.arange(len(capped)), lay.y_off[t] + capped)),
                              shape=(len(capped), lay.n_y))
        R.add(f"capacity_{t}", [(b[capped], v) for b, v in R.inflow(t)] + [(cap_y, R.Y)], "<=",
              np.zeros(len(capped)), "capacity")


def add_counts(R: Rows) -> None:
    """One row per count rule and group: ``sum_{j in G} y_j (sense) n``."""
    import pyomo.environ as pyo

    lay, p = R.lay, R.lay.p
    for r, rule in enumerate(p.counts):
        tier = p.tiers[rule.tier]
        if rule.by is None:
            member = [np.arange(tier.size)]
        else:
            labels = tier.group(rule.by)
            member = [np.flatnonzero(labels == g) for g in rule.groups]
        ri = np.concatenate([np.full(len(idx), gi) for gi, idx in enumerate(member)]) if member else np.zeros(0, np.int64)
        ci = np.concatenate([lay.y_off[rule.tier] + idx for idx in member]) if member else np.zeros(0, np.int64)
        mat = csr_rows(ri, ci, np.ones(len(ri)), (len(member), lay.n_y))
        # a group with no candidate cannot be a Pyomo row ("0 == 1"); the precheck reports it, and here it
        # becomes a row on an auxiliary variable fixed at 0, so a solve still proves infeasibility
        empty = np.flatnonzero(np.diff(mat.indptr) == 0)
        blocks = [(mat, R.Y)]
        if len(empty) and rule.sense in ("==", ">=") and rule.value > 0:
            aux = pyo.Var(range(len(empty)), bounds=(0, 0))
            R.model.add_component(f"count_{r}_empty", aux)
            blocks.append((sp.csr_matrix((np.ones(len(empty)), (empty, np.arange(len(empty)))),
                                         shape=(len(member), len(empty))), [aux[q] for q in range(len(empty))]))
        R.add(f"count_{r}", blocks, rule.sense, np.full(len(member), float(rule.value)), "counts")


def add_colocation(R: Rows) -> None:
    """At most one tier per physical site when co-location is off."""
    lay, p = R.lay, R.lay.p
    if p.colocation or lay.T <= 1:
        return
    site_keys = np.concatenate([t.site.astype(str) for t in p.tiers])
    _, inv, cnt = np.unique(site_keys, return_inverse=True, return_counts=True)
    shared = np.flatnonzero(cnt > 1)
    if len(shared):
        pos = np.searchsorted(shared, inv)
        ok = (pos < len(shared)) & (shared[np.minimum(pos, len(shared) - 1)] == inv)
        cols = np.flatnonzero(ok)
        mat = csr_rows(pos[ok], cols, np.ones(len(cols)), (len(shared), lay.n_y))
        R.add("colocation", [(mat, R.Y)], "<=", np.ones(len(shared)), "colocation")


def add_objective(R: Rows) -> float:
    """Objective (and budget row); returns the factor from the problem's objective to the model's."""
    import pyomo.environ as pyo

    from siting.model.matrix import linear_expression

    lay, p, model = R.lay, R.lay.p, R.model
    T = lay.T
    bottom = p.links[T - 1]
    fixed_coef = np.concatenate([t.fixed_cost_cny for t in p.tiers])
    x_coef = lay.unit_cost[T - 1] * lay.w[bottom.child]
    g_coef = np.zeros(lay.n_g)
    for t in lay.path_levels:
        _, up = lay.pairs[t]
        g_coef[lay.g_off[t]: lay.g_off[t] + len(up)] = lay.unit_cost[t][up]
    h_coef = np.zeros(lay.n_h)
    for t, gp in lay.group_levels.items():
        h_coef[lay.h_off[t]: lay.h_off[t] + gp.n_pairs] = lay.unit_cost[t][gp.pair_m]
    f_coef = np.zeros(lay.n_u)
    for t in range(T - 1):
        if t not in lay.path_levels:
            o = int(lay.u_off[t])  # type: ignore[arg-type]
            f_coef[o: o + len(p.links[t])] = lay.unit_cost[t]
    # costs scaled so the largest coefficient is ~1e3 (HiGHS tolerances)
    big = max([float(np.max(np.abs(a))) for a in (fixed_coef, x_coef, f_coef, g_coef, h_coef) if len(a)] + [1.0])
    obj_scale = 10.0 ** (3 - math.floor(math.log10(big))) if big > 0 else 1.0
    f_vars = [R.F[int(l)] for l in lay.f_index]

    def cost_expr(scope: str) -> Any:
        if scope != "total":
            return linear_expression(fixed_coef * obj_scale, R.Y)
        return linear_expression(np.concatenate([fixed_coef, x_coef, f_coef[lay.f_index], g_coef, h_coef]) * obj_scale,
                                 R.Y + R.X + f_vars + R.G + R.H)

    if math.isfinite(p.budget_cny):
        model.budget = pyo.Constraint(expr=cost_expr(p.budget_scope) <= p.budget_cny * obj_scale)
        R.families["budget"].append(model.budget)
    if p.objective == "cost":
        model.obj = pyo.Objective(expr=cost_expr("total"), sense=pyo.minimize)
        return obj_scale
    model.obj = pyo.Objective(expr=linear_expression(lay.w[bottom.child], R.X), sense=pyo.maximize)
    return 1.0 / lay.wscale
