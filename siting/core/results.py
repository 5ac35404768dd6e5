"""Solver-neutral result types.

Following ``pyomo.contrib.solver``, *why the solver stopped* (:class:`TerminationCondition`) is kept apart
from *what we got* (:class:`SolutionStatus`), and the incumbent objective apart from the best bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

#: An optimal result whose certified gap exceeds this says so in :meth:`SolveInfo.describe` ("optimal within
#: the 0.5% gap asked", not a bare "optimal"; the gap itself is in :attr:`SolveInfo.gap`).
OPTIMAL_SHOWN_GAP = 1e-6

__all__ = ["TerminationCondition", "SolutionStatus", "SolveInfo", "Result"]


class TerminationCondition(str, Enum):
    """Why the solver stopped."""

    OPTIMAL = "optimal"  #: proven optimal within the requested relative gap
    TIME_LIMIT = "time_limit"
    ITERATION_LIMIT = "iteration_limit"
    OBJECTIVE_LIMIT = "objective_limit"
    INTERRUPTED = "interrupted"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    ERROR = "error"
    UNKNOWN = "unknown"


class SolutionStatus(str, Enum):
    """What the solver returned."""

    OPTIMAL = "optimal"  #: incumbent proven optimal (within the gap tolerance)
    FEASIBLE = "feasible"  #: an incumbent, not proven optimal
    NO_SOLUTION = "no_solution"


@dataclass(frozen=True)
class SolveInfo:
    """The certificate of one solve.

    Attributes
    ----------
    termination, status
        See the enums.
    objective
        Incumbent objective value (``nan`` without an incumbent), in the model's units.
    bound
        Best proven bound (lower for minimisation, upper for maximisation).
    gap
        Relative gap ``|objective - bound| / max(|objective|, 1e-9)``: the certified gap, also when the
        status is optimal because it is within the gap asked (``options.mip_rel_gap``).
    build_seconds, solve_seconds
        Wall time to build the Pyomo model and to solve it.
    sense
        ``"min"`` or ``"max"``.
    solver
        Solver name and version, e.g. ``"highs 1.16.0"``.
    options
        Solver options used (time limit, gap, threads, ...).
    """

    termination: TerminationCondition
    status: SolutionStatus
    objective: float = math.nan
    bound: float = math.nan
    gap: float = math.nan
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    sense: str = "min"
    solver: str = "highs"
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def has_solution(self) -> bool:
        return self.status is not SolutionStatus.NO_SOLUTION

    @property
    def proven_optimal(self) -> bool:
        return self.status is SolutionStatus.OPTIMAL

    @property
    def seconds(self) -> float:
        return self.build_seconds + self.solve_seconds

    def describe(self) -> str:
        """One line for people: ``optimal``, ``feasible, gap 1.23%`` or ``no solution (time_limit)``."""
        if self.status is SolutionStatus.OPTIMAL:
            if math.isfinite(self.gap) and self.gap > OPTIMAL_SHOWN_GAP:
                asked = self.options.get("mip_rel_gap") if isinstance(self.options, dict) else None
                return "optimal within the gap asked" if asked is None else \
                    f"optimal within the {100 * float(asked):.3g}% gap asked"
            return "optimal"
        if self.status is SolutionStatus.FEASIBLE:
            g = "unknown" if math.isnan(self.gap) else f"{100 * self.gap:.3g}%"
            return f"feasible, gap {g} (not proven optimal: {self.termination.value})"
        return f"no solution ({self.termination.value})"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SolveInfo:
        """Inverse of :meth:`to_dict` (missing numbers become ``nan``); ``ValueError`` on unknown statuses."""

        def num(key: str) -> float:
            v = d.get(key)
            return math.nan if v is None else float(v)

        return cls(
            TerminationCondition(d.get("termination", "unknown")),
            SolutionStatus(d.get("status", "no_solution")),
            objective=num("objective"),
            bound=num("bound"),
            gap=num("gap"),
            build_seconds=float(d.get("build_seconds") or 0.0),
            solve_seconds=float(d.get("solve_seconds") or 0.0),
            sense=d.get("sense", "min"),
            solver=d.get("solver", "highs"),
            options=dict(d.get("options") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        def num(x: float) -> float | None:
            return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)

        return {
            "termination": self.termination.value,
            "status": self.status.value,
            "objective": num(self.objective),
            "bound": num(self.bound),
            "gap": num(self.gap),
            "build_seconds": round(self.build_seconds, 4),
            "solve_seconds": round(self.solve_seconds, 4),
            "seconds": round(self.seconds, 4),
            "sense": self.sense,
            "solver": self.solver,
            "options": dict(self.options),
        }


@dataclass(frozen=True, eq=False)
class Result:
    """Solution of a single-level model on a :class:`~siting.core.problem.Problem`.

    Attributes
    ----------
    model
        Model name (``"p-median"``, ``"mclp"``, ...).
    info
        The :class:`SolveInfo` certificate.
    open
        Sorted indices of the open candidates (int64, shape ``(q,)``).
    allocation
        Fraction of each allowed pair's demand served, aligned with ``problem.pair_demand`` (float64,
        shape ``(k,)``); zeros where unassigned. Empty when there is no solution.
    params
        The model parameters used (``p``, ``radius_km``, ``budget_cny``, ...), for reports and the verifier.
    """

    model: str
    info: SolveInfo
    open: np.ndarray
    allocation: np.ndarray
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def objective(self) -> float:
        return self.info.objective
