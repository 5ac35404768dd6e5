"""Single-level location formulations and their registry.

Each model is a function ``build_<name>(problem, *, ...) -> pyomo ConcreteModel`` whose docstring states
its maths, plus an ``extract(problem, model) -> (open, allocation)`` reading the solved values back onto
the problem's pairs. :data:`MODELS` maps the public model name to a :class:`ModelSpec`.

=========== ============================================================ ========
name        model                                                        sense
=========== ============================================================ ========
p-median    min demand-weighted distance, p facilities                   min
p-center    min the largest distance, p facilities                       min
lscp        fewest facilities (or least fixed cost) covering all demand  min
lscp-b      LSCP's count, then max demand covered at least twice         max
mclp        max demand covered within a radius, p facilities             max
attendance  max demand attending with distance decay, p facilities       max
uflp        min fixed + assignment cost                                  min
cflp        capacitated, split assignment                                min
cflp-ss     capacitated, single-source assignment                        min
=========== ============================================================ ========

p-center is solved by :func:`siting.pipeline.locate.locate` with a bisection over
:func:`build_p_center_decision` models (exact); :func:`build_p_center` is the one-model alternative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from siting.core.errors import ScenarioError
from siting.core.problem import Problem
from siting.model.center import build_p_center, build_p_center_decision, extract_center
from siting.model.cover import build_lscp, build_lscp_b, build_mclp, extract_cover
from siting.model.decay import DECAY_KINDS, Decay
from siting.model.median import build_attendance, build_p_median, extract_assignment, extract_single_source
from siting.model.plant import build_cflp, build_uflp

__all__ = [
    "ModelSpec",
    "MODELS",
    "get_model",
    "Decay",
    "DECAY_KINDS",
    "build_p_median",
    "build_p_center",
    "build_p_center_decision",
    "build_lscp",
    "build_lscp_b",
    "build_mclp",
    "build_attendance",
    "build_uflp",
    "build_cflp",
]


@dataclass(frozen=True)
class ModelSpec:
    """How to build, read back and check one model.

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
        Coverage uses ``radius_km`` (pairs beyond it serve nobody).
    summary
        One line for ``--help``.
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

    def build_model(self, problem: Problem, params: dict[str, Any]) -> Any:
        """Call :attr:`build` with the accepted, non-``None`` entries of ``params``."""
        kw = {k: v for k, v in params.items() if k in self.accepts and v is not None}
        return self.build(problem, **kw)


_COMMON = frozenset({"max_distance_km", "budget_cny"})

MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec("p-median", build_p_median, extract_assignment, "min", frozenset({"p"}),
                  _COMMON | {"p", "decay"}, True, True, False,
                  "minimise demand-weighted distance with p facilities"),
        ModelSpec("p-center", build_p_center, extract_center, "min", frozenset({"p"}),
                  _COMMON | {"p"}, True, True, False,
                  "minimise the largest demand-to-facility distance with p facilities"),
        ModelSpec("lscp", build_lscp, extract_cover, "min", frozenset({"radius_km"}),
                  _COMMON | {"radius_km", "objective"}, True, False, True,
                  "fewest facilities (or least fixed cost) so that all demand is within the radius"),
        ModelSpec("lscp-b", build_lscp_b, extract_cover, "max", frozenset({"radius_km"}),
                  _COMMON | {"radius_km", "p"}, True, True, True,
                  "LSCP's minimal count, then maximise demand covered at least twice"),
        ModelSpec("mclp", build_mclp, extract_cover, "max", frozenset({"radius_km", "p"}),
                  _COMMON | {"radius_km", "p"}, False, True, True,
                  "maximise demand covered within the radius with p facilities"),
        ModelSpec("attendance", build_attendance, extract_assignment, "max", frozenset({"p", "decay"}),
                  _COMMON | {"p", "decay"}, False, True, False,
                  "maximise attendance (demand weighted by distance decay) with p facilities"),
        ModelSpec("uflp", build_uflp, extract_assignment, "min", frozenset(),
                  _COMMON | {"decay", "cost_per_unit_km"}, True, False, False,
                  "minimise fixed plus assignment cost, free number of facilities"),
        ModelSpec("cflp", partial(build_cflp, single_source=False), extract_assignment, "min", frozenset(),
                  _COMMON | {"decay", "cost_per_unit_km"}, True, False, False,
                  "capacitated facility location, demand may be split"),
        ModelSpec("cflp-ss", partial(build_cflp, single_source=True), extract_single_source, "min",
                  frozenset(), _COMMON | {"decay", "cost_per_unit_km"}, True, False, False,
                  "capacitated facility location, each demand served by one facility"),
    )
}


def get_model(name: str) -> ModelSpec:
    """The :class:`ModelSpec` called ``name``; :class:`ScenarioError` naming the choices otherwise."""
    key = str(name).strip().lower()
    if key not in MODELS:
        raise ScenarioError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return MODELS[key]
