"""HiGHS driver at the matrix level: compile a linear Pyomo model to one sparse matrix and solve it with ``highspy``.

Pyomo stays the modelling layer; this module is the bridge. :func:`compile_model` reads
:class:`~siting.model.matrix.MatrixRows` components straight from their arrays and hands the rest of the
model (ordinary constraints, the objective) to Pyomo's ``LinearStandardFormCompiler``; :func:`run_highs`
passes the matrix to HiGHS in one call (``passModel``), with an optional warm start (``setSolution``), and
loads the incumbent back into the Pyomo variables. Statuses go through a lookup table to the solver-neutral
:class:`~siting.core.results.TerminationCondition`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from itertools import repeat
from operator import attrgetter
from typing import Any
import numpy as np
from siting.core.errors import SolverError
from siting.core.results import TerminationCondition
from siting.core.options import SolverOptions
from siting.solvers.status import highs_status_tables


# bulk attribute readers for Pyomo variables (map() over thousands of columns instead of Python loops)
_FIXED = attrgetter("fixed")


_FIXED_SLOT = attrgetter("_fixed")  # what VarData.fixed returns, read without the property call


_LB = attrgetter("_lb")


_UB = attrgetter("_ub")


_DOMAIN = attrgetter("_domain")


@dataclass
class Solved:
    """What one HiGHS run gave: termination, incumbent (if any) and bound, kept apart."""

    termination: TerminationCondition
    has_solution: bool
    objective: float
    bound: float
    values: np.ndarray  # column values, in the compiled column order (empty without a solution)
    seconds: float
    compile_seconds: float
    solver: str = "highs"


@dataclass
class LpArrays:
    """HiGHS's column-wise matrix form as numpy arrays, as ``Highs.passModel`` takes them (no per-element
    conversion into a ``HighsLp``): ``row_lower <= A x <= row_upper``, ``col_lower <= x <= col_upper``,
    objective ``col_cost @ x + offset``; ``A`` in CSC (``a_start`` has ``num_col + 1`` entries)."""

    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray  # int32
    a_index: np.ndarray  # int32
    a_value: np.ndarray
    offset: float

    @property
    def num_col(self) -> int:
        return len(self.col_cost)

    @property
    def num_row(self) -> int:
        return len(self.row_lower)


@dataclass
class Compiled:
    """A Pyomo model compiled to HiGHS's matrix form; ``columns[k]`` is the Pyomo variable of column ``k``."""

    model: Any
    columns: list[Any]
    data: LpArrays
    integer: np.ndarray
    maximise: bool
    seconds: float
    col_of: dict[int, int]  # id(pyomo variable) -> column

    def column_index(self) -> dict[int, int]:
        return self.col_of

    @property
    def lp(self) -> Any:
        """The same model as a ``highspy.HighsLp`` (integrality left empty), for inspection."""
        _, highspy = highs_status_tables()
        d = self.data
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = d.num_col, d.num_row
        lp.col_cost_, lp.offset_ = d.col_cost, d.offset
        lp.col_lower_, lp.col_upper_ = d.col_lower, d.col_upper
        lp.row_lower_, lp.row_upper_ = d.row_lower, d.row_upper
        lp.sense_ = highspy.ObjSense.kMaximize if self.maximise else highspy.ObjSense.kMinimize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = d.a_start, d.a_index, d.a_value
        return lp


def compile_model(model: Any) -> Compiled:
    """Compile a linear Pyomo model into HiGHS's matrix form (:class:`LpArrays`: one sparse matrix, no
    per-row solver calls).

    Active :class:`~siting.model.matrix.MatrixRows` components are read from their arrays (fixed
    variables moved to the row bounds, as Pyomo's compiler does); everything else goes through Pyomo's
    ``LinearStandardFormCompiler``. Columns are the compiler's followed by the matrix rows' other free
    variables; rows are the compiler's followed by the matrix rows in model order.
    """
    import pyomo.environ as pyo
    import scipy.sparse as sp
    from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

    from siting.model.matrix import MatrixRows, objective_terms

    _, highspy = highs_status_tables()
    t0 = time.perf_counter()
    inf = highspy.kHighsInf
    blocks, others = [], []
    for c in model.component_objects(pyo.Constraint, active=True, descend_into=True):
        (blocks if isinstance(c, MatrixRows) else others).append(c)
    objs = list(model.component_data_objects(pyo.Objective, active=True, descend_into=True))
    if len(objs) != 1:
        raise SolverError(f"model has {len(objs)} active objectives; exactly one is needed")
    direct = None
    if not others:  # only matrix rows: the objective from its recorded arrays, else by a light walk
        rec = objective_terms(model, objs[0])
        direct = _recorded_linear(rec) if rec is not None else _plain_linear(objs[0].expr)
    if direct is not None:  # only matrix rows and a plain linear objective: no expression walk at all
        obj_coef, obj_vars, offset = direct
        obj_ids = list(map(id, obj_vars))
        seen = dict.fromkeys(obj_ids)  # ids in order of first appearance
        if len(seen) == len(obj_ids):
            cols: list[Any] = list(obj_vars)
        else:
            by_id = dict(zip(obj_ids, obj_vars))
            cols = [by_id[i] for i in seen]
        col_of: dict[int, int] = dict(zip(seen, range(len(seen))))
        a_parts: list[Any] = [sp.csr_matrix((0, 0))]
        lo_parts: list[np.ndarray] = []
        up_parts: list[np.ndarray] = []
    else:
        for c in blocks:
            c.deactivate()
        try:
            info = LinearStandardFormCompiler().write(model, mixed_form=True, set_sense=None)
        finally:
            for c in blocks:
                c.activate()
        cols = list(info.columns)
        col_of = {id(v): k for k, v in enumerate(cols)}
        a_parts = [info.A]
        rhs = np.asarray(info.rhs, dtype=np.float64)
        kinds = np.fromiter((r.bound_type for r in info.rows), dtype=np.int64, count=len(info.rows))
        lo_parts = [np.where(kinds <= 0, rhs, -inf)]
        up_parts = [np.where(kinds >= 0, rhs, inf)]
    for c in blocks:
        r, cc, v, lo, up = _block_arrays(c, cols, col_of, inf)
        a_parts.append((r, cc, v, len(lo)))
        lo_parts.append(lo)
        up_parts.append(up)
    ncol = len(cols)
    a = _stack_csc(a_parts, ncol)
    cost = np.zeros(ncol)
    if direct is not None:
        if len(obj_ids) == len(seen):  # column k is the objective's k-th variable
            cost[: len(obj_coef)] = obj_coef
        else:
            np.add.at(cost, np.fromiter(map(col_of.__getitem__, obj_ids), np.int64, len(obj_ids)), obj_coef)
    else:
        if info.c.shape[1]:
            cost[: info.c.shape[1]] = np.asarray(info.c.todense()).ravel()
        off = np.asarray(info.c_offset).ravel()
        offset = float(off[0]) if len(off) else 0.0
    col_lo, col_up, integer = column_info(cols, inf)
    data = LpArrays(col_cost=cost, col_lower=col_lo, col_upper=col_up,
                    row_lower=np.concatenate(lo_parts) if lo_parts else np.zeros(0),
                    row_upper=np.concatenate(up_parts) if up_parts else np.zeros(0),
                    a_start=a.indptr.astype(np.int32), a_index=a.indices.astype(np.int32),
                    a_value=a.data.astype(np.float64), offset=float(offset))
    maximise = objs[0].sense == pyo.maximize
    return Compiled(model, cols, data, integer, maximise, time.perf_counter() - t0, col_of)


def _fixed_mask(xs: Any) -> np.ndarray:
    """``[v.fixed for v in xs]`` as a bool array, read from the variables' ``_fixed`` slot when they have one."""
    try:
        return np.fromiter(map(_FIXED_SLOT, xs), dtype=bool, count=len(xs))
    except AttributeError:  # not a VarData (e.g. another variable type): the public property
        return np.fromiter(map(_FIXED, xs), dtype=bool, count=len(xs))


def _stack_csc(a_parts: list[Any], ncol: int) -> Any:
    """One CSC matrix of ``ncol`` columns from a first sparse block (Pyomo's compiler, possibly empty) and
    ``(rows, cols, values, n_rows)`` triplet blocks stacked below it, in one COO -> CSC conversion."""
    import scipy.sparse as sp

    first = a_parts[0].tocoo()
    rows, cols, vals = [first.row.astype(np.int64)], [first.col.astype(np.int64)], [first.data]
    shift = first.shape[0]
    for r, cc, v, nr in a_parts[1:]:
        rows.append(np.asarray(r, dtype=np.int64) + shift)
        cols.append(np.asarray(cc, dtype=np.int64))
        vals.append(np.asarray(v, dtype=np.float64))
        shift += nr
    return sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                         shape=(shift, ncol))


def column_info(cols: list[Any], inf: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower bounds, upper bounds and integrality of the columns.

    Read from each variable's own bounds and its domain's interval (cached per domain), which is several
    times faster than ``v.bounds`` / ``v.is_integer()`` per variable; a variable whose bounds are not plain
    numbers (e.g. a mutable Param) falls back to ``v.bounds``.
    """
    n = len(cols)
    lbs = list(map(_LB, cols))
    ubs = list(map(_UB, cols))
    plain = {int, float, type(None)}
    if not (set(map(type, lbs)) <= plain and set(map(type, ubs)) <= plain):
        return _col_info_slow(cols, inf)
    doms = list(map(_DOMAIN, cols))
    dom_ids = np.fromiter(map(id, doms), dtype=np.int64, count=n)
    uniq, first, inv = np.unique(dom_ids, return_index=True, return_inverse=True)
    dlo, dup, dint = np.empty(len(uniq)), np.empty(len(uniq)), np.zeros(len(uniq), dtype=bool)
    for u, k in enumerate(first.tolist()):  # one call per distinct domain, not per variable
        a, b, step = doms[k].get_interval()
        dlo[u] = -inf if a is None else float(a)
        dup[u] = inf if b is None else float(b)
        dint[u] = step == 1
    lo = np.array(lbs, dtype=np.float64)  # None -> nan
    up = np.array(ubs, dtype=np.float64)
    lo = np.where(np.isnan(lo), dlo[inv], np.maximum(lo, dlo[inv]))
    up = np.where(np.isnan(up), dup[inv], np.minimum(up, dup[inv]))
    integer = dint[inv]
    return lo, up, integer


def _col_info_slow(cols: list[Any], inf: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`column_info` for columns whose bounds are not all plain numbers (``v.bounds`` per variable)."""
    n = len(cols)
    lo, up, integer = np.empty(n), np.empty(n), np.zeros(n, dtype=bool)
    for k, v in enumerate(cols):
        bl, bu = v.bounds
        lo[k] = -inf if bl is None else bl
        up[k] = inf if bu is None else bu
        integer[k] = v.is_integer()
    return lo, up, integer


def _recorded_linear(rec: tuple[list[tuple[np.ndarray, list[Any]]], float]
                     ) -> tuple[np.ndarray, list[Any], float]:
    """``(coefficients, variables, constant)`` from :func:`~siting.model.matrix.objective_terms`,
    fixed variables folded into the constant."""
    parts, const = rec
    coefs = np.concatenate([c for c, _ in parts]) if parts else np.zeros(0)
    return _fold_fixed(coefs, [v for _, x in parts for v in x], const)


def _fold_fixed(coefs: np.ndarray, xs: list[Any], const: float) -> tuple[np.ndarray, list[Any], float]:
    """``coefs @ xs + const`` with the fixed variables' terms moved into the constant."""
    fixed = _fixed_mask(xs)
    if not fixed.any():
        return coefs, xs, const
    const += float(coefs[fixed] @ np.array([float(xs[k].value) for k in np.flatnonzero(fixed).tolist()]))
    return coefs[~fixed], [xs[k] for k in np.flatnonzero(~fixed).tolist()], const


def _plain_linear(expr: Any) -> tuple[np.ndarray, list[Any], float] | None:
    """``(coefficients, variables, constant)`` of a linear expression made only of ``LinearExpression``s,
    variables, monomials and constants (fixed variables folded into the constant); ``None`` for anything
    else, which then goes through Pyomo's compiler."""
    from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression, SumExpression

    parts: list[Any] = []  # coefficient arrays or lists, aligned with xs
    xs: list[Any] = []
    const = 0.0
    todo = [expr]
    while todo:
        e = todo.pop()
        if type(e) in (int, float):
            const += e
            continue
        if type(e) is LinearExpression:
            lc, lx, c0 = e.linear_coefs, e.linear_vars, e.constant
            if type(c0) not in (int, float) or not set(map(type, lc)) <= {int, float}:
                return None
        elif type(e) is SumExpression:
            todo.extend(e.args)
            continue
        elif type(e) is MonomialTermExpression and type(e.args[0]) in (int, float) and e.args[1].is_variable_type():
            lc, lx, c0 = [e.args[0]], [e.args[1]], 0.0
        elif getattr(e, "is_variable_type", lambda: False)():
            lc, lx, c0 = [1.0], [e], 0.0
        else:
            return None
        const += c0
        parts.append(lc)
        xs.extend(lx)
    coefs = np.concatenate([np.asarray(c, dtype=np.float64) for c in parts]) if parts else np.zeros(0)
    return _fold_fixed(coefs, xs, const)


def _block_arrays(c: Any, cols: list[Any], col_of: dict[int, int], inf: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Triplets (row, global column, value) and row bounds of one ``MatrixRows`` component; its free
    variables not yet in ``cols`` are appended (``col_of`` updated); fixed ones go to the bounds."""
    x = c._x
    fixed = _fixed_mask(x)
    ids = list(map(id, x))
    gcol = np.fromiter(map(col_of.get, ids, repeat(-1, len(ids))), dtype=np.int64, count=len(x))
    gcol[fixed] = -1
    new = np.flatnonzero((gcol < 0) & ~fixed)
    if len(new):  # free variables met for the first time become columns, in order of first appearance
        first: dict[int, int] = {}  # id -> position in x of its first appearance
        for k in new.tolist():
            first.setdefault(ids[k], k)
        start = len(cols)
        col_of.update(zip(first, range(start, start + len(first))))
        cols.extend(x[k] for k in first.values())
        gcol[new] = [col_of[ids[k]] for k in new.tolist()]
    indptr = np.asarray(c._A_indptr, dtype=np.int64)
    data = np.asarray(c._A_data, dtype=np.float64)
    col = np.asarray(c._A_indices, dtype=np.int64)
    row = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    lo = getattr(c, "_lower_arr", None)
    up = getattr(c, "_upper_arr", None)
    if lo is None or up is None:
        lo = np.array([-inf if b is None else b for b in c._lower], dtype=np.float64)
        up = np.array([inf if b is None else b for b in c._upper], dtype=np.float64)
    if not fixed.any():
        return row, gcol[col], data, lo, up
    val = np.zeros(len(x))
    for k in np.flatnonzero(fixed).tolist():
        val[k] = float(x[k].value)
    shift = np.bincount(row, weights=data * val[col], minlength=len(indptr) - 1)
    keep = ~fixed[col]
    return row[keep], gcol[col[keep]], data[keep], lo - shift, up - shift


def extend_compiled(comp: Compiled, blocks: list[Any], cost: np.ndarray, cost_vars: list[Any]) -> Compiled:
    """``comp`` with more ``MatrixRows`` rows and objective terms (``cost[k] * cost_vars[k]``) appended,
    without recompiling what was compiled before (for models that only grow, e.g. by radius).

    The Pyomo model must have been extended the same way; new free variables become new columns.
    """
    import scipy.sparse as sp

    _, highspy = highs_status_tables()
    t0 = time.perf_counter()
    inf = highspy.kHighsInf
    cols = list(comp.columns)
    col_of = dict(comp.col_of)
    old = comp.data
    n_old, m_old = old.num_col, old.num_row
    parts = [_block_arrays(c, cols, col_of, inf) for c in blocks]
    ncol = len(cols)
    start = old.a_start.astype(np.int64)
    a_old = sp.csc_matrix((old.a_value, old.a_index, np.concatenate([start, np.full(ncol - n_old, start[-1])])),
                          shape=(m_old, ncol))
    a = _stack_csc([a_old] + [(r, cc, v, len(lo)) for r, cc, v, lo, _ in parts], ncol)
    col_cost = np.concatenate([old.col_cost, np.zeros(ncol - n_old)])
    coefs, free_vars, offset = _fold_fixed(np.asarray(cost, dtype=np.float64), list(cost_vars), old.offset)
    if free_vars:
        idx = np.fromiter((col_of[id(v)] for v in free_vars), dtype=np.int64, count=len(free_vars))
        np.add.at(col_cost, idx, coefs)
    lo, up, new_int = column_info(cols[n_old:], inf)
    data = LpArrays(col_cost=col_cost, col_lower=np.concatenate([old.col_lower, lo]),
                    col_upper=np.concatenate([old.col_upper, up]),
                    row_lower=np.concatenate([old.row_lower] + [pt[3] for pt in parts]),
                    row_upper=np.concatenate([old.row_upper] + [pt[4] for pt in parts]),
                    a_start=a.indptr.astype(np.int32), a_index=a.indices.astype(np.int32),
                    a_value=a.data.astype(np.float64), offset=offset)
    integer = np.concatenate([comp.integer, new_int])
    return Compiled(comp.model, cols, data, integer, comp.maximise, time.perf_counter() - t0, col_of)


def pass_arrays(h: Any, data: LpArrays, *, integer: np.ndarray | None = None, maximise: bool = False) -> None:
    """Load ``data`` into the ``highspy.Highs`` ``h`` with ``passModel``'s array overload (no per-element
    conversion); ``integer`` marks the integer columns (none: an LP). Raises :class:`SolverError` when HiGHS
    rejects the model."""
    _, highspy = highs_status_tables()
    integrality = (np.zeros(data.num_col, dtype=np.int32) if integer is None
                   else np.asarray(integer, dtype=np.int32) * int(highspy.HighsVarType.kInteger))
    sense = highspy.ObjSense.kMaximize if maximise else highspy.ObjSense.kMinimize
    status = h.passModel(data.num_col, data.num_row, len(data.a_value), int(highspy.MatrixFormat.kColwise),
                         int(sense), float(data.offset), data.col_cost, data.col_lower, data.col_upper,
                         data.row_lower, data.row_upper, data.a_start, data.a_index, data.a_value, integrality)
    if status == highspy.HighsStatus.kError:
        raise SolverError("HiGHS rejected the model (passModel returned an error); run with verbose=True to see "
                          "HiGHS's message")


def run_highs(
    comp: Compiled,
    *,
    options: SolverOptions = SolverOptions(),
    relax: bool = False,
    warm_start: np.ndarray | None = None,
    abs_gap: float | None = None,
    time_limit_s: float | None = None,
    load: bool = True,
) -> Solved:
    """Solve a compiled model with HiGHS (as a MIP, or its LP relaxation with ``relax``); with ``load`` the
    incumbent goes back into the Pyomo variables."""
    table, highspy = highs_status_tables()
    h = new_highs(highspy)
    h.setOptionValue("output_flag", bool(options.verbose))
    h.setOptionValue("random_seed", int(options.seed))
    h.setOptionValue("mip_rel_gap", float(options.mip_rel_gap))
    if abs_gap is not None:
        h.setOptionValue("mip_abs_gap", float(abs_gap))
    tl = options.time_limit_s if time_limit_s is None else time_limit_s
    if tl is not None:
        h.setOptionValue("time_limit", max(float(tl), 0.01))
    if options.threads is not None:
        # HiGHS keeps one global thread scheduler per process and refuses (status unknown, no solution) a
        # later solve asking for another thread count; reset it so that `threads` always takes effect
        # (as siting.solvers.pyomo.solve_pyomo does)
        highspy.Highs.resetGlobalScheduler(True)
        h.setOptionValue("threads", int(options.threads))
    for key, val in options.extra.items():
        h.setOptionValue(key, val)
    d = comp.data
    mip = bool(comp.integer.any()) and not relax
    pass_arrays(h, d, integer=comp.integer if mip else None, maximise=comp.maximise)
    if warm_start is not None and mip:
        sol = highspy.HighsSolution()
        sol.col_value = np.asarray(warm_start, dtype=np.float64).tolist()
        sol.value_valid = True
        h.setSolution(sol)
    t1 = time.perf_counter()
    try:
        h.HandleKeyboardInterrupt = True
    except AttributeError:  # pragma: no cover - older highspy
        pass
    h.run()
    seconds = time.perf_counter() - t1
    term = table.get(h.getModelStatus(), TerminationCondition.UNKNOWN)
    hinfo = h.getInfo()
    has_sol = hinfo.primal_solution_status == 2  # kSolutionStatusFeasible
    objective = math.nan
    x = np.zeros(0)
    if (not has_sol and term is TerminationCondition.OPTIMAL and d.num_col == 0
            and np.all(d.row_lower <= 1e-9) and np.all(d.row_upper >= -1e-9)):
        # no free column (every variable fixed by Pyomo, e.g. required/forbidden sites leave no choice):
        # HiGHS says kModelEmpty without a primal solution; the one point is the solution, of value offset
        has_sol = True
        objective = float(d.offset)
    elif has_sol:
        x = np.asarray(h.getSolution().col_value, dtype=np.float64)
        objective = float(hinfo.objective_function_value)
    if has_sol:
        if load:
            vals = np.where(comp.integer, np.round(x), x) if mip else x
            for v, val in zip(comp.columns, vals.tolist()):
                v.set_value(val, skip_validation=True)
    bound = float(hinfo.mip_dual_bound) if mip else (objective if term is TerminationCondition.OPTIMAL
                                                      else math.nan)
    if term is TerminationCondition.OPTIMAL and not math.isfinite(bound):
        bound = objective
    return Solved(term, has_sol, objective, bound, x, seconds, 0.0, f"highs {h.version()}")


def solve_model_highs(
    model: Any,
    *,
    options: SolverOptions = SolverOptions(),
    warm_start: list[tuple[Any, float]] | None = None,
    abs_gap: float | None = None,
    time_limit_s: float | None = None,
) -> Solved:
    """Compile a linear Pyomo model (:func:`compile_model`), solve it with ``highspy`` (:func:`run_highs`)
    and load the incumbent into the model's variables.

    ``warm_start`` lists ``(pyomo variable, value)`` pairs (missing variables are 0); ``abs_gap`` sets
    ``mip_abs_gap``; ``time_limit_s`` overrides ``options.time_limit_s``.
    """
    comp = compile_model(model)
    x0 = None
    if warm_start:
        col_of = comp.column_index()
        x0 = np.zeros(len(comp.columns))
        for v, val in warm_start:
            k = col_of.get(id(v))
            if k is not None:
                x0[k] = val
    out = run_highs(comp, options=options, warm_start=x0, abs_gap=abs_gap, time_limit_s=time_limit_s)
    out.compile_seconds = comp.seconds
    return out


def new_highs(highspy: Any) -> Any:
    """A ``highspy.Highs`` whose one-off start-up banner (C-level stdout) does not reach our stdout, which
    may be carrying JSON lines."""
    import ctypes
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        h = highspy.Highs()
        try:
            ctypes.CDLL(None).fflush(None)
        except (OSError, AttributeError):  # pragma: no cover - non-POSIX libc
            pass
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)
    return h


def solve_to_info(
    model: Any,
    *,
    options: SolverOptions = SolverOptions(),
    build_seconds: float = 0.0,
    compiled: Compiled | None = None,
    start: np.ndarray | None = None,
    extra_seconds: float = 0.0,
) -> Any:
    """Compile ``model`` (unless ``compiled`` is given) and solve it with HiGHS at the matrix level; the same
    contract as :func:`siting.solvers.pyomo.solve_pyomo` (a :class:`~siting.core.results.SolveInfo`, incumbent loaded
    into the model).

    ``start`` is a warm start (column values of ``compiled``); ``extra_seconds`` (time spent making it) is
    added to the solve time, compile time to ``build_seconds``.
    """
    import pyomo.environ as pyo

    from siting.core.results import SolutionStatus, SolveInfo
    from siting.core.options import relative_gap

    comp = compile_model(model) if compiled is None else compiled
    out = run_highs(comp, options=options, warm_start=start)
    objs = list(model.component_data_objects(pyo.Objective, active=True))
    sense = "max" if objs[0].sense == pyo.maximize else "min"
    if out.has_solution:
        objective = float(pyo.value(objs[0].expr))
        status = (SolutionStatus.OPTIMAL if out.termination is TerminationCondition.OPTIMAL
                  else SolutionStatus.FEASIBLE)
    else:
        objective, status = math.nan, SolutionStatus.NO_SOLUTION
    bound = out.bound if math.isfinite(out.bound) else (objective if status is SolutionStatus.OPTIMAL
                                                        else math.nan)
    return SolveInfo(termination=out.termination, status=status, objective=objective, bound=bound,
                     gap=relative_gap(objective, bound), build_seconds=float(build_seconds) + comp.seconds,
                     solve_seconds=out.seconds + float(extra_seconds), sense=sense, solver=out.solver,
                     options=options.to_dict())
