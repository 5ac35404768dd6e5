from __future__ import annotations

from dataclasses import dataclass
from typing import Any
import numpy as np
from siting.core.problem import Problem
from siting.model.matrix import extend_objective, linear_objective, matrix_rows
from siting.model.levels import Levels, levels_top, dense_costs, distance_levels


# ============================================================================================ Pyomo models
def pyomo_env():
    import highspy  # noqa: F401  (imported here, outside timed sections)
    import pyomo.environ as pyo
    from pyomo.repn.plugins import standard_form  # noqa: F401  (imported here, outside timed sections)

    from siting.model import matrix as _matrix

    _matrix.MatrixRows  # noqa: B018  (creates the component class outside timed sections)
    return pyo


@dataclass
class CompactMaps:
    """State of a compact model that grows by radius (what the solve loop needs besides the Pyomo model).

    ``g[i]`` is demand ``i``'s radius level and ``n_rows[i]`` its number of level rows (``g[i]``, plus the
    coverage row once ``g[i]`` is the last level); z variable ``t`` (in ``zvars``, all blocks in order) stands
    for demand ``z_demand[t]`` at level ``z_level[t]``, distance ``z_value[t]``.
    """

    g: np.ndarray
    n_rows: np.ndarray
    last_z: np.ndarray  # (n,) position in zvars of z_{i, g_i - 1}; -1 when g_i = 0
    zvars: list[Any]
    z_demand: np.ndarray
    z_level: np.ndarray
    z_value: np.ndarray
    constant: float
    blocks: int = 0


def build_compact(
    problem: Problem,
    *,
    p: int | None,
    radius_level: np.ndarray | None = None,
    cost: np.ndarray | None = None,
    levels: Levels | None = None,
    use_fixed_costs: bool = False,
) -> tuple[Any, CompactMaps]:
    """Build the chained distinct-distance model (module docstring) as a Pyomo ``ConcreteModel``.

    Parameters
    ----------
    problem
        The instance; pairs, weights, required/forbidden candidates and (with ``use_fixed_costs``) fixed
        costs are used.
    p
        Number of facilities (p-median); ``None`` for UFLP (free number, fixed costs).
    radius_level
        ``G_i`` per demand (0-based level index): cost capped at ``D_{iG_i}``; ``None`` or ``K_i - 1`` = exact
        with the coverage row.
    cost, levels
        Precomputed :func:`dense_costs` and :func:`distance_levels` (computed when omitted).
    use_fixed_costs
        Add ``sum_j f_j y_j`` to the objective.

    Returns
    -------
    (model, maps)
        ``model.y[j]`` (binary, every candidate; forbidden fixed at 0, required at 1), ``model.z[t]``,
        ``model.level[r]`` rows (one :class:`~siting.model.matrix.MatrixRows` component),
        ``model.cardinality`` (p-median) and ``model.obj``. :func:`raise_radius` adds levels later.
    """
    pyo = pyomo_env()
    c = dense_costs(problem) if cost is None else cost
    lv = distance_levels(c) if levels is None else levels
    n, m = c.shape
    top = levels_top(problem, lv)
    g = top.copy() if radius_level is None else np.minimum(np.asarray(radius_level, np.int64), top)
    model = pyo.ConcreteModel(name="compact-radius")
    model.y = pyo.Var(range(m), domain=pyo.Binary)
    y = list(model.y.values())
    for j in np.flatnonzero(problem.forbidden).tolist():
        y[j].fix(0)
    for j in np.flatnonzero(problem.required).tolist():
        y[j].fix(1)
    if p is not None:
        model.cardinality = matrix_rows(np.zeros(m), np.arange(m), 1.0, y, n_rows=1, lower=p, upper=p)
    constant = float(problem.weight @ lv.flat[lv.offset[:-1]])  # every demand pays its nearest distance
    fixed = problem.fixed_cost_cny if use_fixed_costs else np.zeros(m)
    linear_objective(model, fixed, y, constant)
    empty = np.zeros(0, dtype=np.int64)
    maps = CompactMaps(g=np.zeros(n, dtype=np.int64), n_rows=np.zeros(n, dtype=np.int64),
                    last_z=np.full(n, -1, dtype=np.int64), zvars=[], z_demand=empty, z_level=empty,
                    z_value=np.zeros(0), constant=constant)
    raise_radius(model, maps, g, problem=problem, levels=lv)
    return model, maps


def raise_radius(model: Any, maps: CompactMaps, radius_level: np.ndarray, *, problem: Problem, levels: Levels
                 ) -> tuple[list[Any], np.ndarray, list[Any]]:
    """Raise the radius levels of a compact model in place (never lowers them).

    The chained rows only ever gain rows and z variables when a radius grows (existing rows and objective
    coefficients stay as they are), so the new levels go into one new block: ``model.z`` / ``model.level``
    for the first call, ``model.z_<b>`` / ``model.level_<b>`` after; the objective gains their terms.

    Returns
    -------
    (blocks, z_cost, new_z)
        The new ``MatrixRows`` component (as a list), the objective coefficients of the new z variables and
        those variables, for :func:`~siting.solvers.highs.extend_compiled`.
    """
    pyo = pyomo_env()
    lv = levels
    n, m = len(lv.n_levels), len(model.y)
    top = lv.n_levels - 1
    g_new = np.maximum(np.minimum(np.asarray(radius_level, np.int64), top), maps.g)
    rows_new = g_new + (g_new == top)
    add_rows = rows_new - maps.n_rows
    add_z = g_new - maps.g
    b = maps.blocks
    suffix = "" if b == 0 else f"_{b}"
    # new z variables: demand i gets levels g_i .. g_new_i - 1, contiguous after the existing ones
    n_new = int(add_z.sum())
    zoff = np.concatenate([[0], np.cumsum(add_z)])
    z_dem = np.repeat(np.arange(n), add_z)
    z_lvl = maps.g[z_dem] + (np.arange(n_new) - zoff[z_dem])
    z_val = lv.flat[lv.offset[z_dem] + z_lvl]
    z_cost = problem.weight[z_dem] * (lv.flat[lv.offset[z_dem] + z_lvl + 1] - z_val)
    zcomp = pyo.Var(range(n_new), domain=pyo.NonNegativeReals)
    model.add_component("z" + suffix, zcomp)
    new_z = list(zcomp.values())
    # rows: demand i gets levels n_rows_i .. rows_new_i - 1
    n_add = int(add_rows.sum())
    roff = np.concatenate([[0], np.cumsum(add_rows)])
    r_dem = np.repeat(np.arange(n), add_rows)
    r_lvl = maps.n_rows[r_dem] + (np.arange(n_add) - roff[r_dem])
    ii, rr, kk = lv.entries(maps.n_rows, rows_new)
    y_row = roff[ii] + kk - maps.n_rows[ii]
    y_col = lv.order[ii, rr]
    # columns of this block: y (0..m-1), the previous last z of the demands that grow (m..), new z (after)
    grow = np.flatnonzero((add_rows > 0) & (maps.last_z >= 0))
    old_col = np.full(n, -1, dtype=np.int64)
    old_col[grow] = m + np.arange(len(grow))
    base = m + len(grow)
    zr = np.flatnonzero(r_lvl < g_new[r_dem])  # rows with their own z
    z_col = base + zoff[r_dem[zr]] + (r_lvl[zr] - maps.g[r_dem[zr]])
    pr = np.flatnonzero(r_lvl > 0)  # rows with the previous level's z
    prev_lvl = r_lvl[pr] - 1
    prev_is_old = prev_lvl < maps.g[r_dem[pr]]
    p_col = np.where(prev_is_old, old_col[r_dem[pr]], base + zoff[r_dem[pr]] + (prev_lvl - maps.g[r_dem[pr]]))
    x = list(model.y.values()) + [maps.zvars[t] for t in maps.last_z[grow].tolist()] + new_z
    rows = np.concatenate([y_row, zr, pr])
    cols = np.concatenate([y_col, z_col, p_col])
    coefs = np.concatenate([np.ones(len(y_row) + len(zr)), -np.ones(len(pr))])
    block = matrix_rows(rows, cols, coefs, x, n_rows=n_add, lower=(r_lvl == 0).astype(float))
    model.add_component("level" + suffix, block)
    if n_new:
        extend_objective(model, z_cost, new_z)
    # bookkeeping
    start = len(maps.zvars)
    maps.zvars.extend(new_z)
    has = add_z > 0
    maps.last_z[has] = start + zoff[1:][has] - 1
    maps.z_demand = np.concatenate([maps.z_demand, z_dem])
    maps.z_level = np.concatenate([maps.z_level, z_lvl])
    maps.z_value = np.concatenate([maps.z_value, z_val])
    maps.g, maps.n_rows, maps.blocks = g_new, rows_new, b + 1
    return [block], z_cost, new_z
