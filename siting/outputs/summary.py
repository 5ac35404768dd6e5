"""The one schema of ``summary.json``, shared by ``siting run`` (multi-tier) and ``siting locate`` (single-level).

Schema version 2 (``summary_version: 2``). Keys marked * are required (:func:`siting.outputs.tables.validate_summary`
checks them); units are in the names; numbers that do not exist are ``null``.

===========================  ====================================================================================
key                          meaning
===========================  ====================================================================================
``summary_version`` *        ``2``
``model`` *                  ``"multitier"`` or the single-level model (``p-median``, ``mclp``, ...)
``scenario``                 the scenario's name (``siting run``); ``null`` for ``siting locate``
``status`` *                 ``optimal`` | ``feasible`` | ``no_solution``
``termination`` *            HiGHS's reason to stop (``optimal``, ``time_limit``, ...)
``status_text``              one line for people (``feasible, gap 0.5% (not proven optimal: time_limit)``)
``objective`` * / ``bound`` *  the objective and HiGHS's bound, in the objective's unit (see ``objective_kind``)
``gap`` *                    relative gap, a share (0.001 = 0.1 %)
``sense``                    ``min`` | ``max``
``build_seconds`` * / ``solve_seconds`` * / ``seconds`` *   wall-clock times
``objective_kind``           ``cost`` (CNY/yr), ``coverage`` (covered weight), ``distance`` (weighted km),
                             ``max_distance`` (km), ``count``, ``fixed_cost``, ``backup_coverage``, ``attendance``
``weight_unit``              unit of demand weights (``parcels/yr``, ``t/yr``; ``weight`` for user files)
``facility_ids`` *           every open facility (``tier:id`` for multi-tier runs)
``counts_by_tier`` *         tier -> number open (single-level runs: one tier, ``facility``)
``cost_cny``                 ``{tier: {fixed, handling, transport, total}, total, by_type: {fixed, handling,
                             transport}}`` in CNY per year; ``{}`` when the model has no costs
``coverage`` *               see :data:`COVERAGE_KEYS`; ``{}`` when there is no solution
``verified``                 the independent verifier's verdict (``true``/``false``; ``null`` = not run)
``verification``             the verifier's details
``solver_options``           the HiGHS options used (``mip_rel_gap``, ``time_limit_s``, ...)
``params``                   the model's parameters (``p``, ``radius_km``, ...; ``siting locate``)
``overrides``                the ``--set`` values (``siting run``)
===========================  ====================================================================================

``coverage``: ``demand_points`` (count), ``demand_points_covered`` (points fully served, or within the radius
for coverage models), ``demand_total`` (total weight), ``demand_covered`` (weight of the covered points),
``share_covered`` (= demand_covered / demand_total), ``demand_served`` (weight assigned to a facility),
``share_served``, ``mean_distance_km`` (served-weight mean), ``max_distance_km``, ``radius_km`` (a number, a
dict tier -> km, or ``null``).

Version 1 summaries (before this schema) used two layouts: ``siting locate`` wrote ``total_weight``,
``covered_weight``, ``covered_share``, ``served_weight``, ``covered_points``; ``siting run`` wrote
``demand_points_served`` and its solver options under ``options``. :func:`normalise_summary` reads both, so
the report, ``siting compare`` and ``siting verify`` keep working on old run directories.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["SUMMARY_VERSION", "SUMMARY_KEYS", "COVERAGE_KEYS", "COST_KINDS", "coverage_block", "cost_block", "normalise_summary"]

SUMMARY_VERSION = 2
#: keys every summary must have (plus ``model`` or ``scenario``)
SUMMARY_KEYS = (
    "status",
    "termination",
    "objective",
    "bound",
    "gap",
    "build_seconds",
    "solve_seconds",
    "seconds",
    "facility_ids",
    "counts_by_tier",
    "coverage",
)
#: keys of a non-empty ``coverage`` block in a version-2 summary
COVERAGE_KEYS = (
    "demand_points",
    "demand_points_covered",
    "demand_total",
    "demand_covered",
    "share_covered",
    "demand_served",
    "share_served",
    "mean_distance_km",
    "max_distance_km",
    "radius_km",
)
#: cost types of ``cost_cny[tier]`` and ``cost_cny.by_type``
COST_KINDS = ("fixed", "handling", "transport")

_V1_COVERAGE = {
    "total_weight": "demand_total",
    "covered_weight": "demand_covered",
    "covered_share": "share_covered",
    "served_weight": "demand_served",
    "covered_points": "demand_points_covered",
    "demand_points_served": "demand_points_covered",
}


def _share(part: float, total: float) -> float | None:
    return part / total if total > 0 else None


def coverage_block(
    *,
    demand_points: int,
    demand_points_covered: int,
    demand_total: float,
    demand_covered: float,
    demand_served: float,
    mean_distance_km: float | None,
    max_distance_km: float | None,
    radius_km: float | Mapping[str, float | None] | None,
) -> dict[str, Any]:
    """The ``coverage`` block of a summary (shares computed here, so both pipelines agree)."""
    return {
        "demand_points": int(demand_points),
        "demand_points_covered": int(demand_points_covered),
        "demand_total": float(demand_total),
        "demand_covered": float(demand_covered),
        "share_covered": _share(float(demand_covered), float(demand_total)),
        "demand_served": float(demand_served),
        "share_served": _share(float(demand_served), float(demand_total)),
        "mean_distance_km": None if mean_distance_km is None or not math.isfinite(mean_distance_km) else float(mean_distance_km),
        "max_distance_km": None if max_distance_km is None or not math.isfinite(max_distance_km) else float(max_distance_km),
        "radius_km": dict(radius_km) if isinstance(radius_km, Mapping) else radius_km,
    }


def cost_block(costs: Mapping[str, Mapping[str, float]]) -> dict[str, Any]:
    """The ``cost_cny`` block from ``tier -> {fixed, handling, transport}`` (missing types count 0), CNY."""
    out: dict[str, Any] = {}
    for tier, c in costs.items():
        row = {k: round(float(c.get(k, 0.0)), 2) for k in COST_KINDS}
        out[str(tier)] = row | {"total": round(sum(row.values()), 2)}
    tiers = [v for k, v in out.items()]
    out["total"] = round(sum(t["total"] for t in tiers), 2)
    out["by_type"] = {k: round(sum(t[k] for t in tiers), 2) for k in COST_KINDS}
    return out


def normalise_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """A summary in the version-2 layout, whichever version wrote it (a copy; the input is not changed)."""
    s = dict(summary)
    if int(s.get("summary_version") or 1) >= SUMMARY_VERSION:
        return s
    cov = dict(s.get("coverage") or {})
    for old, new in _V1_COVERAGE.items():
        if old in cov and new not in cov:
            cov[new] = cov.pop(old)
    if cov:
        if "demand_covered" not in cov and "demand_served" in cov:  # v1 multi-tier: covered means fully served
            cov["demand_covered"] = cov["demand_served"]
        total = cov.get("demand_total")
        for part, share in (("demand_covered", "share_covered"), ("demand_served", "share_served")):
            if share not in cov and cov.get(part) is not None and total:
                cov[share] = cov[part] / total
        cov.setdefault("radius_km", (s.get("params") or {}).get("radius_km"))
        s["coverage"] = cov
    if "solver_options" not in s and isinstance(s.get("options"), Mapping):
        s["solver_options"] = s["options"]
    s.setdefault("scenario", None)
    s["summary_version"] = SUMMARY_VERSION
    return s
