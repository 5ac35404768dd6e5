"""Helpers shared by the sub-commands: terminal output and option parsing."""

from __future__ import annotations

import math
import sys

from rich.console import Console

from siting.core.errors import DefectCollector

__all__ = ["console_err", "console_err_rich", "stdout", "check_solver_flags"]

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)
console_err_rich = _stderr  #: the standard-error console (progress spinners draw on it)
stdout = Console(highlight=False, soft_wrap=True)


def console_err(message: str) -> None:
    """Print one line to standard error, with no markup interpretation."""
    _stderr.print(message, markup=False)
    sys.stderr.flush()


def check_solver_flags(
    found: DefectCollector,
    *,
    time_limit: float | None = None,
    gap: float | None = None,
    threads: int | None = None,
    max_memory_mb: float | None = None,
) -> None:
    """Record a defect for each solver flag out of range (``--time-limit``, ``--gap``, ``--threads``,
    ``--max-memory-mb``); the flags every solving command shares."""
    if time_limit is not None and not (math.isfinite(time_limit) and time_limit > 0):
        found.add(f"must be a number of seconds > 0, got {time_limit}", file="--time-limit")
    if gap is not None and not (0 <= gap < 1):
        found.add(f"must be in [0, 1), got {gap}", file="--gap")
    if threads is not None and threads < 1:
        found.add(f"must be >= 1, got {threads}", file="--threads")
    if max_memory_mb is not None and not (math.isfinite(max_memory_mb) and max_memory_mb > 0):
        found.add(f"must be a number of MB > 0, got {max_memory_mb}", file="--max-memory-mb")
