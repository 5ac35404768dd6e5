from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


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
