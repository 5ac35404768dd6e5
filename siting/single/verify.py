"""Independent check of a single-level :class:`~siting.core.results.Result`.

:func:`verify` recomputes the objective from the open sites and the allocation and checks every constraint
of the model named in the result, using only numpy on the :class:`~siting.core.problem.Problem` arrays. It
deliberately shares no code with :mod:`siting.model` (no Pyomo, its own decay formulas, its own
coverage computation), so that a bug in a formulation or in reading back its values shows up here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from siting.core.problem import Problem
from siting.core.results import Result, SolutionStatus

__all__ = ["Verdict", "verify"]

# model -> (sense, exactly p sites, every demand fully served, coverage radius used)
_RULES: dict[str, tuple[str, bool, bool, bool]] = {
    "p-median": ("min", True, True, False),
    "p-center": ("min", True, True, False),
    "lscp": ("min", False, True, True),
    "lscp-b": ("max", True, True, True),
    "mclp": ("max", True, False, True),
    "attendance": ("max", True, False, False),
    "uflp": ("min", False, True, False),
    "cflp": ("min", False, True, False),
    "cflp-ss": ("min", False, True, False),
}
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


def verify(problem: Problem, result: Result) -> Verdict:
    """Recompute the objective of ``result`` and check every constraint of its model on ``problem``.

    Checks: open sites valid, not forbidden, all required open; the facility count ``p``; the budget;
    allocation within ``[0, 1]``, only on open sites, only on pairs within the impedance cutoff (and the
    radius for coverage models); each demand served exactly once (assignment models) or at most once;
    coverage of every demand (LSCP, LSCP-B); capacities (CFLP); integral allocation (single source); the
    recomputed objective equal to the reported one (proven optimal) or no worse (not proven optimal).

    Returns
    -------
    Verdict
    """
    checks: list[str] = []
    bad: list[str] = []

    def check(name: str, failures: str | None) -> None:
        checks.append(name)
        if failures:
            bad.append(f"{name}: {failures}")

    if result.model not in _RULES:
        return Verdict(False, ("model known",), (f"model known: no rules for model {result.model!r}",), math.nan)
    if result.info.status is SolutionStatus.NO_SOLUTION:
        return Verdict(False, ("solution present",), ("solution present: the run has no solution",), math.nan)
    sense, fixed_count, serve_all, uses_radius = _RULES[result.model]
    prm = result.params
    n, m = len(problem.demand_ids), len(problem.candidate_ids)
    dem, cand = problem.pair_demand, problem.pair_candidate
    d = problem.distance_km
    w = problem.weight
    cid, did = problem.candidate_ids, problem.demand_ids

    sites = np.asarray(result.open)
    valid = (
        sites.ndim == 1
        and (len(sites) == 0 or (np.issubdtype(sites.dtype, np.integer) and sites.min() >= 0 and sites.max() < m))
        and bool(np.all(np.diff(sites) > 0))
    )
    check("open sites are sorted, distinct candidate indices", None if valid else f"got {sites!r}")
    if not valid:
        return Verdict(False, tuple(checks), tuple(bad), math.nan)
    is_open = np.zeros(m, dtype=bool)
    is_open[sites] = True
    n_open = int(is_open.sum())
    check("forbidden sites stay closed",
          _list(cid, np.flatnonzero(is_open & problem.forbidden)) or None)
    check("required sites are open",
          _list(cid, np.flatnonzero(problem.required & ~is_open)) or None)
    if fixed_count:
        p = int(prm["p"])
        check("number of open sites equals p", None if n_open == p else f"{n_open} open, p = {p}")
    fixed_total = float(problem.fixed_cost_cny[is_open].sum())
    if prm.get("budget_cny") is not None:
        b = float(prm["budget_cny"])
        check("fixed cost within budget",
              None if fixed_total <= b * (1 + _TOL) + _TOL else f"{fixed_total:.10g} > {b:.10g} CNY")

    x = np.asarray(result.allocation, dtype=np.float64)
    if x.shape != (len(dem),) or not np.all(np.isfinite(x)):
        check("allocation has one finite value per allowed pair", f"shape {x.shape}, pairs {len(dem)}")
        return Verdict(False, tuple(checks), tuple(bad), math.nan)
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
    if uses_radius:
        r = float(prm["radius_km"])
        reach &= d <= r
        outside = np.flatnonzero(used & (d > r))
        check("no allocation beyond the coverage radius",
              None if not len(outside) else f"{len(outside)} pairs, e.g. {did[dem[outside[0]]]}")
    served = np.zeros(n)
    np.add.at(served, dem, x)
    if serve_all:
        off = np.flatnonzero(np.abs(served - 1.0) > 1e-5)
        check("every demand is served exactly once",
              None if not len(off) else f"{len(off)} demand points, e.g. {_list(did, off)}")
    else:
        over = np.flatnonzero(served > 1.0 + 1e-5)
        check("no demand is served more than once", _list(did, over) or None)

    # coverage counts computed from the open sites alone
    n_cover = np.zeros(n, dtype=np.int64)
    if uses_radius:
        live = reach & is_open[cand] & ~problem.forbidden[cand]
        np.add.at(n_cover, dem[live], 1)
    if result.model in ("lscp", "lscp-b"):
        check("every demand is covered within the radius",
              _list(did, np.flatnonzero(n_cover < 1)) or None)
    if result.model == "mclp":
        mismatch = np.flatnonzero(np.abs(served - (n_cover > 0)) > 1e-5)
        check("covered demand (and only it) is allocated", _list(did, mismatch) or None)

    if result.model in ("cflp", "cflp-ss"):
        load = np.zeros(m)
        np.add.at(load, cand, w[dem] * x)
        over = np.flatnonzero(load > problem.capacity * (1 + _TOL) + _TOL)
        check("capacities respected",
              None if not len(over) else
              "; ".join(f"{cid[j]} load {load[j]:.6g} > {problem.capacity[j]:.6g}" for j in over[:_SHOW]))
    if result.model == "cflp-ss":
        frac = np.flatnonzero(used & (x < 1 - 1e-5))
        check("single sourcing (each demand wholly at one site)",
              None if not len(frac) else f"{len(frac)} split pairs, e.g. demand {did[dem[frac[0]]]}")

    # the objective, recomputed
    decay = prm.get("decay")
    model = result.model
    if model == "p-median":
        obj = float(np.sum(w[dem] * _impedance(d, decay) * x))
    elif model == "p-center":
        per = np.zeros(n)
        np.add.at(per, dem, d * x)
        obj = float(per.max()) if n else 0.0
    elif model == "lscp":
        obj = fixed_total if prm.get("objective") == "fixed_cost" else float(n_open)
    elif model == "lscp-b":
        obj = float(w[n_cover >= 2].sum())
    elif model == "mclp":
        obj = float(w[n_cover >= 1].sum())
    elif model == "attendance":
        obj = float(np.sum(w[dem] * _attendance(d, decay) * x))
    else:
        rate = float(prm.get("cost_per_unit_km", 1.0))
        obj = fixed_total + rate * float(np.sum(w[dem] * _impedance(d, decay) * x))
    reported = float(result.objective)
    tol = 1e-6 * max(1.0, abs(reported))
    if result.info.status is SolutionStatus.OPTIMAL:
        check("recomputed objective equals the reported one",
              None if abs(obj - reported) <= tol else f"recomputed {obj:.10g}, reported {reported:.10g}")
    else:
        better = obj <= reported + tol if sense == "min" else obj >= reported - tol
        check("recomputed objective no worse than the reported one",
              None if better else f"recomputed {obj:.10g}, reported {reported:.10g}")
    return Verdict(not bad, tuple(checks), tuple(bad), obj)
