"""Manifest and audit of scenario runs (``siting run``), private to :mod:`siting.provenance.manifest` / :mod:`siting.provenance.audit`.

:func:`scenario_inputs` lists every file a scenario reads (the scenario itself, the user's point files, the
OD matrix, the road network, the measured circuity tables, and the ``data/geo`` files behind built-in layers);
:func:`run_manifest` builds the manifest of a scenario run; :func:`audit_network_run` rebuilds the network
problem from the scenario file (with the recorded overrides), reconstructs the solution from ``solution.gpkg``
and runs :func:`siting.network.verify.verify_network` on it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from siting.provenance.checks import read_certificate, show_some
from siting.core.errors import InputError

__all__ = ["scenario_inputs", "run_parameters", "run_manifest", "audit_network_run"]

_REL = 1e-6


def _sources(scen: Any) -> list[Any]:
    out = [s for d in scen.demand for s in d.sources] + [s for t in scen.tiers for s in t.sources]
    out += [t.gateway[3] for t in scen.tiers if t.gateway is not None and t.gateway[3] is not None]
    return out


def scenario_inputs(scen: Any) -> dict[str, list[Path]]:
    """role -> files read by the scenario ``scen`` (a :class:`siting.scenario.Scenario`).

    Roles: ``scenario``; ``data`` (point files, gateway files included); ``od_matrix``; ``roads`` (``[network]
    roads``, with a Shapefile's side files, or every file of a folder); ``circuity`` (with ``circuity =
    "measured"``: the district factors, shipped or the user's ``path``, and the regional medians); ``reference``
    (the ``data/geo`` files, read for built-in layers and for the districts of measured circuity).
    """
    import siting.geo as geo
    from siting.geo.circuity import circuity_files
    from siting.routing.read import dataset_files

    out: dict[str, list[Path]] = {"scenario": [], "data": [], "od_matrix": [], "roads": [], "circuity": [],
                                  "reference": []}
    if scen.path is not None:
        out["scenario"].append(Path(scen.path))
    srcs = _sources(scen)
    for s in srcs:
        if s.path is not None and Path(s.path) not in out["data"]:
            out["data"].append(Path(s.path))
    if scen.od_matrix is not None:
        out["od_matrix"].append(Path(scen.od_matrix))
    if scen.network is not None and scen.network.roads is not None:
        out["roads"] = dataset_files(Path(scen.network.roads))
    measured = scen.circuity_mode == "measured"
    if measured:
        out["circuity"] = [p for p in circuity_files(data_dir=scen.data_dir, path=scen.circuity_path) if p.is_file()]
    if any(s.layer for s in srcs) or scen.uses_chongqing() or measured:
        base = Path(scen.data_dir) if scen.data_dir is not None else geo.default_data_dir()
        out["reference"] = [base / f for f in geo.REQUIRED_FILES if (base / f).is_file()]
    return {k: v for k, v in out.items() if v}


def run_parameters(scen: Any, overrides: Any = None) -> dict[str, Any]:
    """The ``parameters`` of a scenario-run manifest: the file, the overrides and the resolved scenario."""
    return {
        "scenario": scen.name,
        "scenario_file": None if scen.path is None else str(Path(scen.path).absolute()),
        "base_dir": str(Path(scen.base_dir).absolute()),
        "overrides": dict(overrides or {}),
        "resolved": _plain(scen.raw),
    }


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_plain(x) for x in v]
    if isinstance(v, str | int | float | bool) or v is None:
        return v
    if hasattr(v, "isoformat"):
        return v.isoformat()
    return str(v)


def run_manifest(scen: Any, result: Any, check: Any, *, overrides: Any = None, command: list[str] | None = None,
                 wall_seconds: float | None = None) -> dict[str, Any]:
    """The manifest of a scenario run (see :mod:`siting.provenance.manifest`)."""
    from siting.provenance.manifest import build_manifest

    verdict = None
    if check is not None:
        verdict = {"ok": check.ok, "checks": ["every rule of siting.network.verify (structure, flows, radii, "
                                               "counts, capacities, gateways, budget, objective)"],
                   "problems": list(check.violations), "objective": check.objective_recomputed}
    return build_manifest(kind="run", parameters=run_parameters(scen, overrides), inputs=scenario_inputs(scen),
                          info=result.info, verdict=verdict, command=command, wall_seconds=wall_seconds)


def _rebuild(prm: dict[str, Any]) -> tuple[Any, Any]:
    from siting.scenario.build import build_problem
    from siting.scenario.load import load_scenario
    from siting.scenario.schema import parse_scenario

    if prm.get("scenario_file"):
        scen = load_scenario(prm["scenario_file"], overrides=prm.get("overrides") or None)
    else:
        scen = parse_scenario(prm["resolved"], path=None, base_dir=Path(prm.get("base_dir") or "."))
    return scen, build_problem(scen)


def audit_network_run(run_dir: Path, manifest: dict[str, Any], checks: Any, *, summary: dict[str, Any] | None,
                      layers: dict[str, Any] | None, compare: Any) -> None:
    """Add the checks of a scenario run to ``checks`` (see :func:`siting.provenance.audit.audit`)."""
    from siting.core.network import NetworkResult
    from siting.network.verify import verify_network

    prm = manifest.get("parameters", {})
    try:
        scen, problem = _rebuild(prm)
    except InputError as exc:
        checks.add("problem rebuilt from the scenario and its inputs", " | ".join(exc.lines()))
        return
    checks.add("problem rebuilt from the scenario and its inputs", None)
    if "resolved" in prm:
        import json

        from siting.provenance.manifest import manifest_to_json

        again = json.loads(manifest_to_json({"r": _plain(scen.raw)}))["r"]
        diff = sorted(k for k in set(again) | set(prm["resolved"]) if again.get(k) != prm["resolved"].get(k))
        checks.add("scenario with its overrides resolves as recorded in the manifest",
                   f"tables differ: {', '.join(diff)}" if diff else None)
    if layers is None:
        return
    fac, asg = layers["facilities"], layers["assignments"]
    opened = _opened(problem, fac, checks)
    used, flow = _links_used(problem, asg, checks)
    cert = manifest.get("certificate", {})
    info = read_certificate(manifest, checks)
    if info is None:
        return
    result = NetworkResult(scen.name, info, tuple(opened), tuple(used), tuple(flow), objective_kind=problem.objective)
    verdict = verify_network(problem, result)
    checks.add("verifier (siting.network.verify): every structural rule, flow, radius, count and capacity",
               show_some(verdict.violations, 5, sep="; ") if verdict.violations else None)
    if summary is not None:
        compare(cert, summary, checks)
        _summary_agrees(problem, result, verdict, summary, fac, checks)


def _tier_index(problem: Any) -> tuple[dict[str, int], list[dict[str, int]]]:
    """Tier name -> tier number, and per tier raw id -> candidate index."""
    tiers = {t.name: k for k, t in enumerate(problem.tiers)}
    return tiers, [{str(x): j for j, x in enumerate(t.ids)} for t in problem.tiers]


def _opened(problem: Any, fac: Any, checks: Any) -> list[np.ndarray]:
    """The open sites per tier, from the facilities layer (ids ``tier:raw``)."""
    tiers, index = _tier_index(problem)
    opened = [np.zeros(t.size, dtype=bool) for t in problem.tiers]
    unknown = []
    for fid in map(str, fac["facility_id"]):
        tier, _, raw = fid.partition(":")
        if tier not in tiers or raw not in index[tiers[tier]]:
            unknown.append(fid)
            continue
        opened[tiers[tier]][index[tiers[tier]][raw]] = True
    checks.add("facilities are candidate sites of their tier", f"unknown: {', '.join(unknown[:5])}" if unknown else None)
    return opened


def _links_used(problem: Any, asg: Any, checks: Any) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Links used and their flows per tier, from the assignments layer, checking distances and costs."""
    tiers, index = _tier_index(problem)
    T = problem.n_tiers
    used = [np.zeros(len(lk), dtype=bool) for lk in problem.links]
    flow = [np.zeros(len(lk)) for lk in problem.links]
    demand_ix = {str(x): i for i, x in enumerate(problem.demand_ids)}
    bad_rows, off_dist, off_cost = [], [], []
    # links: (child, parent) -> position, per tier
    pos = [{(int(c), int(p)): k for k, (c, p) in enumerate(zip(lk.child, lk.parent))} for lk in problem.links]
    for r in range(len(asg)):
        to_tier, _, to_raw = str(asg["to_id"].iloc[r]).partition(":")
        fr_tier, _, fr_raw = str(asg["from_id"].iloc[r]).partition(":")
        t = tiers.get(to_tier, -1)
        if t < 0 or to_raw not in index[t]:
            bad_rows.append(r)
            continue
        if t == T - 1:
            child = demand_ix.get(fr_raw) if fr_tier == "demand" else None
        else:
            child = index[t + 1].get(fr_raw) if fr_tier == problem.tiers[t + 1].name else None
        k = pos[t].get((child, index[t][to_raw])) if child is not None else None
        if k is None:
            bad_rows.append(r)
            continue
        used[t][k] = True
        flow[t][k] += float(asg["volume"].iloc[r])
        lk, tier = problem.links[t], problem.tiers[t]
        d = float(asg["distance_km"].iloc[r])
        if not math.isclose(d, lk.distance_km[k], rel_tol=_REL, abs_tol=1e-9):
            off_dist.append(f"{asg['from_id'].iloc[r]} -> {asg['to_id'].iloc[r]}: {d:.6g} km in the file, "
                            f"{lk.distance_km[k]:.6g} km from the inputs")
        want = float(asg["volume"].iloc[r]) * (lk.distance_km[k] * tier.transport_cost_cny_per_unit_km
                                                + tier.handling_cost_cny_per_unit[lk.parent[k]])
        if not math.isclose(float(asg["cost_cny"].iloc[r]), want, rel_tol=_REL, abs_tol=1e-6):
            off_cost.append(f"row {r + 1}")
    checks.add("every assignment is an allowed link of the rebuilt network",
               f"{len(bad_rows)} rows, e.g. {asg['from_id'].iloc[bad_rows[0]]} -> {asg['to_id'].iloc[bad_rows[0]]}"
               if bad_rows else None)
    checks.add("assignment distances match the distances recomputed from the inputs",
               show_some(off_dist, 3, sep="; ") if off_dist else None)
    checks.add("assignment costs = volume x (distance x transport rate + handling rate)",
               f"{len(off_cost)} rows, e.g. {off_cost[0]}" if off_cost else None)
    return used, flow


def _summary_agrees(problem: Any, result: Any, verdict: Any, summary: dict[str, Any], fac: Any,
                    checks: Any) -> None:
    """summary.json's facility ids, objective and cost breakdown against the recomputed solution."""
    from siting.network.verify import network_costs

    sid = sorted(map(str, summary.get("facility_ids", [])))
    lid = sorted(map(str, fac["facility_id"]))
    checks.add("summary.json facility_ids = facilities layer",
               None if sid == lid else f"{len(sid)} in summary.json, {len(lid)} in the layer")
    rep = summary.get("objective")
    obj = verdict.objective_recomputed
    if rep is not None and math.isfinite(obj):
        checks.add("objective recomputed from solution.gpkg equals summary.json's",
                   None if math.isclose(obj, rep, rel_tol=_REL, abs_tol=1e-6) else
                   f"recomputed {obj:.10g}, summary.json {rep:.10g}")
    costs = network_costs(problem, result)
    given = summary.get("cost_cny", {}) or {}
    off = []
    for tier, c in costs.items():
        for kind, v in c.items():
            g = (given.get(tier) or {}).get(kind)
            if g is None or not math.isclose(float(g), v, rel_tol=1e-6, abs_tol=0.01):
                off.append(f"{tier}.{kind}: summary {g}, recomputed {v:.2f}")
    checks.add("summary.json cost breakdown = costs recomputed by tier and type", "; ".join(off[:4]) or None)
