"""The one status table of siting's HiGHS routes: what HiGHS (or Pyomo's view of it) says, in our terms.

Both routes to HiGHS (:mod:`siting.solvers.highs`, the matrix route, and :mod:`siting.solvers.pyomo`,
through ``pyomo.contrib.solver``) read their statuses here, by lookup, never by an if/elif ladder.
Termination (why the solver stopped) is kept apart from the solution status (what it has to show).
"""

from __future__ import annotations

import functools
from typing import Any

from siting.core.results import SolutionStatus, TerminationCondition


def pyomo_status_tables() -> tuple[dict[Any, TerminationCondition], dict[Any, SolutionStatus]]:
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


@functools.lru_cache(maxsize=1)
def highs_status_tables() -> tuple[dict[Any, TerminationCondition], Any]:
    """HiGHS model status -> :class:`TerminationCondition` (built once), and the ``highspy`` module."""
    import highspy

    ms = highspy.HighsModelStatus
    table = {
        ms.kOptimal: TerminationCondition.OPTIMAL,
        ms.kModelEmpty: TerminationCondition.OPTIMAL,
        ms.kInfeasible: TerminationCondition.INFEASIBLE,
        ms.kUnbounded: TerminationCondition.UNBOUNDED,
        ms.kUnboundedOrInfeasible: TerminationCondition.INFEASIBLE_OR_UNBOUNDED,
        ms.kTimeLimit: TerminationCondition.TIME_LIMIT,
        ms.kIterationLimit: TerminationCondition.ITERATION_LIMIT,
        ms.kSolutionLimit: TerminationCondition.ITERATION_LIMIT,
        ms.kObjectiveBound: TerminationCondition.OBJECTIVE_LIMIT,
        ms.kObjectiveTarget: TerminationCondition.OBJECTIVE_LIMIT,
        ms.kInterrupt: TerminationCondition.INTERRUPTED,
        ms.kNotset: TerminationCondition.UNKNOWN,
        ms.kUnknown: TerminationCondition.UNKNOWN,
        ms.kLoadError: TerminationCondition.ERROR,
        ms.kModelError: TerminationCondition.ERROR,
        ms.kPresolveError: TerminationCondition.ERROR,
        ms.kSolveError: TerminationCondition.ERROR,
        ms.kPostsolveError: TerminationCondition.ERROR,
        ms.kMemoryLimit: TerminationCondition.ERROR,
    }
    return table, highspy
