"""Single-level location formulations and their registry.

Each model is a function ``build_<name>(problem, *, ...) -> pyomo ConcreteModel`` whose docstring states
its maths, plus an ``extract(problem, model) -> (open, allocation)`` reading the solved values back onto
the problem's pairs. :data:`MODELS` maps the public model name to a :class:`~siting.model.spec.ModelSpec`,
which carries all of the model's rules as data: parameters, defaults, the verifier's checks and objective,
the memory estimate's shape and any exact algorithm of its own. Adding a model means a builder module and
one :data:`MODELS` entry (plus an objective formula in the verifier if none of
:data:`~siting.model.spec.OBJECTIVES` fits, and an algorithm entry if it has one).

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

from functools import partial

from siting.core.errors import ScenarioError
from siting.model.center import build_p_center, build_p_center_decision, extract_center
from siting.model.cover import build_lscp, build_lscp_b, build_mclp, extract_cover
from siting.model.decay import DECAY_KINDS, Decay
from siting.model.median import build_attendance, build_p_median, extract_assignment, extract_single_source
from siting.model.plant import build_cflp, build_uflp
from siting.model.spec import ModelSpec

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


_COMMON = frozenset({"max_distance_km", "budget_cny"})
_PLANT = {"accepts": _COMMON | {"decay", "cost_per_unit_km"}, "sense": "min", "needs": frozenset(),
          "assigns_all": True, "count": False, "radius": False, "objective": "fixed-plus-transport",
          "decay_role": "impedance", "defaults": {"cost_per_unit_km": 1.0}}

#: Every single-level model and its rules (:class:`~siting.model.spec.ModelSpec`): a new model is a
#: builder module plus one entry here.
MODELS: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        ModelSpec(name="p-median", build=build_p_median, extract=extract_assignment, sense="min",
                  needs=frozenset({"p"}), accepts=_COMMON | {"p", "decay"}, assigns_all=True, count=True,
                  radius=False, objective="weighted-impedance", decay_role="impedance",
                  algorithm="p-median radius formulation", algorithm_params=frozenset({"p"}),
                  summary="minimise demand-weighted distance with p facilities"),
        ModelSpec(name="p-center", build=build_p_center, extract=extract_center, sense="min",
                  needs=frozenset({"p"}), accepts=_COMMON | {"p"}, assigns_all=True, count=True, radius=False,
                  objective="largest-distance", algorithm="p-center bisection",
                  summary="minimise the largest demand-to-facility distance with p facilities"),
        ModelSpec(name="lscp", build=build_lscp, extract=extract_cover, sense="min",
                  needs=frozenset({"radius_km"}), accepts=_COMMON | {"radius_km", "objective"}, assigns_all=True,
                  count=False, radius=True, objective="site-count", size_shape="cover",
                  defaults={"objective": "count"},
                  summary="fewest facilities (or least fixed cost) so that all demand is within the radius"),
        ModelSpec(name="lscp-b", build=build_lscp_b, extract=extract_cover, sense="max",
                  needs=frozenset({"radius_km"}), accepts=_COMMON | {"radius_km", "p"}, assigns_all=True,
                  count=True, radius=True, objective="backup-coverage", size_shape="cover", p_from="lscp",
                  summary="LSCP's minimal count, then maximise demand covered at least twice"),
        ModelSpec(name="mclp", build=build_mclp, extract=extract_cover, sense="max",
                  needs=frozenset({"radius_km", "p"}), accepts=_COMMON | {"radius_km", "p"}, assigns_all=False,
                  count=True, radius=True, objective="coverage", size_shape="cover",
                  summary="maximise demand covered within the radius with p facilities"),
        ModelSpec(name="attendance", build=build_attendance, extract=extract_assignment, sense="max",
                  needs=frozenset({"p", "decay"}), accepts=_COMMON | {"p", "decay"}, assigns_all=False,
                  count=True, radius=False, objective="attendance", decay_role="attendance",
                  summary="maximise attendance (demand weighted by distance decay) with p facilities"),
        # the fast path (siting.algorithms.warehouse.solve_uflp) minimises fixed + w * cost over the allowed
        # pairs: a cost rate and a cutoff map onto that problem exactly (siting.pipeline.locate.
        # uflp_route_problem). A budget row is in none of its phases (bound, fixing, heuristics, MIP), so a
        # budget keeps the formulation; so does a decay, as for p-median (exp(beta d) can overflow to inf, which
        # the fast paths read as "pair not allowed" where the formulation keeps a huge but finite cost)
        ModelSpec(name="uflp", build=build_uflp, extract=extract_assignment, **_PLANT,
                  algorithm="uflp fast path", algorithm_params=frozenset({"cost_per_unit_km", "max_distance_km"}),
                  summary="minimise fixed plus assignment cost, free number of facilities"),
        ModelSpec(name="cflp", build=partial(build_cflp, single_source=False), extract=extract_assignment,
                  capacitated=True, **_PLANT,
                  summary="capacitated facility location, demand may be split"),
        ModelSpec(name="cflp-ss", build=partial(build_cflp, single_source=True), extract=extract_single_source,
                  capacitated=True, single_source=True, **_PLANT,
                  summary="capacitated facility location, each demand served by one facility"),
    )
}


def get_model(name: str) -> ModelSpec:
    """The :class:`ModelSpec` called ``name``; :class:`ScenarioError` naming the choices otherwise."""
    key = str(name).strip().lower()
    if key not in MODELS:
        raise ScenarioError(f"unknown model {name!r}; choose one of: {', '.join(MODELS)}")
    return MODELS[key]
