"""Helpers shared by the sub-commands: terminal output and option parsing."""

from __future__ import annotations

import csv
import io
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from siting.core.errors import DefectCollector, InputError

__all__ = ["console_err", "console_err_rich", "stdout", "check_solver_flags", "report_input_error",
           "defect_list_path"]

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


def defect_list_path(argv: Sequence[str] | None) -> Path:
    """Where the full list of a long error report goes: ``<OUT>.errors.csv`` next to the ``--out`` folder of
    the command line (the folder itself stays unwritten), else a new file in the temporary directory."""
    args = list(argv or [])
    out = None
    for k, a in enumerate(args):
        if a == "--out" and k + 1 < len(args):
            out = args[k + 1]
        elif a.startswith("--out="):
            out = a.split("=", 1)[1]
    if out:
        target = Path(out).expanduser()
        target = target.parent / f"{target.name or 'out'}.errors.csv"
        if target.parent.is_dir() and os.access(target.parent, os.W_OK):
            return target
    fd, name = tempfile.mkstemp(prefix="siting-errors-", suffix=".csv")
    os.close(fd)
    return Path(name)


def report_input_error(exc: InputError, argv: Sequence[str] | None) -> None:
    """Print an input error: one ``error:`` line per problem, or, past
    :data:`~siting.core.errors.MAX_LINES` problems, one line per cause plus a ``note:`` naming the CSV
    (file, row, column, message) that lists every problem."""
    for line in exc.summary_lines():
        console_err(f"error: {line}")
    if not exc.grouped:
        return
    path = defect_list_path(argv)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["file", "row", "column", "message"])
    for d in exc.defects:
        w.writerow([d.file or "", "" if d.row is None else d.row, d.column or "", " ".join(str(d.message).split())])
    try:
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(buf.getvalue(), encoding="utf-8-sig")
        os.replace(tmp, path)
    except OSError as err:
        console_err(f"note: {len(exc.defects):,} problems in all; could not write their list to {path}: {err}")
        return
    console_err(f"note: {len(exc.defects):,} problems in all, grouped by cause above; the full list is in {path}")
