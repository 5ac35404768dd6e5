"""Whole constraint families as one Pyomo component, built from a sparse matrix in one call.

Pyomo's ordinary ``Constraint`` creates a relational expression per row (about 10 microseconds each) and
its writers walk every expression again (another 10–15). For families of rows that we already hold as
arrays — every formulation here — :class:`MatrixRows` stores the CSR matrix, bounds and variable list
instead: ``lower <= A x <= upper``. It is a real Pyomo component (a subclass of Pyomo's own
``MatrixConstraint``, the "Ax=b form" component): rows can be indexed, their ``body`` evaluated, the model
printed and written by Pyomo's LP writer or compiled by its ``LinearStandardFormCompiler``. Two things in
Pyomo's version do not work with current writers (``values(sort)`` and ``to_bounded_expression``); the
subclasses below add them.

:func:`siting.solvers.highs.compile_model` reads these components' arrays directly (no per-row Python)
and uses Pyomo's compiler only for the rest of the model; ``tests/test_matrix_rows.py`` checks that both
routes give the same matrix.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

__all__ = ["MatrixRows", "matrix_rows", "linear_expression", "linear_objective", "extend_objective",
           "objective_terms"]


def _classes() -> tuple[type, type]:
    from pyomo.common.gc_manager import PauseGC
    from pyomo.core.base.matrix_constraint import MatrixConstraint, _MatrixConstraintData
    from pyomo.core.expr.numeric_expr import LinearExpression

    class _MatrixRowData(_MatrixConstraintData):
        __slots__ = ()

        def to_bounded_expression(self, evaluate_bounds: bool = False) -> tuple[Any, Any, Any]:
            return self.lower, self.body, self.upper

        @property
        def expr(self) -> Any:
            from pyomo.core.expr.relational_expr import EqualityExpression, InequalityExpression

            lo, body, up = self.to_bounded_expression()
            if lo is not None and lo == up:
                return EqualityExpression((body, lo))
            if lo is None:
                return InequalityExpression((body, up), False)
            if up is None:
                return InequalityExpression((lo, body), False)
            return InequalityExpression((lo, body, up), False)

        @property
        def body(self) -> Any:
            comp = self.parent_component()
            coefs, cols, indptr = comp._row_lists()
            a, b = indptr[self._index], indptr[self._index + 1]
            return LinearExpression(linear_coefs=coefs[a:b], linear_vars=[comp._x[k] for k in cols[a:b]],
                                    constant=0)

    class MatrixRows(MatrixConstraint):
        """``lower <= A x <= upper`` for every row of a CSR matrix ``A`` over the variables ``x``.

        Build it with :func:`matrix_rows`. Row ``r`` is ``component[r]``; the arrays are kept as given
        (``A_data``, ``A_indices``, ``A_indptr``, ``x``) for compilers that read them directly.
        """

        def __init__(self, A_data: Any, A_indices: Any, A_indptr: Any, lb: list, ub: list, x: list) -> None:
            super().__init__(A_data, A_indices, A_indptr, lb, ub, x)
            self._lists: tuple[list, list, list] | None = None

        def _row_lists(self) -> tuple[list, list, list]:
            # plain Python lists of the CSR arrays, made when a row is first looked at (compilers that read
            # the arrays never need them)
            if self._lists is None:
                self._lists = (np.asarray(self._A_data, dtype=np.float64).tolist(),
                               np.asarray(self._A_indices, dtype=np.int64).tolist(),
                               np.asarray(self._A_indptr, dtype=np.int64).tolist())
            return self._lists

        def construct(self, data: Any = None) -> None:
            if self._constructed:
                return
            self._constructed = True
            self._data = _LazyRows(weakref.ref(self), len(self._lower), _MatrixRowData, PauseGC)

        # Pyomo's writers call these with a ``sort`` argument, which ``Mapping`` does not take
        def keys(self, sort: Any = None) -> Any:  # type: ignore[override]
            return iter(range(len(self._data)))

        def values(self, sort: Any = None) -> Any:  # type: ignore[override]
            return iter(self._data)

        def items(self, sort: Any = None) -> Any:  # type: ignore[override]
            return zip(range(len(self._data)), self._data)

    return MatrixRows, _MatrixRowData


class _LazyRows:
    """The row objects of a :class:`MatrixRows`, created on first use: compilers that read the arrays never
    pay for thousands of per-row Python objects; anything that asks for a row gets them all (a tuple)."""

    __slots__ = ("_ref", "_n", "_cls", "_pause", "_rows")

    def __init__(self, ref: Any, n: int, cls: type, pause: Any) -> None:
        self._ref, self._n, self._cls, self._pause, self._rows = ref, n, cls, pause, None

    def _all(self) -> tuple:
        if self._rows is None:
            with self._pause():
                self._rows = tuple(self._cls(i, self._ref) for i in range(self._n))
        return self._rows

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, key: Any) -> Any:
        return self._all()[key]

    def __iter__(self) -> Any:
        return iter(self._all())


_CACHE: dict[str, type] = {}


def __getattr__(name: str) -> Any:  # MatrixRows is created on first use, so importing siting stays light
    if name == "MatrixRows":
        if "MatrixRows" not in _CACHE:
            _CACHE["MatrixRows"], _CACHE["_MatrixRowData"] = _classes()
        return _CACHE["MatrixRows"]
    raise AttributeError(name)


def matrix_rows(
    rows: np.ndarray,
    cols: np.ndarray,
    coefs: np.ndarray | float,
    x: list[Any],
    *,
    n_rows: int,
    lower: np.ndarray | float | None = None,
    upper: np.ndarray | float | None = None,
) -> Any:
    """A :class:`MatrixRows` component from coordinate triplets (duplicates are summed).

    Parameters
    ----------
    rows, cols, coefs
        Row index, column index (into ``x``) and coefficient of every nonzero; ``coefs`` may be a scalar.
    x
        Pyomo variables; column ``k`` of the matrix is ``x[k]``.
    n_rows
        Number of rows (rows with no nonzero are kept).
    lower, upper
        Row bounds, scalar or per row; ``None`` or an infinite value means no bound on that side.
    """
    import scipy.sparse as sp

    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    vals = np.broadcast_to(np.asarray(coefs, dtype=np.float64), rows.shape)
    a = sp.csr_matrix((vals, (rows, cols)), shape=(n_rows, len(x)))
    a.sum_duplicates()
    a.sort_indices()
    cls = __getattr__("MatrixRows")
    comp = cls(a.data, a.indices.astype(np.int64), a.indptr.astype(np.int64),
               _bounds(lower, n_rows, -1), _bounds(upper, n_rows, +1), x)
    # the same bounds as arrays (+-inf for none), read by the matrix-level compiler
    comp._lower_arr = _bound_array(lower, n_rows, -np.inf)
    comp._upper_arr = _bound_array(upper, n_rows, np.inf)
    return comp


def _bound_array(b: np.ndarray | float | None, n: int, none: float) -> np.ndarray:
    if b is None:
        return np.full(n, none)
    arr = np.array(np.broadcast_to(np.asarray(b, dtype=np.float64), (n,)))
    arr[np.isnan(arr)] = none
    return arr


def _bounds(b: np.ndarray | float | None, n: int, side: int) -> list[float | None]:
    if b is None:
        return [None] * n
    arr = np.broadcast_to(np.asarray(b, dtype=np.float64), (n,))
    out: list[float | None] = arr.tolist()
    if not np.isfinite(arr).all():
        out = [None if (v != v or v == side * np.inf) else v for v in out]  # nan or the open side: no bound
    return out


def linear_expression(coefs: np.ndarray, x: list[Any], constant: float = 0.0) -> Any:
    """``constant + sum_k coefs[k] * x[k]`` as one ``LinearExpression`` (zero coefficients dropped)."""
    from pyomo.core.expr.numeric_expr import LinearExpression

    c = np.asarray(coefs, dtype=np.float64)
    keep = np.flatnonzero(c != 0.0).tolist()
    return LinearExpression(linear_coefs=c[keep].tolist(), linear_vars=[x[k] for k in keep],
                            constant=float(constant))


def linear_objective(model: Any, coefs: np.ndarray, x: list[Any], constant: float = 0.0, *,
                     maximise: bool = False) -> None:
    """``model.obj``: minimise (or maximise) ``constant + sum_k coefs[k] * x[k]``.

    Besides the Pyomo expression, the terms are kept as arrays on the model, so that
    :func:`siting.solvers.highs.compile_model` reads them instead of walking thousands of monomials
    (:func:`objective_terms`). Grow it with :func:`extend_objective`.
    """
    import pyomo.environ as pyo

    expr = linear_expression(coefs, x, constant)
    model.obj = pyo.Objective(expr=expr, sense=pyo.maximize if maximise else pyo.minimize)
    model._siting_objective_terms = (expr, [_terms(coefs, x)], float(constant))


def extend_objective(model: Any, coefs: np.ndarray, x: list[Any]) -> None:
    """Add ``sum_k coefs[k] * x[k]`` to an objective made by :func:`linear_objective`."""
    from pyomo.core.expr.numeric_expr import SumExpression

    expr = SumExpression([model.obj.expr, linear_expression(coefs, x)])
    model.obj.expr = expr
    old = getattr(model, "_siting_objective_terms", None)
    if old is not None:
        model._siting_objective_terms = (expr, old[1] + [_terms(coefs, x)], old[2])


def objective_terms(model: Any, objective: Any) -> tuple[list[tuple[np.ndarray, list[Any]]], float] | None:
    """The recorded ``([(coefs, variables), ...], constant)`` of ``objective`` when it is still the expression
    :func:`linear_objective` / :func:`extend_objective` made (``None`` otherwise, e.g. after a user changed
    it)."""
    rec = getattr(model, "_siting_objective_terms", None)
    if rec is None or objective.expr is not rec[0]:
        return None
    return rec[1], rec[2]


def _terms(coefs: np.ndarray, x: list[Any]) -> tuple[np.ndarray, list[Any]]:
    c = np.asarray(coefs, dtype=np.float64)
    keep = np.flatnonzero(c != 0.0)
    return c[keep], ([x[k] for k in keep.tolist()] if len(keep) < len(c) else list(x))
