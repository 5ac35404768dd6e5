"""SolveInfo keeps the certified gap of an answer proven within the gap asked, and says so."""

from __future__ import annotations

import math

from siting.algorithms.common import make_solve_info
from siting.core.options import SolverOptions
from siting.core.results import SolutionStatus, TerminationCondition


def test_within_the_gap_asked_is_optimal_and_keeps_its_certified_gap() -> None:
    info = make_solve_info(TerminationCondition.OPTIMAL, 1000.0, 996.0, 0.0, 1.0, SolverOptions(mip_rel_gap=0.005),
                           True)
    assert info.status is SolutionStatus.OPTIMAL and info.termination is TerminationCondition.OPTIMAL
    assert math.isclose(info.gap, 0.004)
    assert info.describe() == "optimal within the 0.5% gap asked"


def test_closed_gap_reads_optimal() -> None:
    info = make_solve_info(TerminationCondition.OPTIMAL, 1000.0, 1000.0, 0.0, 1.0, SolverOptions(), True)
    assert info.gap == 0.0 and info.describe() == "optimal"


def test_unproven_keeps_gap_and_is_not_called_optimal() -> None:
    info = make_solve_info(TerminationCondition.OPTIMAL, 1000.0, 900.0, 0.0, 1.0, SolverOptions(), False)
    assert info.status is SolutionStatus.FEASIBLE and info.termination is not TerminationCondition.OPTIMAL
    assert math.isclose(info.gap, 0.1) and info.describe().startswith("feasible, gap 10%")
