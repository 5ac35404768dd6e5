"""``MatrixRows`` (constraint families built from a sparse matrix) and the matrix-level compiler.

The direct reading of ``MatrixRows`` arrays in ``compile_model`` and the incremental ``extend_compiled`` must
give the same rows, bounds, columns and objective as Pyomo's own ``LinearStandardFormCompiler`` run on the
same model written with ordinary ``Constraint`` rows.
"""

from __future__ import annotations

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from siting.solvers.highs import compile_model, extend_compiled, run_highs
from siting.model.matrix import extend_objective, linear_expression, linear_objective, matrix_rows
from siting.model.radius import build_compact, raise_radius
from siting.model.levels import dense_costs, distance_levels
from siting.core.problem import Problem


def _random_rows(rng, n_rows, n_cols, x0, density=0.3):
    """Random rows with bounds around ``A @ x0``, so that the point ``x0`` is feasible."""
    mask = rng.random((n_rows, n_cols)) < density
    r, c = np.nonzero(mask)
    v = rng.integers(-5, 6, size=len(r)).astype(float)
    v[v == 0] = 1.0
    ax = np.zeros(n_rows)
    np.add.at(ax, r, v * x0[c])
    lo = ax - rng.integers(0, 6, size=n_rows)
    up = ax + rng.integers(0, 6, size=n_rows)
    kind = rng.integers(0, 4, size=n_rows)  # 0 both, 1 lower only, 2 upper only, 3 equality
    lo[kind == 2] = -np.inf
    up[kind == 1] = np.inf
    lo[kind == 3] = up[kind == 3] = ax[kind == 3]
    return r, c, v, lo, up


def _model(seed, *, matrix: bool):
    """The same random MIP written with MatrixRows (``matrix=True``) or ordinary Constraint rows."""
    rng = np.random.default_rng(seed)
    n_cols, n_rows = 12, 9
    x0 = np.r_[rng.integers(0, 5, size=6), rng.integers(0, 2, size=6)].astype(float)
    x0[2], x0[8] = 1.5, 1.0  # the values of the two fixed variables below
    r, c, v, lo, up = _random_rows(rng, n_rows, n_cols, x0)
    obj = rng.integers(-4, 5, size=n_cols).astype(float)
    m = pyo.ConcreteModel()
    m.x = pyo.Var(range(6), bounds=(0, 4))
    m.y = pyo.Var(range(6), domain=pyo.Binary)
    xs = list(m.x.values()) + list(m.y.values())
    xs[2].fix(1.5)  # fixed variables go to the row bounds
    xs[8].fix(1)
    if matrix:
        m.rows = matrix_rows(r, c, v, xs, n_rows=n_rows, lower=lo, upper=up)
    else:
        def rule(_m, i):
            sel = r == i
            body = sum(float(a) * xs[k] for k, a in zip(c[sel], v[sel]))
            if isinstance(body, int):  # empty row
                return pyo.Constraint.Skip
            return (None if not np.isfinite(lo[i]) else float(lo[i]), body,
                    None if not np.isfinite(up[i]) else float(up[i]))
        m.rows = pyo.Constraint(range(n_rows), rule=rule)
    m.extra = pyo.Constraint(expr=m.x[0] + 2 * m.y[1] <= 6)  # an ordinary row next to the matrix rows
    m.obj = pyo.Objective(expr=linear_expression(obj, xs, constant=3.0), sense=pyo.minimize)
    return m


def _canonical(comp):
    """Rows as sorted tuples (lower, coefficients by column name, upper), columns sorted by name."""
    lp = comp.lp
    names = [v.name for v in comp.columns]
    order = np.argsort(names)
    import scipy.sparse as sp

    a = sp.csc_matrix((np.asarray(lp.a_matrix_.value_), np.asarray(lp.a_matrix_.index_),
                       np.asarray(lp.a_matrix_.start_)), shape=(lp.num_row_, lp.num_col_)).toarray()[:, order]
    rows = []
    for lo, row, up in zip(lp.row_lower_, a, lp.row_upper_):
        if not np.any(row != 0):
            continue
        key = tuple(row.tolist())
        if lo == up:
            rows.append((float(lo), key, float(up)))
            continue
        # a ranged row may be one row or two one-sided rows (Pyomo's mixed form): compare one-sided halves
        if np.isfinite(lo):
            rows.append((float(lo), key, np.inf))
        if np.isfinite(up):
            rows.append((-np.inf, key, float(up)))
    rows.sort()
    cost = np.asarray(lp.col_cost_)[order]
    return [names[k] for k in order], rows, cost, float(lp.offset_)


@pytest.mark.parametrize("seed", range(5))
def test_matrix_rows_compile_like_ordinary_constraints(seed):
    ours = _canonical(compile_model(_model(seed, matrix=True)))
    ref = _canonical(compile_model(_model(seed, matrix=False)))
    assert ours[0] == ref[0]
    assert len(ours[1]) == len(ref[1])
    for a, b in zip(ours[1], ref[1]):
        assert a[0] == pytest.approx(b[0]) and a[2] == pytest.approx(b[2])
        np.testing.assert_allclose(a[1], b[1])
    np.testing.assert_allclose(ours[2], ref[2])
    assert ours[3] == pytest.approx(ref[3])


@pytest.mark.parametrize("seed", range(3))
def test_recorded_objective_compiles_like_its_expression(seed):
    """linear_objective / extend_objective keep their terms as arrays for compile_model; the result must equal
    compiling the same objective written as an ordinary Pyomo expression, and the record must be ignored once
    the objective is changed."""
    rng = np.random.default_rng(seed)
    c1, c2 = rng.integers(-4, 5, size=12).astype(float), rng.integers(0, 3, size=5).astype(float)

    def build(recorded: bool):
        m = _model(seed, matrix=True)
        m.extra.deactivate()  # only matrix rows: the direct objective route
        m.del_component(m.obj)
        xs = list(m.x.values()) + list(m.y.values())
        if recorded:
            linear_objective(m, c1, xs, 2.5)
            extend_objective(m, c2, xs[3:8])
        else:
            m.obj = pyo.Objective(expr=2.5 + sum(float(a) * v for a, v in zip(c1, xs))
                                  + sum(float(a) * v for a, v in zip(c2, xs[3:8])))
        return m

    ours, ref = _canonical(compile_model(build(True))), _canonical(compile_model(build(False)))
    assert ours[0] == ref[0] and ours[1] == ref[1]
    np.testing.assert_allclose(ours[2], ref[2])
    assert ours[3] == pytest.approx(ref[3])  # fixed variables folded into the offset the same way
    m = build(True)
    m.obj.expr = m.obj.expr + 7.0 * m.x[0]  # a changed objective is compiled from its expression
    changed = _canonical(compile_model(m))
    k = changed[0].index(m.x[0].name)
    assert changed[2][k] == pytest.approx(ref[2][k] + 7.0)


def test_matrix_rows_make_row_objects_only_when_asked():
    m = _model(0, matrix=True)
    m.extra.deactivate()  # only matrix rows: compile_model reads the arrays and never needs row objects
    assert len(m.rows) == 9 and m.rows._data._rows is None
    compile_model(m)
    assert m.rows._data._rows is None
    assert m.rows[3].index() == 3 and len(list(m.rows.values())) == 9


def test_pyomo_compiler_and_lp_writer_accept_matrix_rows(tmp_path):
    m = _model(0, matrix=True)
    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    assert info.A.shape[0] >= len(m.rows)
    m.write(str(tmp_path / "m.lp"), io_options={"symbolic_solver_labels": True})
    text = (tmp_path / "m.lp").read_text()
    assert "rows" in text and "extra" in text
    # rows are ordinary-looking components: indexable, body evaluates to A x
    for v in m.component_data_objects(pyo.Var):
        if not v.fixed:
            v.set_value(1.0)
    r0 = m.rows[0]
    assert pyo.value(r0.body) == pytest.approx(sum(c * pyo.value(x) for c, x in
                                                   zip(r0.body.linear_coefs, r0.body.linear_vars)))
    assert len(m.rows) == 9 and list(m.rows.keys()) == list(range(9))


@pytest.mark.solver
def test_lp_file_from_pyomo_writer_gives_the_same_optimum(tmp_path):
    m = _model(3, matrix=True)
    ours = run_highs(compile_model(m))
    assert ours.has_solution
    m.write(str(tmp_path / "m.lp"))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(tmp_path / "m.lp"))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert ours.objective == pytest.approx(h.getInfo().objective_function_value)


def _prob(seed, n=25):
    rng = np.random.default_rng(seed)
    pts = rng.random((n, 2))
    d = np.round(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)) * 100)
    return Problem.from_cost_matrix(d, weights=rng.integers(1, 5, size=n).astype(float))


def test_a_grown_model_equals_one_built_at_the_larger_radius():
    prob = _prob(1)
    d = dense_costs(prob)
    lv = distance_levels(d)
    top = lv.n_levels - 1
    g1 = np.minimum(top, 2)
    g2 = np.minimum(top, np.arange(prob.n_demand) % 7 + 1)  # some demands grow, some do not
    g2[::5] = top[::5]  # some reach the coverage row
    grown, maps = build_compact(prob, p=4, radius_level=g1, cost=d, levels=lv)
    comp = compile_model(grown)
    blocks, z_cost, new_z = raise_radius(grown, maps, np.maximum(g1, g2), problem=prob, levels=lv)
    ext = extend_compiled(comp, blocks, z_cost, new_z)
    direct, _ = build_compact(prob, p=4, radius_level=np.maximum(g1, g2), cost=d, levels=lv)
    a, b = _canonical(ext), _canonical(compile_model(direct))
    # the same rows and costs up to the names of the z variables: compare multisets of rows and costs
    assert len(a[1]) == len(b[1])
    assert sorted(a[2].tolist()) == pytest.approx(sorted(b[2].tolist()))
    assert a[3] == pytest.approx(b[3])
    # and a full recompile of the grown Pyomo model matches the incremental matrix
    c = _canonical(compile_model(grown))
    assert c[0] == a[0] and c[1] == a[1]
    np.testing.assert_allclose(c[2], a[2])
    assert ext.lp.num_row_ == comp.lp.num_row_ + len(blocks[0])


@pytest.mark.solver
def test_a_grown_model_has_the_same_lp_optimum():
    prob = _prob(2)
    d = dense_costs(prob)
    lv = distance_levels(d)
    g1 = np.minimum(lv.n_levels - 1, 1)
    grown, maps = build_compact(prob, p=5, radius_level=g1, cost=d, levels=lv)
    comp = compile_model(grown)
    blocks, z_cost, new_z = raise_radius(grown, maps, lv.n_levels - 1, problem=prob, levels=lv)
    ext = extend_compiled(comp, blocks, z_cost, new_z)
    direct, _ = build_compact(prob, p=5, cost=d, levels=lv)
    a = run_highs(ext, relax=True, load=False)
    b = run_highs(compile_model(direct), relax=True, load=False)
    assert a.objective == pytest.approx(b.objective)
    c = run_highs(ext)
    e = run_highs(compile_model(direct))
    assert c.objective == pytest.approx(e.objective)


def test_column_info_matches_pyomo_bounds_and_integrality():
    from siting.solvers.highs import column_info

    m = pyo.ConcreteModel()
    m.y = pyo.Var(range(3), domain=pyo.Binary)
    m.z = pyo.Var(range(3), bounds=(0.5, 4))
    m.u = pyo.Var(range(2), domain=pyo.UnitInterval)
    m.w = pyo.Var(range(2), domain=pyo.NonNegativeIntegers, bounds=(None, 7))
    m.p = pyo.Param(mutable=True, initialize=3.0)
    m.q = pyo.Var(bounds=(m.p, None))  # a Param bound: the slow, general path
    m.y[1].setlb(1)
    cols = list(m.component_data_objects(pyo.Var))
    big = 1e30
    lo, up, integer = column_info(cols, big)
    for v, a, b, c in zip(cols, lo, up, integer):
        bl, bu = v.bounds
        assert a == (-big if bl is None else bl) and b == (big if bu is None else bu), v.name
        assert c == v.is_integer(), v.name
