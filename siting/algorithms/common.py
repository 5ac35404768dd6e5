from __future__ import annotations

import math
from siting.core.errors import InfeasibleError
from siting.core.problem import Problem
from siting.core.results import SolutionStatus, SolveInfo, TerminationCondition
from siting.core.options import SolverOptions, relative_gap


def make_solve_info(term: TerminationCondition, objective: float, bound: float, build_s: float, solve_s: float,
          options: SolverOptions, proven: bool, solver: str = "highs") -> SolveInfo:
    has = math.isfinite(objective)
    status = SolutionStatus.NO_SOLUTION if not has else (
        SolutionStatus.OPTIMAL if proven else SolutionStatus.FEASIBLE)
    gap = relative_gap(objective, bound)  # the certified gap, also when it is within options.mip_rel_gap
    if has and proven:
        term = TerminationCondition.OPTIMAL
    else:
        if term is TerminationCondition.OPTIMAL:
            # "optimal" is a certificate: without a proven incumbent it is not one (the caller names the
            # reason; this keeps termination and status consistent whatever it passed)
            term = TerminationCondition.UNKNOWN if not has else TerminationCondition.ITERATION_LIMIT
    return SolveInfo(termination=term, status=status, objective=objective, bound=bound, gap=gap,
                     build_seconds=build_s, solve_seconds=solve_s, sense="min", solver=solver,
                     options=options.to_dict())


# ============================================================================================ p-median / UFLP
def check_p(problem: Problem, p: int) -> None:
    from siting.core.errors import DefectCollector

    found = DefectCollector(problem.source)
    allowed = int((~problem.forbidden).sum())
    n_req = int(problem.required.sum())
    if p < 1:
        found.add(f"p must be >= 1, got {p}", column="p")
    if p > allowed:
        found.add(f"p = {p} is larger than the {allowed} candidates that are not forbidden", column="p")
    if n_req > p:
        found.add(f"{n_req} candidates are required but p = {p}", column="p")
    found.raise_if_any(InfeasibleError)
