"""Solve a built Pyomo model with HiGHS and return a solver-neutral :class:`~siting.core.results.SolveInfo`.

The solver contract is small: :func:`solve_pyomo` takes a Pyomo ``ConcreteModel`` with exactly one
active objective and a frozen :class:`SolverOptions`, runs HiGHS through Pyomo's
``pyomo.contrib.solver`` interface, loads the incumbent (if any) into the model's variables, and maps
Pyomo's statuses to ours with lookup tables (no if/elif ladder).
"""

from __future__ import annotations

import math
import time
from typing import Any
from siting.core.errors import SolverError
from siting.core.results import SolutionStatus, SolveInfo, TerminationCondition
from siting.core.options import SolverOptions, relative_gap
from siting.solvers.status import pyomo_status_tables


def _highs():
    try:
        from pyomo.contrib.solver.common.factory import SolverFactory
    except ImportError as exc:  # pragma: no cover - depends on the installed Pyomo
        raise SolverError(f"Pyomo's solver interface is missing ({exc}); run: pip install 'pyomo>=6.8'") from exc
    opt = SolverFactory("highs")
    if not opt.available():
        raise SolverError("HiGHS is not available to Pyomo; run: pip install highspy")
    return opt


def solve_pyomo(
    model: Any,
    *,
    options: SolverOptions = SolverOptions(),
    build_seconds: float = 0.0,
) -> SolveInfo:
    """Solve ``model`` with HiGHS; load the incumbent into its variables when there is one.

    Parameters
    ----------
    model
        A Pyomo ``ConcreteModel`` with one active objective.
    options
        Time limit, gap, threads, seed, verbosity.
    build_seconds
        Time spent building ``model``, recorded in the returned :class:`SolveInfo`.

    Returns
    -------
    SolveInfo
        Termination, solution status, objective, bound, gap and timings.
    """
    import pyomo.environ as pyo

    opt = _highs()
    term_table, status_table = pyomo_status_tables()
    objs = list(model.component_data_objects(pyo.Objective, active=True))
    if len(objs) != 1:
        raise SolverError(f"model has {len(objs)} active objectives; exactly one is needed")
    sense = "max" if objs[0].sense == pyo.maximize else "min"
    solver_options = {"random_seed": int(options.seed), **options.extra}
    kwargs: dict[str, Any] = {
        "load_solutions": False,
        "raise_exception_on_nonoptimal_result": False,
        "rel_gap": options.mip_rel_gap,
        "tee": bool(options.verbose),
        "solver_options": solver_options,
    }
    if options.time_limit_s is not None:
        kwargs["time_limit"] = float(options.time_limit_s)
    if options.threads is not None:
        kwargs["threads"] = int(options.threads)
        # HiGHS keeps one global thread scheduler per process and refuses (status unknown, no solution) a
        # later solve asking for another thread count; reset it so that `threads` always takes effect.
        import highspy

        highspy.Highs.resetGlobalScheduler(True)
    t0 = time.perf_counter()
    res = opt.solve(model, **kwargs)
    solve_seconds = time.perf_counter() - t0
    termination = term_table.get(res.termination_condition, TerminationCondition.UNKNOWN)
    status = status_table.get(res.solution_status, SolutionStatus.NO_SOLUTION)
    if status is SolutionStatus.OPTIMAL and termination is not TerminationCondition.OPTIMAL:
        status = SolutionStatus.FEASIBLE
    objective = math.nan
    if status is not SolutionStatus.NO_SOLUTION:
        res.solution_loader.load_vars()
        objective = float(pyo.value(objs[0].expr))
    bound = res.objective_bound
    bound = math.nan if bound is None else float(bound)
    if status is SolutionStatus.OPTIMAL and not math.isfinite(bound):
        bound = objective
    gap = relative_gap(objective, bound)
    version = opt.version()
    return SolveInfo(
        termination=termination,
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        build_seconds=float(build_seconds),
        solve_seconds=solve_seconds,
        sense=sense,
        solver="highs " + ".".join(str(v) for v in version) if version else "highs",
        options=options.to_dict(),
    )
