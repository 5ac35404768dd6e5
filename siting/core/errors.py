"""Exceptions of :mod:`siting`, and a collector that reports every input problem at once.

Every user-facing error is a :class:`SitingError` (a :class:`ValueError`). Input errors carry a list of
:class:`Defect` records, one per problem, each naming the file, the row (or TOML key) and the column, so
that the CLI can print one line per problem and exit with status 2.

Examples
--------
>>> found = DefectCollector("demand.csv")
>>> found.add("lon is missing", row=3, column="lon")
>>> found.add("weight is negative (-1.0)", row=7, column="weight")
>>> found.raise_if_any(DataError)  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
DataError: 2 problems in input
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

MAX_LINES = 20  # an error report longer than this is grouped by cause (InputError.summary_lines)

__all__ = [
    "MAX_LINES",
    "Defect",
    "DefectGroup",
    "DefectCollector",
    "group_defects",
    "SitingError",
    "InputError",
    "DataError",
    "ScenarioError",
    "InfeasibleError",
    "SolverError",
    "OutputError",
    "Interrupted",
]


@dataclass(frozen=True)
class Defect:
    """One problem found in the input.

    Parameters
    ----------
    message
        What is wrong and, where it helps, what to do.
    file
        The file (or other source, such as ``"--p"``) the problem is in.
    row
        1-based data row (header not counted), a record id, or a dotted TOML key; ``None`` if file-wide.
    column
        Column or field name; ``None`` if the whole row or file.
    cause
        What kind of problem this is, for grouping long reports (:func:`group_defects`); default: the
        message with its numbers and quoted values blanked out, so "weight is negative (-3)" and
        "weight is negative (-40)" share a cause.
    """

    message: str
    file: str | None = None
    row: int | str | None = None
    column: str | None = None
    cause: str | None = field(default=None, compare=False)

    @property
    def cause_key(self) -> tuple[str | None, str | None, str]:
        """(file, column, cause): defects with the same key are reported together in a long report."""
        return self.file, self.column, self.cause or _blank_values(self.message)

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}" if isinstance(self.row, int) else str(self.row))
        if self.column is not None:
            where.append(f"column {self.column!r}")
        # one line per problem, always
        msg = " ".join(str(self.message).split())
        return f"{', '.join(where)}: {msg}" if where else msg


# quoted values, parenthesised details, words with digits (numbers, ids such as N1-00) and non-ASCII words
# (place names): the parts of a message
# that differ between two problems of the same kind
_VALUES = re.compile(r"'[^']*'|\"[^\"]*\"|\([^()]*\)|[^\s(),;:]*\d[^\s(),;:]*|[^\x00-\x7f]+")


def _blank_values(message: str) -> str:
    """The message with quoted values, parenthesised details, words holding a digit and non-ASCII words
    replaced by ``…``."""
    return " ".join(_VALUES.sub("…", str(message)).split())


@dataclass
class DefectGroup:
    """Defects of one cause (same file, column and :attr:`Defect.cause_key`), in input order."""

    defects: list[Defect]

    def line(self, *, examples: int = 3) -> str:
        """One line: the first defect, then how many more of its kind and a few of their rows."""
        first, n = self.defects[0], len(self.defects)
        if n == 1:
            return str(first)
        rows = [d.row for d in self.defects[1:] if d.row is not None]
        where = ""
        if rows:
            shown = ", ".join(str(r) for r in rows[:examples])
            label = "rows" if all(isinstance(r, int) for r in rows) else "at"
            where = f" ({label} {shown}{', ...' if len(rows) > examples else ''})"
        return f"{first} [and {n - 1:,} more like it{where}]"


def group_defects(defects: Sequence[Defect]) -> list[DefectGroup]:
    """Group defects by :attr:`Defect.cause_key`, groups in order of first appearance."""
    groups: dict[tuple, DefectGroup] = {}
    for d in defects:
        groups.setdefault(d.cause_key, DefectGroup([])).defects.append(d)
    return list(groups.values())


class SitingError(ValueError):
    """Base class of every error :mod:`siting` raises on purpose."""


class InputError(SitingError):
    """One or more problems in user input; ``defects`` lists them all."""

    def __init__(self, defects: Sequence[Defect] | Defect | str):
        if isinstance(defects, str):
            defects = [Defect(defects)]
        elif isinstance(defects, Defect):
            defects = [defects]
        self.defects: tuple[Defect, ...] = tuple(defects)
        n = len(self.defects)
        head = str(self.defects[0]) if n == 1 else f"{n} problems in input"
        super().__init__(head)

    def lines(self) -> list[str]:
        """One line of text per problem."""
        return [str(d) for d in self.defects]

    def summary_lines(self, *, max_lines: int = MAX_LINES) -> list[str]:
        """At most about ``max_lines`` lines: one per problem when they fit, else one per cause
        (:func:`group_defects`: the first problem of each cause, with the count and rows of the others).
        When even the causes do not fit, the last line says how many causes are left out."""
        if len(self.defects) <= max_lines:
            return self.lines()
        groups = group_defects(self.defects)
        out = [g.line() for g in groups[:max_lines]]
        if len(groups) > max_lines:
            rest = sum(len(g.defects) for g in groups[max_lines:])
            out.append(f"... and {rest:,} more problems of {len(groups) - max_lines:,} other kinds")
        return out

    @property
    def grouped(self) -> bool:
        """True when :meth:`summary_lines` does not list every problem on its own line."""
        return len(self.defects) > MAX_LINES

    def __str__(self) -> str:
        return "\n".join(self.lines())


class DataError(InputError):
    """A data file (points, polygons, OD matrix, ...) is malformed."""


class ScenarioError(InputError):
    """A scenario file or command-line option is malformed."""


class InfeasibleError(InputError):
    """The problem cannot have a solution; the defects say which rows or constraints cause it."""


class SolverError(SitingError):
    """The solver is missing or failed in a way that is not about the input."""


class OutputError(SitingError):
    """An output location cannot be used (exists and is not empty, not writable, ...)."""


class Interrupted(SitingError):
    """The run was interrupted by a signal; ``signum`` is the signal number."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"interrupted by signal {signum}; no output was written")


class DefectCollector:
    """Collect :class:`Defect` records and raise them together.

    Parameters
    ----------
    file
        Default ``file`` for every defect added.
    """

    def __init__(self, file: str | None = None):
        self.file = file
        self.defects: list[Defect] = []

    def add(
        self,
        message: str,
        *,
        row: int | str | None = None,
        column: str | None = None,
        file: str | None = None,
        cause: str | None = None,
    ) -> None:
        """Record one problem (``cause``: see :class:`Defect`)."""
        self.defects.append(Defect(message, file if file is not None else self.file, row, column, cause))

    def extend(self, defects: Iterable[Defect]) -> None:
        """Record several problems found elsewhere."""
        self.defects.extend(defects)

    def __bool__(self) -> bool:
        return bool(self.defects)

    def __len__(self) -> int:
        return len(self.defects)

    def raise_if_any(self, kind: type[InputError] = InputError) -> None:
        """Raise ``kind`` with every recorded problem, if there is any."""
        if self.defects:
            raise kind(self.defects)
