"""Solve a built Pyomo model with HiGHS and return a solver-neutral :class:`~siting.results.SolveInfo`.

The solver contract is small: :func:`solve_pyomo` takes a Pyomo ``ConcreteModel`` with exactly one
active objective and a frozen :class:`SolverOptions`, runs HiGHS through Pyomo's
``pyomo.contrib.solver`` interface, loads the incumbent (if any) into the model's variables, and maps
Pyomo's statuses to ours with lookup tables (no if/elif ladder).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import SolverError
from .results import SolutionStatus, SolveInfo, TerminationCondition

__all__ = ["SolverOptions", "solve_pyomo", "relative_gap"]


@dataclass(frozen=True)
class SolverOptions:
    """Options passed to HiGHS.

    Attributes
    ----------
    time_limit_s
        Wall-clock limit in seconds; ``None`` for none. On hitting it, the incumbent is returned with its gap
        and marked :attr:`SolutionStatus.FEASIBLE` (not proven optimal).
    mip_rel_gap
        Relative MIP gap at which HiGHS stops and the solution counts as optimal. Default ``1e-6``, well below
        the smallest relative objective difference in OR-Library data.
    threads
        Solver threads; ``None`` lets HiGHS decide.
    seed
        HiGHS ``random_seed``, for reproducible runs.
    verbose
        Stream the HiGHS log (incumbent, bound, gap) to the terminal.
    extra
        Further raw HiGHS options (name -> value).
    """

    time_limit_s: float | None = None
    mip_rel_gap: float = 1e-6
    threads: int | None = None
    seed: int = 0
    verbose: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def relative_gap(objective: float, bound: float) -> float:
    """``|objective - bound| / max(|objective|, 1e-9)``; ``nan`` if either is not finite."""
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.nan
    return abs(objective - bound) / max(abs(objective), 1e-9)


def _tables() -> tuple[dict[Any, TerminationCondition], dict[Any, SolutionStatus]]:
    from pyomo.contrib.solver.common.results import SolutionStatus as PS
    from pyomo.contrib.solver.common.results import TerminationCondition as PT

    term = {
        PT.convergenceCriteriaSatisfied: TerminationCondition.OPTIMAL,
        PT.maxTimeLimit: TerminationCondition.TIME_LIMIT,
        PT.iterationLimit: TerminationCondition.ITERATION_LIMIT,
        PT.objectiveLimit: TerminationCondition.OBJECTIVE_LIMIT,
        PT.minStepLength: TerminationCondition.ERROR,
        PT.unbounded: TerminationCondition.UNBOUNDED,
        PT.provenInfeasible: TerminationCondition.INFEASIBLE,
        PT.locallyInfeasible: TerminationCondition.INFEASIBLE,
        PT.infeasibleOrUnbounded: TerminationCondition.INFEASIBLE_OR_UNBOUNDED,
        PT.error: TerminationCondition.ERROR,
        PT.interrupted: TerminationCondition.INTERRUPTED,
        PT.licensingProblems: TerminationCondition.ERROR,
        PT.emptyModel: TerminationCondition.OPTIMAL,
        PT.unknown: TerminationCondition.UNKNOWN,
    }
    status = {
        PS.optimal: SolutionStatus.OPTIMAL,
        PS.feasible: SolutionStatus.FEASIBLE,
        PS.infeasible: SolutionStatus.NO_SOLUTION,
        PS.noSolution: SolutionStatus.NO_SOLUTION,
        PS.unknown: SolutionStatus.NO_SOLUTION,
    }
    return term, status


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
    term_table, status_table = _tables()
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
