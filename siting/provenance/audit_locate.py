"""Audit of a ``siting locate`` run directory (part of ``siting verify``, :mod:`siting.provenance.audit`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from siting.core.errors import InputError
from siting.core.problem import Problem
from siting.model import MODELS
from siting.provenance.checks import read_certificate, Checks, DEG_TOL, values_close, show_some
from siting.provenance.checks import certificate_vs_summary, read_layers, read_summary, REL_TOL


def audit_locate(run_dir: Path, manifest: dict[str, Any], checks: Checks) -> None:
    """Audit a ``siting locate`` run: rebuild the problem from the inputs named in ``manifest``, check every
    layer of ``solution.gpkg`` against it, and re-run the independent verifier on the solution read back."""
    problem, dem, cand = _rebuild_problem(manifest["parameters"], checks)
    if problem is None:
        return
    summary = read_summary(run_dir, checks)
    layers = read_layers(run_dir, checks)
    if layers is None:
        return
    fac, asg, dmd = layers["facilities"], layers["assignments"], layers["demand"]
    fids = [str(v) for v in fac["facility_id"]]
    open_ = _open_sites(problem, fids, checks)
    alloc = _allocation(problem, asg, checks)
    _check_lines(problem, asg, alloc, dem, cand, checks)
    prm = manifest["parameters"]
    model = prm["model"]
    params = dict(prm.get("params", {}))
    spec = MODELS.get(model)
    if spec is not None and spec.priced:
        rate = float(params.get("cost_per_unit_km", 1.0))
        cost = asg["cost_cny"].to_numpy(np.float64)[alloc.rows]
        bad_cost = np.flatnonzero(~np.isclose(cost, rate * alloc.vol * alloc.dist, rtol=REL_TOL, atol=1e-6))
        checks.add("assignment costs = rate x volume x distance",
                   None if not len(bad_cost) else f"{len(bad_cost)} rows, e.g. row {alloc.rows[bad_cost[0]] + 1}")
    _check_facilities(problem, fac, fids, alloc, checks)
    _check_demand_layer(problem, dmd, alloc, checks)
    _verify_and_compare(problem, manifest, model, params, open_, alloc.x, summary, fids, checks)


@dataclass
class _Allocation:
    """The assignments layer read back onto the problem's pairs."""

    rows: np.ndarray  # rows of the layer that are allowed pairs
    pair: np.ndarray  # their pair index
    vol: np.ndarray  # their volume
    dist: np.ndarray  # the pair distance recomputed from the inputs
    x: np.ndarray  # fraction of each pair's demand served


def _rebuild_problem(prm: dict[str, Any], checks: Checks) -> tuple[Any, Any, Any]:
    from siting.geo.adapt import problem_from_files

    files, cols = prm.get("files", {}), prm.get("columns", {})
    try:
        problem, dem, cand = problem_from_files(
            files["demand"], files["candidates"], id_col=cols.get("id"), weight_col=cols.get("weight"),
            name_col=cols.get("name"), fixed_col=cols.get("fixed_cost"), cap_col=cols.get("capacity"),
            req_col=cols.get("required"), forb_col=cols.get("forbidden"), od_matrix=files.get("od_matrix"),
            max_distance_km=prm.get("max_distance_km"), circuity=prm.get("circuity"), **prm.get("reading", {}))
    except (InputError, KeyError) as exc:
        checks.add("problem rebuilt from the inputs", " | ".join(exc.lines()) if isinstance(exc, InputError)
                   else f"manifest lacks {exc}")
        return None, None, None
    checks.add("problem rebuilt from the inputs", None)
    return problem, dem, cand


def _open_sites(problem: Problem, fids: list[str], checks: Checks) -> np.ndarray:
    cid = {str(c): j for j, c in enumerate(problem.candidate_ids)}
    unknown = [f for f in fids if f not in cid]
    dup = sorted({f for f in fids if fids.count(f) > 1})
    checks.add("facilities are distinct candidate sites of the input",
               "; ".join(filter(None, [unknown and f"not candidates: {show_some(unknown)}",
                                       dup and f"listed twice: {show_some(dup)}"])) or None)
    return np.array(sorted({cid[f] for f in fids if f in cid}), dtype=np.int64)


def _allocation(problem: Problem, asg: Any, checks: Checks) -> _Allocation:
    """Join the assignments layer to the problem's pairs, checking ids, pairs and distances."""
    cid = {str(c): j for j, c in enumerate(problem.candidate_ids)}
    did = {str(d): i for i, d in enumerate(problem.demand_ids)}
    n, m, k = problem.n_demand, problem.n_candidates, problem.n_pairs
    fi = np.array([did.get(str(v), -1) for v in asg["from_id"]], dtype=np.int64)
    tj = np.array([cid.get(str(v), -1) for v in asg["to_id"]], dtype=np.int64)
    bad_ids = np.flatnonzero((fi < 0) | (tj < 0))
    checks.add("assignments join input demand points to input sites",
               None if not len(bad_ids) else
               f"{len(bad_ids)} rows with unknown ids, e.g. {asg['from_id'].iloc[bad_ids[0]]} -> "
               f"{asg['to_id'].iloc[bad_ids[0]]}")
    key = problem.pair_demand * max(m, 1) + problem.pair_candidate
    want = np.where((fi >= 0) & (tj >= 0), fi * max(m, 1) + tj, -1)
    pos = np.searchsorted(key, want)
    pos_c = np.clip(pos, 0, max(k - 1, 0))
    allowed = (want >= 0) & (k > 0) & (key[pos_c] == want if k else False)
    not_allowed = np.flatnonzero((want >= 0) & ~allowed)
    checks.add("every assignment is an allowed pair (within the cutoff / listed in the OD matrix)",
               None if not len(not_allowed) else
               f"{len(not_allowed)} pairs, e.g. {asg['from_id'].iloc[not_allowed[0]]} -> "
               f"{asg['to_id'].iloc[not_allowed[0]]}")
    rows = np.flatnonzero(allowed)
    pair = pos[rows]
    dup_pairs = len(pair) - len(np.unique(pair))
    checks.add("no pair assigned twice", None if not dup_pairs else f"{dup_pairs} repeated rows")
    dist_file = asg["distance_km"].to_numpy(np.float64)[rows]
    dist_true = problem.distance_km[pair]
    off = np.flatnonzero(~np.isclose(dist_file, dist_true, rtol=REL_TOL, atol=1e-9))
    checks.add("assignment distances match the distances recomputed from the inputs",
               None if not len(off) else
               "; ".join(f"{problem.demand_ids[problem.pair_demand[pair[r]]]} -> "
                         f"{problem.candidate_ids[problem.pair_candidate[pair[r]]]}: {dist_file[r]:.6g} km in the "
                         f"file, {dist_true[r]:.6g} km from the inputs" for r in off[:3])
               + (f" (+{len(off) - 3} more)" if len(off) > 3 else ""))
    vol = asg["volume"].to_numpy(np.float64)[rows]
    w = problem.weight
    pi = problem.pair_demand[pair]
    x = np.zeros(k)
    counts = np.bincount(pi, minlength=n)
    x[pair] = np.where(w[pi] > 0, vol / np.where(w[pi] > 0, w[pi], 1.0), 1.0 / np.maximum(counts[pi], 1))
    return _Allocation(rows, pair, vol, dist_true, x)


def _check_lines(problem: Problem, asg: Any, alloc: _Allocation, dem: Any, cand: Any, checks: Checks) -> None:
    """Each assignment line runs from its demand point to its site."""
    dx, dy = dem.geometry.x.to_numpy(), dem.geometry.y.to_numpy()
    cx, cy = cand.geometry.x.to_numpy(), cand.geometry.y.to_numpy()
    geo_bad = []
    for r, p in zip(alloc.rows, alloc.pair):
        g = asg.geometry.iloc[r]
        if g is None or g.is_empty:
            geo_bad.append(r)
            continue
        c = np.asarray(g.coords)
        i, j = problem.pair_demand[p], problem.pair_candidate[p]
        if not (np.allclose(c[0], [dx[i], dy[i]], atol=DEG_TOL) and np.allclose(c[-1], [cx[j], cy[j]], atol=DEG_TOL)):
            geo_bad.append(r)
    checks.add("assignment lines run from the demand point to the site",
               None if not geo_bad else f"{len(geo_bad)} lines, e.g. row {geo_bad[0] + 1}")


def _check_facilities(problem: Problem, fac: Any, fids: list[str], alloc: _Allocation, checks: Checks) -> None:
    cid = {str(c): j for j, c in enumerate(problem.candidate_ids)}
    in_fac = np.array([cid.get(f, -1) for f in fids])
    load = np.bincount(problem.pair_candidate[alloc.pair], weights=alloc.vol, minlength=problem.n_candidates)
    fac_bad = []
    for r, j in enumerate(in_fac):
        if j < 0:
            continue
        if not values_close(fac["fixed_cost_cny"].iloc[r], problem.fixed_cost_cny[j]):
            fac_bad.append(f"{fids[r]} fixed_cost_cny {fac['fixed_cost_cny'].iloc[r]} vs {problem.fixed_cost_cny[j]}")
        if not values_close(fac["volume"].iloc[r], load[j]):
            fac_bad.append(f"{fids[r]} volume {fac['volume'].iloc[r]} vs assigned {load[j]:.6g}")
        if bool(fac["required"].iloc[r]) != bool(problem.required[j]):
            fac_bad.append(f"{fids[r]} required flag differs from the input")
    checks.add("facility costs, volumes and flags match the inputs and assignments", show_some(fac_bad, 3) or None)


def _check_demand_layer(problem: Problem, dmd: Any, alloc: _Allocation, checks: Checks) -> None:
    did = {str(d): i for i, d in enumerate(problem.demand_ids)}
    dids = [str(v) for v in dmd["demand_id"]]
    dem_bad = []
    if sorted(dids) != sorted(map(str, problem.demand_ids)):
        dem_bad.append(f"demand ids differ from the input ({len(dids)} in the file, {problem.n_demand} in the input)")
    else:
        wi = dmd["weight"].to_numpy(np.float64)
        idx = np.array([did[d] for d in dids])
        wrong_w = np.flatnonzero(~np.isclose(wi, problem.weight[idx], rtol=REL_TOL))
        if len(wrong_w):
            dem_bad.append(f"weights differ from the input for {show_some([dids[r] for r in wrong_w])}")
        served: dict[int, set[str]] = {}
        for i, j in zip(problem.pair_demand[alloc.pair], problem.pair_candidate[alloc.pair]):
            served.setdefault(int(i), set()).add(str(problem.candidate_ids[j]))
        for r, d in enumerate(dids):
            a = dmd["assigned_to"].iloc[r]
            a = None if a is None or (isinstance(a, float) and math.isnan(a)) else str(a)
            s = served.get(did[d], set())
            if (a is None) != (not s) or (a is not None and a not in s):
                dem_bad.append(f"{d} assigned_to {a!r} but the assignments give {sorted(s) or 'none'}")
    checks.add("demand layer agrees with the inputs and the assignments", show_some(dem_bad, 3) or None)


def _verify_and_compare(problem: Problem, manifest: dict[str, Any], model: str, params: dict[str, Any],
                        open_: np.ndarray, x: np.ndarray, summary: dict[str, Any] | None, fids: list[str],
                        checks: Checks) -> None:
    """The independent verifier on the reconstructed solution, then summary.json against it."""
    from siting.core.results import Result, SolutionStatus
    from siting.single.verify import verify

    cert = manifest.get("certificate", {})
    info = read_certificate(manifest, checks)
    if info is None:
        return
    verdict = verify(problem, Result(model, info, open_, x, params))
    failed = {p.split(":", 1)[0]: p.split(":", 1)[1].strip() if ":" in p else p for p in verdict.problems}
    for name in verdict.checks:
        checks.add(f"verifier: {name}", failed.get(name))
    if summary is None:
        return
    certificate_vs_summary(cert, summary, checks)
    sid = sorted(map(str, summary.get("facility_ids", [])))
    checks.add("summary.json facility_ids = facilities layer",
               None if sid == sorted(fids) else f"summary {show_some(sid)}; layer {show_some(sorted(fids))}")
    rep = summary.get("objective")
    if rep is not None and math.isfinite(verdict.objective):
        if info.status is SolutionStatus.OPTIMAL:
            ok = values_close(verdict.objective, rep)
        else:
            tol = 1e-6 * max(1.0, abs(rep))
            ok = verdict.objective <= rep + tol if info.sense == "min" else verdict.objective >= rep - tol
        checks.add("objective recomputed from solution.gpkg equals summary.json's",
                   None if ok else f"recomputed {verdict.objective:.10g}, summary.json {rep:.10g}")
    cov = summary.get("coverage", {}) or {}
    total = cov.get("demand_total", cov.get("total_weight"))  # summary schema 2, or 1 (old runs)
    if total is not None:
        w_total = float(problem.weight.sum())
        checks.add("summary.json total demand weight = input",
                   None if values_close(total, w_total) else f"{total} vs {w_total}")
