"""Everything the rest of the code base needs to know about one single-level model, as data.

A :class:`ModelSpec` is the one place a model's rules live: how to build and read it back (here), which
parameters and input columns it needs (:mod:`siting.single.precheck`, ``siting locate``), which checks the
independent verifier runs and how it recomputes the objective (:mod:`siting.single.verify`, which reads
these flags but shares no formulation code), the shape of its memory estimate
(:func:`siting.provenance.memory.model_size`) and the exact algorithm that replaces the plain formulation
(:func:`siting.pipeline.locate.locate`). The registry itself is :data:`siting.model.MODELS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from siting.core.problem import Problem

__all__ = ["ModelSpec", "OBJECTIVES", "SIZE_SHAPES", "DECAY_ROLES"]

#: How the verifier recomputes a model's objective from the open sites and the allocation ``x``
#: (``w`` demand weights, ``d`` pair distances, ``imp`` the impedance transform of a decay, ``att`` the
#: attendance decay factor, ``f`` fixed costs of the open sites):
OBJECTIVES: dict[str, str] = {
    "weighted-impedance": "sum w * imp(d) * x",
    "largest-distance": "max over demands of sum d * x",
    "site-count": "number of open sites, or their fixed cost with objective = fixed_cost",
    "backup-coverage": "weight of the demand covered at least twice within the radius",
    "coverage": "weight of the demand covered within the radius",
    "attendance": "sum w * att(d) * x",
    "fixed-plus-transport": "sum f + cost_per_unit_km * sum w * imp(d) * x",
}
#: Shapes of the memory estimate (:func:`siting.provenance.memory.model_size`): one variable per allowed
#: pair ("assignment") or one row per demand over the pairs within the radius ("cover"). A model solved by
#: an algorithm of its own is estimated by that algorithm's route instead (p-median and UFLP:
#: :func:`siting.provenance.memory.route_bytes`, dense fast path or the sparse Lagrangian route).
SIZE_SHAPES = ("assignment", "cover")
#: How a distance decay enters a model: as an impedance transform of the distance it minimises, or as the
#: attendance factor it maximises (a linear attendance decay needs a cutoff distance).
DECAY_ROLES = ("impedance", "attendance")


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """How to build, read back, check, size and solve one model.

    Attributes
    ----------
    name
        Public model name.
    build
        ``build(problem, **params) -> ConcreteModel``.
    extract
        ``extract(problem, model) -> (open, allocation)``: sorted open candidate indices and the fraction
        of each problem pair's demand served.
    sense
        ``"min"`` or ``"max"``.
    needs
        Parameters that must be given.
    accepts
        Every parameter the build function takes.
    assigns_all
        Every demand must be served (a demand with no allowed candidate makes the model infeasible).
    count
        The model fixes the number of facilities to ``p``.
    radius
        Coverage uses ``radius_km`` (pairs beyond it serve nobody). With ``assigns_all`` every demand must
        be covered (LSCP); without it demand is served exactly where it is covered (MCLP).
    summary
        One line for ``--help``.
    objective
        Key of :data:`OBJECTIVES`: how the verifier recomputes the objective.
    capacitated
        Site capacities bind: the CLI needs ``--capacity``, the precheck compares demand with capacity, the
        verifier checks every site's load, the memory estimate adds a row per site.
    single_source
        Each demand is served wholly by one site.
    size_shape
        Key of :data:`SIZE_SHAPES`.
    decay_role
        Key of :data:`DECAY_ROLES`, or ``None`` if the model takes no decay.
    defaults
        Values of accepted parameters that are not given (filled in by
        :func:`siting.pipeline.locate.model_params`).
    p_from
        Without ``p``, ``p`` is the optimal facility count of this other model (solved first).
    algorithm
        Name of an exact algorithm of its own (a key of :data:`siting.pipeline.locate.ALGORITHMS`) used
        instead of the plain formulation, or ``None``.
    algorithm_params
        The algorithm applies when the given parameters are a subset of these (``None``: always).
    """

    name: str
    build: Callable[..., Any]
    extract: Callable[[Problem, Any], tuple[np.ndarray, np.ndarray]]
    sense: str
    needs: frozenset[str]
    accepts: frozenset[str]
    assigns_all: bool
    count: bool
    radius: bool
    summary: str
    objective: str
    capacitated: bool = False
    single_source: bool = False
    size_shape: str = "assignment"
    decay_role: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    p_from: str | None = None
    algorithm: str | None = None
    algorithm_params: frozenset[str] | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.sense not in ("min", "max"):
            problems.append(f"sense {self.sense!r}")
        if self.objective not in OBJECTIVES:
            problems.append(f"objective {self.objective!r} (one of {', '.join(OBJECTIVES)})")
        if self.size_shape not in SIZE_SHAPES:
            problems.append(f"size_shape {self.size_shape!r}")
        if self.decay_role is not None and self.decay_role not in DECAY_ROLES:
            problems.append(f"decay_role {self.decay_role!r}")
        if (self.decay_role is not None) != ("decay" in self.accepts):
            problems.append("decay_role must be set exactly when the model accepts a decay")
        if not (self.needs <= self.accepts and set(self.defaults) <= self.accepts):
            problems.append("needs and defaults must be accepted parameters")
        if problems:
            raise ValueError(f"model {self.name}: bad spec: " + "; ".join(problems))
        object.__setattr__(self, "defaults", MappingProxyType(dict(self.defaults)))

    def build_model(self, problem: Problem, params: dict[str, Any]) -> Any:
        """Call :attr:`build` with the accepted, non-``None`` entries of ``params``."""
        kw = {k: v for k, v in params.items() if k in self.accepts and v is not None}
        return self.build(problem, **kw)

    def uses_algorithm(self, params: Mapping[str, Any]) -> bool:
        """True when :attr:`algorithm` solves a run with these (given, non-``None``) parameters."""
        if self.algorithm is None:
            return False
        given = {k for k, v in params.items() if v is not None}
        return self.algorithm_params is None or given <= self.algorithm_params

    @property
    def priced(self) -> bool:
        """Assignments have a cost in CNY (``cost_per_unit_km`` x volume x distance): UFLP, CFLP."""
        return self.objective == "fixed-plus-transport"

    @property
    def covers_all(self) -> bool:
        """Every demand must have an open site within the radius (LSCP, LSCP-B)."""
        return self.radius and self.assigns_all

    @property
    def serves_covered(self) -> bool:
        """Demand is allocated exactly where it is covered (MCLP)."""
        return self.radius and not self.assigns_all
