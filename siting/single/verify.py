"""Independent check of a single-level :class:`~siting.core.results.Result`.

:func:`verify` recomputes the objective from the open sites and the allocation and checks every constraint
of the model named in the result, using only numpy on the :class:`~siting.core.problem.Problem` arrays. It
deliberately shares no code with :mod:`siting.model` (no Pyomo, its own decay formulas, its own
coverage computation), so that a bug in a formulation or in reading back its values shows up here. What
it reads from :data:`siting.model.MODELS` is data: each model's flags (count, assigns_all, radius,
capacitated, single_source) and the name of its objective, whose formula is in :data:`_OBJECTIVES` here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from siting.core.problem import Problem
from siting.core.results import Result, SolutionStatus
from siting.model import MODELS, ModelSpec

__all__ = ["Verdict", "verify"]

_TOL = 1e-6
_SHOW = 5


@dataclass(frozen=True)
class Verdict:
    """Outcome of :func:`verify`.

    Attributes
    ----------
    ok
        True when every check passed.
    checks
        Names of the checks that were run.
    problems
        One line per failed check, naming the rows at fault.
    objective
        The objective recomputed from the solution (``nan`` without a solution).
    """

    ok: bool
    checks: tuple[str, ...]
    problems: tuple[str, ...]
    objective: float

    def describe(self) -> str:
        if self.ok:
            return f"verified: {len(self.checks)} checks passed, objective {self.objective:.10g}"
        return "verification FAILED: " + "; ".join(self.problems)


def _list(ids: np.ndarray, idx: np.ndarray) -> str:
    idx = np.asarray(idx)
    more = f" (+{len(idx) - _SHOW} more)" if len(idx) > _SHOW else ""
    return ", ".join(str(ids[k]) for k in idx[:_SHOW]) + more


def _impedance(d: np.ndarray, decay: dict[str, Any] | None) -> np.ndarray:
    """ArcGIS impedance transformation for minimising models (own copy, see siting.model.decay)."""
    if not decay:
        return d
    b = float(decay["beta"])
    return {"linear": lambda: b * d, "power": lambda: np.power(d, b), "exponential": lambda: np.exp(b * d)}[
        decay["kind"]
    ]()


def _attendance(d: np.ndarray, decay: dict[str, Any]) -> np.ndarray:
    """Decay factor for maximise-attendance (own copy)."""
    b = float(decay["beta"])
    kind = decay["kind"]
    if kind == "linear":
        return np.clip(1.0 - d / float(decay["cutoff_km"]), 0.0, None)
    if kind == "power":
        return 1.0 / np.power(np.where(d < 1.0, 1.0, d), b)
    return 1.0 / np.exp(b * d)


class _Log:
    """The checks run so far and the failures among them."""

    def __init__(self) -> None:
        self.checks: list[str] = []
        self.bad: list[str] = []

    def __call__(self, name: str, failures: str | None) -> None:
        self.checks.append(name)
        if failures:
            self.bad.append(f"{name}: {failures}")

    def verdict(self, objective: float) -> Verdict:
        return Verdict(not self.bad, tuple(self.checks), tuple(self.bad), objective)


@dataclass
class _Solution:
    """The arrays of one problem and result the checks share."""

    problem: Problem
    result: Result
    is_open: np.ndarray  # per candidate
    x: np.ndarray  # allocation per pair
    used: np.ndarray  # x > tolerance, per pair
    reach: np.ndarray  # pair within the cutoff and (coverage models) the radius
    served: np.ndarray  # per demand, sum of x
    n_cover: np.ndarray  # per demand, open sites within the radius (coverage models; zeros otherwise)


def _check_sites(problem: Problem, result: Result, spec: ModelSpec, check: _Log) -> np.ndarray | None:
    """Open sites valid, forbidden ones closed, required ones open, the count and the budget.

    Returns the per-candidate open flags, or ``None`` when the open sites are not valid indices.
    """
    m, cid, prm = len(problem.candidate_ids), problem.candidate_ids, result.params
    sites = np.asarray(result.open)
    valid = (
        sites.ndim == 1
        and (len(sites) == 0 or (np.issubdtype(sites.dtype, np.integer) and sites.min() >= 0 and sites.max() < m))
        and bool(np.all(np.diff(sites) > 0))
    )
    check("open sites are sorted, distinct candidate indices", None if valid else f"got {sites!r}")
    if not valid:
        return None
    is_open = np.zeros(m, dtype=bool)
    is_open[sites] = True
    n_open = int(is_open.sum())
    check("forbidden sites stay closed",
          _list(cid, np.flatnonzero(is_open & problem.forbidden)) or None)
    check("required sites are open",
          _list(cid, np.flatnonzero(problem.required & ~is_open)) or None)
    if spec.count:
        p = int(prm["p"])
        check("number of open sites equals p", None if n_open == p else f"{n_open} open, p = {p}")
    fixed_total = float(problem.fixed_cost_cny[is_open].sum())
    if prm.get("budget_cny") is not None:
        b = float(prm["budget_cny"])
        check("fixed cost within budget",
              None if fixed_total <= b * (1 + _TOL) + _TOL else f"{fixed_total:.10g} > {b:.10g} CNY")
    return is_open


def _check_allocation(problem: Problem, result: Result, spec: ModelSpec, is_open: np.ndarray,
                      check: _Log) -> _Solution | None:
    """Allocation in range, on open sites, within the cutoff and radius; each demand served once (or at
    most once). Returns ``None`` when the allocation does not have one finite value per pair."""
    prm, dem, cand, d = result.params, problem.pair_demand, problem.pair_candidate, problem.distance_km
    cid, did = problem.candidate_ids, problem.demand_ids
    x = np.asarray(result.allocation, dtype=np.float64)
    if x.shape != (len(dem),) or not np.all(np.isfinite(x)):
        check("allocation has one finite value per allowed pair", f"shape {x.shape}, pairs {len(dem)}")
        return None
    used = x > _TOL
    out_of_range = np.flatnonzero((x < -_TOL) | (x > 1 + _TOL))
    check("allocation within [0, 1]",
          None if not len(out_of_range) else f"{len(out_of_range)} pairs, e.g. demand {did[dem[out_of_range[0]]]}")
    to_closed = np.flatnonzero(used & ~is_open[cand])
    check("demand served only by open sites",
          None if not len(to_closed) else
          f"{len(to_closed)} pairs, e.g. {did[dem[to_closed[0]]]} -> closed {cid[cand[to_closed[0]]]}")
    reach = np.ones(len(dem), dtype=bool)
    if prm.get("max_distance_km") is not None:
        reach &= d <= float(prm["max_distance_km"])
        far = np.flatnonzero(used & ~reach)
        check("no pair beyond the impedance cutoff",
              None if not len(far) else f"{len(far)} pairs, e.g. {did[dem[far[0]]]} -> {cid[cand[far[0]]]}")
    if spec.radius:
        r = float(prm["radius_km"])
        reach &= d <= r
        outside = np.flatnonzero(used & (d > r))
        check("no allocation beyond the coverage radius",
              None if not len(outside) else f"{len(outside)} pairs, e.g. {did[dem[outside[0]]]}")
    n = len(did)
    served = np.zeros(n)
    np.add.at(served, dem, x)
    if spec.assigns_all:
        off = np.flatnonzero(np.abs(served - 1.0) > 1e-5)
        check("every demand is served exactly once",
              None if not len(off) else f"{len(off)} demand points, e.g. {_list(did, off)}")
    else:
        over = np.flatnonzero(served > 1.0 + 1e-5)
        check("no demand is served more than once", _list(did, over) or None)
    # coverage counts computed from the open sites alone
    n_cover = np.zeros(n, dtype=np.int64)
    if spec.radius:
        live = reach & is_open[cand] & ~problem.forbidden[cand]
        np.add.at(n_cover, dem[live], 1)
    return _Solution(problem, result, is_open, x, used, reach, served, n_cover)


def _check_model_rules(sol: _Solution, spec: ModelSpec, check: _Log) -> None:
    """Coverage (LSCP, LSCP-B; MCLP), capacities and single sourcing, as the spec's flags say."""
    problem, x = sol.problem, sol.x
    dem, cand, w = problem.pair_demand, problem.pair_candidate, problem.weight
    cid, did = problem.candidate_ids, problem.demand_ids
    if spec.covers_all:
        check("every demand is covered within the radius",
              _list(did, np.flatnonzero(sol.n_cover < 1)) or None)
    if spec.serves_covered:
        mismatch = np.flatnonzero(np.abs(sol.served - (sol.n_cover > 0)) > 1e-5)
        check("covered demand (and only it) is allocated", _list(did, mismatch) or None)
    if spec.capacitated:
        load = np.zeros(len(cid))
        np.add.at(load, cand, w[dem] * x)
        over = np.flatnonzero(load > problem.capacity * (1 + _TOL) + _TOL)
        check("capacities respected",
              None if not len(over) else
              "; ".join(f"{cid[j]} load {load[j]:.6g} > {problem.capacity[j]:.6g}" for j in over[:_SHOW]))
    if spec.single_source:
        frac = np.flatnonzero(sol.used & (x < 1 - 1e-5))
        check("single sourcing (each demand wholly at one site)",
              None if not len(frac) else f"{len(frac)} split pairs, e.g. demand {did[dem[frac[0]]]}")


def _largest_distance(sol: _Solution) -> float:
    problem = sol.problem
    per = np.zeros(problem.n_demand)
    np.add.at(per, problem.pair_demand, problem.distance_km * sol.x)
    return float(per.max()) if problem.n_demand else 0.0


def _site_count(sol: _Solution) -> float:
    if sol.result.params.get("objective") == "fixed_cost":
        return float(sol.problem.fixed_cost_cny[sol.is_open].sum())
    return float(sol.is_open.sum())


def _fixed_plus_transport(sol: _Solution) -> float:
    p, prm = sol.problem, sol.result.params
    rate = float(prm.get("cost_per_unit_km", 1.0))
    fixed_total = float(p.fixed_cost_cny[sol.is_open].sum())
    return fixed_total + rate * float(np.sum(p.weight[p.pair_demand] * _impedance(p.distance_km, prm.get("decay"))
                                             * sol.x))


#: the verifier's own objective formulas, by :data:`siting.model.spec.OBJECTIVES` key
_OBJECTIVES: dict[str, Callable[[_Solution], float]] = {
    "weighted-impedance": lambda s: float(np.sum(s.problem.weight[s.problem.pair_demand]
                                                 * _impedance(s.problem.distance_km, s.result.params.get("decay"))
                                                 * s.x)),
    "largest-distance": _largest_distance,
    "site-count": _site_count,
    "backup-coverage": lambda s: float(s.problem.weight[s.n_cover >= 2].sum()),
    "coverage": lambda s: float(s.problem.weight[s.n_cover >= 1].sum()),
    "attendance": lambda s: float(np.sum(s.problem.weight[s.problem.pair_demand]
                                         * _attendance(s.problem.distance_km, s.result.params.get("decay")) * s.x)),
    "fixed-plus-transport": _fixed_plus_transport,
}


def verify(problem: Problem, result: Result) -> Verdict:
    """Recompute the objective of ``result`` and check every constraint of its model on ``problem``.

    Checks: open sites valid, not forbidden, all required open; the facility count ``p``; the budget;
    allocation within ``[0, 1]``, only on open sites, only on pairs within the impedance cutoff (and the
    radius for coverage models); each demand served exactly once (assignment models) or at most once;
    coverage of every demand (LSCP, LSCP-B); capacities (CFLP); integral allocation (single source); the
    recomputed objective equal to the reported one (proven optimal) or no worse (not proven optimal).
    Which checks apply, and which objective formula, is read from the model's
    :class:`~siting.model.spec.ModelSpec` flags (data only; the formulas here are the verifier's own).

    Returns
    -------
    Verdict
    """
    spec = MODELS.get(result.model)
    if spec is None or spec.objective not in _OBJECTIVES:
        return Verdict(False, ("model known",), (f"model known: no rules for model {result.model!r}",), math.nan)
    if result.info.status is SolutionStatus.NO_SOLUTION:
        return Verdict(False, ("solution present",), ("solution present: the run has no solution",), math.nan)
    check = _Log()
    is_open = _check_sites(problem, result, spec, check)
    if is_open is None:
        return check.verdict(math.nan)
    sol = _check_allocation(problem, result, spec, is_open, check)
    if sol is None:
        return check.verdict(math.nan)
    _check_model_rules(sol, spec, check)
    obj = _OBJECTIVES[spec.objective](sol)
    reported = float(result.objective)
    tol = 1e-6 * max(1.0, abs(reported))
    if result.info.status is SolutionStatus.OPTIMAL:
        check("recomputed objective equals the reported one",
              None if abs(obj - reported) <= tol else f"recomputed {obj:.10g}, reported {reported:.10g}")
    else:
        better = obj <= reported + tol if spec.sense == "min" else obj >= reported - tol
        check("recomputed objective no worse than the reported one",
              None if better else f"recomputed {obj:.10g}, reported {reported:.10g}")
    return check.verdict(obj)
