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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "Defect",
    "DefectCollector",
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
    """

    message: str
    file: str | None = None
    row: int | str | None = None
    column: str | None = None

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
    ) -> None:
        """Record one problem."""
        self.defects.append(Defect(message, file if file is not None else self.file, row, column))

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
