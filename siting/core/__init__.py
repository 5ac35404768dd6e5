"""Floor 0: pure data shared by every layer, importing nothing else of siting.

- :mod:`~siting.core.problem`: :class:`Problem`, a frozen single-level problem (arrays + labels, sparse pairs).
- :mod:`~siting.core.network`: :class:`NetworkProblem` and :class:`NetworkResult`, the multi-tier equivalents.
- :mod:`~siting.core.results`: solver-neutral statuses (:class:`TerminationCondition` kept apart from
  :class:`SolutionStatus`), :class:`SolveInfo` and :class:`Result`.
- :mod:`~siting.core.options`: :class:`SolverOptions` and :func:`relative_gap`.
- :mod:`~siting.core.errors`: the error hierarchy and :class:`DefectCollector`, which lists every defect at once.
"""

from siting.core.errors import (
    DataError,
    Defect,
    DefectCollector,
    InfeasibleError,
    InputError,
    Interrupted,
    OutputError,
    ScenarioError,
    SitingError,
    SolverError,
)
from siting.core.network import CountRule, Gateway, Links, NetworkProblem, NetworkResult, Tier
from siting.core.options import SolverOptions, relative_gap
from siting.core.problem import Problem
from siting.core.results import Result, SolutionStatus, SolveInfo, TerminationCondition

__all__ = [
    "CountRule", "DataError", "Defect", "DefectCollector", "Gateway", "InfeasibleError", "InputError",
    "Interrupted", "Links", "NetworkProblem", "NetworkResult", "OutputError", "Problem", "Result",
    "ScenarioError", "SitingError", "SolutionStatus", "SolveInfo", "SolverError", "SolverOptions",
    "TerminationCondition", "Tier", "relative_gap",
]
