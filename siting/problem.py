"""Deprecated since siting 0.2: ``siting.problem`` moved to :mod:`siting.core.problem` (see
:mod:`siting.deprecated`).

``Problem.from_geodataframe`` is now :func:`siting.geo.problem_from_geodataframes` (the core data class no
longer imports the geo layer); the class below keeps the old spelling working for one release.
"""

from __future__ import annotations

import warnings
from typing import Any

from siting.core.problem import Problem as _CoreProblem
from siting.deprecated import forward

__all__ = ["Problem"]

warnings.warn("siting.problem is deprecated and goes in siting 0.3; use: from siting.core import Problem",
              DeprecationWarning, stacklevel=2)


class Problem(_CoreProblem):
    """:class:`siting.core.problem.Problem` with the pre-0.2 ``from_geodataframe`` constructor."""

    @classmethod
    def from_geodataframe(cls, demand: Any, candidates: Any, **kwargs: Any) -> _CoreProblem:
        """Deprecated: use :func:`siting.geo.problem_from_geodataframes` (same arguments)."""
        from siting.geo.adapt import problem_from_geodataframes

        warnings.warn("Problem.from_geodataframe is deprecated and goes in siting 0.3; use "
                      "siting.geo.problem_from_geodataframes", DeprecationWarning, stacklevel=2)
        return problem_from_geodataframes(demand, candidates, **kwargs)


__getattr__ = forward("siting.problem", ["siting.core.problem"])
