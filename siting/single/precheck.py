"""Checks before solving: bad parameters (:class:`ScenarioError`) and provable infeasibility
(:class:`InfeasibleError`), every defect at once, each naming the rows (demand or candidate ids) at fault.

These checks are necessary conditions only; a model that passes can still be infeasible (e.g. capacities
that are large enough in total but not where the demand is), in which case :func:`siting.pipeline.locate.locate`
asks the solver which constraint family is at fault.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from siting.core.errors import DefectCollector, InfeasibleError, ScenarioError
from siting.model import Decay, ModelSpec
from siting.core.problem import Problem

__all__ = ["check_params", "precheck", "option_name"]

_MAX_IDS = 10


def option_name(param: str) -> str:
    """Command-line spelling of a parameter: ``radius_km`` -> ``--radius-km``."""
    return "--" + param.replace("_", "-")


def _ids(ids: np.ndarray, idx: np.ndarray) -> str:
    idx = np.asarray(idx)
    shown = ", ".join(str(ids[k]) for k in idx[:_MAX_IDS])
    return shown + (f", ... ({len(idx)} in all)" if len(idx) > _MAX_IDS else "")


def _positive(x: Any, *, integer: bool = False, zero: bool = False) -> bool:
    if isinstance(x, bool):
        return False
    if integer and not (isinstance(x, (int, np.integer)) or (isinstance(x, float) and x.is_integer())):
        return False
    try:
        v = float(x)
    except (TypeError, ValueError):
        return False
    return math.isfinite(v) and (v >= 0 if zero else v > 0)


def check_params(spec: ModelSpec, params: dict[str, Any]) -> None:
    """Raise :class:`ScenarioError` listing every missing, unused or malformed parameter of ``spec``."""
    found = DefectCollector()
    given = {k for k, v in params.items() if v is not None}
    for name in sorted(spec.needs - given):
        found.add(f"model {spec.name} needs {option_name(name)}", file=option_name(name))
    for name in sorted(given - spec.accepts):
        found.add(f"model {spec.name} does not use {option_name(name)}", file=option_name(name))
    rules = {
        "p": ("must be a whole number >= 1", lambda v: _positive(v, integer=True)),
        "radius_km": ("must be a finite number > 0 (km)", _positive),
        "max_distance_km": ("must be a finite number > 0 (km)", _positive),
        "budget_cny": ("must be a finite number >= 0 (CNY)", lambda v: _positive(v, zero=True)),
        "cost_per_unit_km": ("must be a finite number >= 0", lambda v: _positive(v, zero=True)),
        "objective": ("must be 'count' or 'fixed_cost'", lambda v: v in ("count", "fixed_cost")),
        "decay": ("must be a Decay", lambda v: isinstance(v, Decay)),
    }
    for name in sorted(given & set(rules)):
        text, ok = rules[name]
        if not ok(params[name]):
            found.add(f"{text}, got {params[name]!r}", file=option_name(name))
    decay = params.get("decay")
    if (spec.decay_role == "attendance" and isinstance(decay, Decay) and decay.kind == "linear"
            and decay.cutoff_km is None):
        found.add("linear decay needs a cutoff distance (kind:beta:cutoff_km, or --max-distance-km)",
                  file="--decay")
    found.raise_if_any(ScenarioError)


def precheck(problem: Problem, spec: ModelSpec, params: dict[str, Any]) -> None:
    """Raise :class:`InfeasibleError` with every defect that makes ``spec`` on ``problem`` infeasible.

    Checks: no demand or no candidate; ``p`` above the candidates that may open or below the required
    ones; the budget below the fixed cost of the required sites or of the cheapest ``p`` sites; total
    capacity below total demand; a demand with no allowed candidate (after forbidden sites, the impedance
    cutoff and, for LSCP/LSCP-B, the radius) in models that must serve everyone; a demand larger than all
    capacity it can reach (single-source: than every single capacity it can reach).
    """
    found = DefectCollector(problem.source)
    if problem.n_demand == 0:
        found.add("there are no demand points")
    if problem.n_candidates == 0:
        found.add("there are no candidate sites")
    _check_count_and_budget(problem, spec, params, found)
    pi, pj = _check_reach(problem, spec, params, found)
    if spec.capacitated and problem.n_demand and problem.n_candidates:
        _check_capacity(problem, spec, pi, pj, found)
    found.raise_if_any(InfeasibleError)


def _check_count_and_budget(problem: Problem, spec: ModelSpec, params: dict[str, Any],
                            found: DefectCollector) -> None:
    """``p`` against the sites that may open and the required ones; the budget against their fixed cost."""
    allowed = ~problem.forbidden
    n_allowed = int(allowed.sum())
    req = np.flatnonzero(problem.required)
    cid = problem.candidate_ids
    f = problem.fixed_cost_cny
    p = params.get("p")
    if p is not None and spec.count:
        p = int(p)
        if p > n_allowed:
            forb = np.flatnonzero(problem.forbidden)
            extra = f" ({len(forb)} forbidden: {_ids(cid, forb)})" if len(forb) else ""
            found.add(f"p = {p} but only {n_allowed} candidate sites can open{extra}", column="p")
        if p < len(req):
            found.add(f"p = {p} but {len(req)} candidate sites are required: {_ids(cid, req)}", column="p")
    budget = params.get("budget_cny")
    if budget is None:
        return
    req_cost = float(f[req].sum())
    if req_cost > budget:
        found.add(
            f"budget {budget:g} CNY is below the fixed cost {req_cost:g} CNY of the required sites: "
            f"{_ids(cid, req)}",
            column="budget_cny",
        )
    elif p is not None and spec.count and len(req) <= p <= n_allowed:
        others = np.sort(f[allowed & ~problem.required])[: p - len(req)]
        cheapest = req_cost + float(others.sum())
        if cheapest > budget:
            found.add(
                f"budget {budget:g} CNY is below {cheapest:g} CNY, the fixed cost of the cheapest "
                f"{p} sites (required ones included)",
                column="budget_cny",
            )


def _check_reach(problem: Problem, spec: ModelSpec, params: dict[str, Any],
                 found: DefectCollector) -> tuple[np.ndarray, np.ndarray]:
    """Demands without a usable pair in models that serve everyone; returns the usable pairs' ends."""
    n, did = problem.n_demand, problem.demand_ids
    d = problem.distance_km
    usable = (~problem.forbidden)[problem.pair_candidate].copy()
    cutoff = params.get("max_distance_km")
    if cutoff is not None:
        usable &= d <= cutoff
    if spec.covers_all:
        usable &= d <= params["radius_km"]
    pi, pj = problem.pair_demand[usable], problem.pair_candidate[usable]
    if spec.assigns_all and n:
        reach = np.bincount(pi, minlength=n)
        lonely = np.flatnonzero(reach == 0)
        if len(lonely):
            why = ["no allowed candidate site"]
            if spec.covers_all:
                why.append(f"within radius {params['radius_km']:g} km")
            if cutoff is not None:
                why.append(f"within the cutoff {cutoff:g} km")
            found.add(f"{len(lonely)} demand point(s) have {' '.join(why)}: {_ids(did, lonely)}",
                      column="demand")
    return pi, pj


def _check_capacity(problem: Problem, spec: ModelSpec, pi: np.ndarray, pj: np.ndarray,
                    found: DefectCollector) -> None:
    """Total capacity against total demand; each demand against the capacity it can reach."""
    n, did = problem.n_demand, problem.demand_ids
    cap, w = problem.capacity, problem.weight
    total_cap = float(cap[~problem.forbidden].sum())
    if total_cap < float(w.sum()):
        found.add(f"total capacity {total_cap:g} of the allowed sites is below total demand {w.sum():g}",
                  column="capacity")
    if spec.single_source:
        best = np.zeros(n)
        np.maximum.at(best, pi, cap[pj])
        short = np.flatnonzero((w > best) & (np.bincount(pi, minlength=n) > 0))
        what = "every single capacity it can reach"
    else:
        reach_cap = np.bincount(pi, weights=np.minimum(cap[pj], 1e300), minlength=n)
        short = np.flatnonzero((w > reach_cap) & (np.bincount(pi, minlength=n) > 0))
        what = "the total capacity it can reach"
    if len(short):
        found.add(f"{len(short)} demand point(s) exceed {what}: {_ids(did, short)}", column="weight")
