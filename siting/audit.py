"""Re-check a finished run from its files alone (``siting verify RUN_DIR``).

:func:`audit` reads ``manifest.json``, checks that every input file named there still has the recorded
SHA-256 (and that ``summary.json`` and ``solution.gpkg`` are the files the run wrote), rebuilds the problem
from the inputs exactly as the run did, reconstructs the solution from the GeoPackage layers (open sites
from ``facilities``; the allocation of every demand from ``assignments``), checks the layers against the
inputs (ids, distances, line end points, volumes, costs, weights), runs the independent verifier
(:func:`siting.verify.verify` for ``locate`` runs; :mod:`siting.verify_network` for scenario runs) and
compares the recomputed objective and counts with ``summary.json`` and the manifest's certificate.

Every check is reported, passed or failed; nothing is fixed or rewritten.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .manifest import file_sha256, read_manifest

__all__ = ["Check", "AuditReport", "audit"]

_REL = 1e-6
_DEG = 1e-6  # degrees: line end points written from the same coordinates


@dataclass(frozen=True)
class Check:
    """One check of an audit: its name, whether it passed, and what was found when it did not."""

    name: str
    ok: bool
    detail: str = ""

    def __str__(self) -> str:
        return f"ok    {self.name}" if self.ok else f"FAIL  {self.name}: {' '.join(self.detail.split())}"


@dataclass(frozen=True)
class AuditReport:
    """Outcome of :func:`audit`."""

    run_dir: Path
    kind: str
    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failed(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)

    def lines(self) -> list[str]:
        """One line per check, then a verdict line."""
        verdict = (f"verified: all {len(self.checks)} checks passed" if self.ok else
                   f"FAILED: {len(self.failed)} of {len(self.checks)} checks failed")
        return [str(c) for c in self.checks] + [verdict]


class _Checks:
    def __init__(self) -> None:
        self.items: list[Check] = []

    def add(self, name: str, problem: str | None) -> bool:
        self.items.append(Check(name, not problem, problem or ""))
        return not problem


def _close(a: float | None, b: float | None, rel: float = _REL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def _show(items: list[Any], n: int = 5, *, sep: str = ", ") -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return sep.join(map(str, items[:n])) + more


def _inputs(manifest: dict[str, Any], checks: _Checks) -> bool:
    ok = True
    for rec in manifest.get("inputs", []):
        path = Path(rec.get("path", ""))
        name = f"input {rec.get('role')} {path.name} unchanged since the run"
        if not path.is_file():
            ok &= checks.add(name, f"{path} is missing")
            continue
        digest = file_sha256(path)
        ok &= checks.add(name, None if digest == rec.get("sha256") else
                         f"{path} has changed: sha256 {digest[:12]}..., the manifest records "
                         f"{str(rec.get('sha256'))[:12]}...; re-run, or restore the original file")
    return ok


def _outputs(run_dir: Path, manifest: dict[str, Any], checks: _Checks) -> None:
    for name, digest in (manifest.get("outputs") or {}).items():
        path = run_dir / name
        if not path.is_file():
            checks.add(f"{name} present", f"{path} is missing")
            continue
        now = file_sha256(path)
        checks.add(f"{name} is the file the run wrote", None if now == digest else
                   f"sha256 {now[:12]}... differs from the manifest's {str(digest)[:12]}... (edited after the run)")


def _read_layers(run_dir: Path, checks: _Checks) -> dict[str, Any] | None:
    import pyogrio

    path = run_dir / "solution.gpkg"
    try:
        layers = {name: pyogrio.read_dataframe(path, layer=name) for name in ("facilities", "assignments", "demand")}
    except Exception as exc:  # pyogrio/GDAL raise many types; all mean "cannot read"
        checks.add("solution.gpkg readable (layers facilities, assignments, demand)", " ".join(str(exc).split()))
        return None
    checks.add("solution.gpkg readable (layers facilities, assignments, demand)", None)
    return layers


def _summary(run_dir: Path, checks: _Checks) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        checks.add("summary.json readable", " ".join(str(exc).split()))
        return None
    checks.add("summary.json readable", None)
    return data


def _certificate_vs_summary(cert: dict[str, Any], summary: dict[str, Any], checks: _Checks) -> None:
    diffs = []
    for key in ("status", "termination"):
        if cert.get(key) != summary.get(key):
            diffs.append(f"{key}: summary {summary.get(key)!r}, manifest {cert.get(key)!r}")
    for key in ("objective", "bound", "gap"):
        if not _close(cert.get(key), summary.get(key)):
            diffs.append(f"{key}: summary {summary.get(key)!r}, manifest {cert.get(key)!r}")
    checks.add("summary.json agrees with the manifest's certificate", "; ".join(diffs) or None)
    obj, bound, sense = cert.get("objective"), cert.get("bound"), cert.get("sense", "min")
    if obj is not None and bound is not None:
        tol = 1e-6 * max(1.0, abs(obj))
        ok = bound <= obj + tol if sense == "min" else bound >= obj - tol
        checks.add("bound on the right side of the objective",
                   None if ok else f"{sense}imisation with objective {obj:.10g} and bound {bound:.10g}")
        gap = cert.get("gap")
        if gap is not None:
            want = abs(obj - bound) / max(abs(obj), 1e-9)
            checks.add("gap = |objective - bound| / |objective|",
                       None if abs(gap - want) <= 1e-6 + 1e-6 * want else f"gap {gap:.6g}, recomputed {want:.6g}")
    verification = cert.get("verification") or {}
    checks.add("the run's own verification passed",
               None if verification.get("ok") else f"recorded problems: {_show(verification.get('problems', []))}")


# --- locate runs ---------------------------------------------------------------------------------------------


def _audit_locate(run_dir: Path, manifest: dict[str, Any], checks: _Checks) -> None:
    from .locate import problem_from_files
    from .results import Result, SolutionStatus, SolveInfo
    from .verify import verify

    prm = manifest["parameters"]
    files, cols = prm.get("files", {}), prm.get("columns", {})
    try:
        problem, dem, cand = problem_from_files(
            files["demand"], files["candidates"], id_col=cols.get("id"), weight_col=cols.get("weight"),
            name_col=cols.get("name"), fixed_col=cols.get("fixed_cost"), cap_col=cols.get("capacity"),
            req_col=cols.get("required"), forb_col=cols.get("forbidden"), od_matrix=files.get("od_matrix"),
            max_distance_km=prm.get("max_distance_km"), circuity=prm.get("circuity"))
    except (InputError, KeyError) as exc:
        checks.add("problem rebuilt from the inputs", " | ".join(exc.lines()) if isinstance(exc, InputError)
                   else f"manifest lacks {exc}")
        return
    checks.add("problem rebuilt from the inputs", None)
    summary = _summary(run_dir, checks)
    layers = _read_layers(run_dir, checks)
    if layers is None:
        return
    fac, asg, dmd = layers["facilities"], layers["assignments"], layers["demand"]
    cid = {str(c): j for j, c in enumerate(problem.candidate_ids)}
    did = {str(d): i for i, d in enumerate(problem.demand_ids)}
    n, m, k = problem.n_demand, problem.n_candidates, problem.n_pairs

    # open sites
    fids = [str(v) for v in fac["facility_id"]]
    unknown = [f for f in fids if f not in cid]
    dup = sorted({f for f in fids if fids.count(f) > 1})
    checks.add("facilities are distinct candidate sites of the input",
               "; ".join(filter(None, [unknown and f"not candidates: {_show(unknown)}",
                                       dup and f"listed twice: {_show(dup)}"])) or None)
    open_ = np.array(sorted({cid[f] for f in fids if f in cid}), dtype=np.int64)

    # allocation from the assignments layer
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
    off = np.flatnonzero(~np.isclose(dist_file, dist_true, rtol=_REL, atol=1e-9))
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
    # geometry: each line from its demand point to its site
    dx, dy = dem.geometry.x.to_numpy(), dem.geometry.y.to_numpy()
    cx, cy = cand.geometry.x.to_numpy(), cand.geometry.y.to_numpy()
    geo_bad = []
    for r, p in zip(rows, pair):
        g = asg.geometry.iloc[r]
        if g is None or g.is_empty:
            geo_bad.append(r)
            continue
        c = np.asarray(g.coords)
        i, j = problem.pair_demand[p], problem.pair_candidate[p]
        if not (np.allclose(c[0], [dx[i], dy[i]], atol=_DEG) and np.allclose(c[-1], [cx[j], cy[j]], atol=_DEG)):
            geo_bad.append(r)
    checks.add("assignment lines run from the demand point to the site",
               None if not geo_bad else f"{len(geo_bad)} lines, e.g. row {geo_bad[0] + 1}")
    model = prm["model"]
    params = dict(prm.get("params", {}))
    if model in ("uflp", "cflp", "cflp-ss"):
        rate = float(params.get("cost_per_unit_km", 1.0))
        cost = asg["cost_cny"].to_numpy(np.float64)[rows]
        bad_cost = np.flatnonzero(~np.isclose(cost, rate * vol * dist_true, rtol=_REL, atol=1e-6))
        checks.add("assignment costs = rate x volume x distance",
                   None if not len(bad_cost) else f"{len(bad_cost)} rows, e.g. row {rows[bad_cost[0]] + 1}")
    # facility attributes
    in_fac = np.array([cid.get(f, -1) for f in fids])
    load = np.bincount(problem.pair_candidate[pair], weights=vol, minlength=m)
    fac_bad = []
    for r, j in enumerate(in_fac):
        if j < 0:
            continue
        if not _close(fac["fixed_cost_cny"].iloc[r], problem.fixed_cost_cny[j]):
            fac_bad.append(f"{fids[r]} fixed_cost_cny {fac['fixed_cost_cny'].iloc[r]} vs {problem.fixed_cost_cny[j]}")
        if not _close(fac["volume"].iloc[r], load[j]):
            fac_bad.append(f"{fids[r]} volume {fac['volume'].iloc[r]} vs assigned {load[j]:.6g}")
        if bool(fac["required"].iloc[r]) != bool(problem.required[j]):
            fac_bad.append(f"{fids[r]} required flag differs from the input")
    checks.add("facility costs, volumes and flags match the inputs and assignments", _show(fac_bad, 3) or None)
    # demand layer
    dids = [str(v) for v in dmd["demand_id"]]
    dem_bad = []
    if sorted(dids) != sorted(map(str, problem.demand_ids)):
        dem_bad.append(f"demand ids differ from the input ({len(dids)} in the file, {n} in the input)")
    else:
        wi = dmd["weight"].to_numpy(np.float64)
        idx = np.array([did[d] for d in dids])
        wrong_w = np.flatnonzero(~np.isclose(wi, w[idx], rtol=_REL))
        if len(wrong_w):
            dem_bad.append(f"weights differ from the input for {_show([dids[r] for r in wrong_w])}")
        served = {}
        for i, j in zip(problem.pair_demand[pair], problem.pair_candidate[pair]):
            served.setdefault(int(i), set()).add(str(problem.candidate_ids[j]))
        for r, d in enumerate(dids):
            a = dmd["assigned_to"].iloc[r]
            a = None if a is None or (isinstance(a, float) and math.isnan(a)) else str(a)
            s = served.get(did[d], set())
            if (a is None) != (not s) or (a is not None and a not in s):
                dem_bad.append(f"{d} assigned_to {a!r} but the assignments give {sorted(s) or 'none'}")
    checks.add("demand layer agrees with the inputs and the assignments", _show(dem_bad, 3) or None)

    # the independent verifier on the reconstructed solution
    cert = manifest.get("certificate", {})
    try:
        info = SolveInfo.from_dict(cert)
    except ValueError as exc:
        checks.add("certificate readable", str(exc))
        return
    verdict = verify(problem, Result(model, info, open_, x, params))
    failed = {p.split(":", 1)[0]: p.split(":", 1)[1].strip() if ":" in p else p for p in verdict.problems}
    for name in verdict.checks:
        checks.add(f"verifier: {name}", failed.get(name))
    if summary is not None:
        _certificate_vs_summary(cert, summary, checks)
        sid = sorted(map(str, summary.get("facility_ids", [])))
        checks.add("summary.json facility_ids = facilities layer",
                   None if sid == sorted(fids) else f"summary {_show(sid)}; layer {_show(sorted(fids))}")
        rep = summary.get("objective")
        if rep is not None and math.isfinite(verdict.objective):
            if info.status is SolutionStatus.OPTIMAL:
                ok = _close(verdict.objective, rep)
            else:
                tol = 1e-6 * max(1.0, abs(rep))
                ok = verdict.objective <= rep + tol if info.sense == "min" else verdict.objective >= rep - tol
            checks.add("objective recomputed from solution.gpkg equals summary.json's",
                       None if ok else f"recomputed {verdict.objective:.10g}, summary.json {rep:.10g}")
        cov = summary.get("coverage", {}) or {}
        if "total_weight" in cov:
            checks.add("summary.json total demand weight = input",
                       None if _close(cov["total_weight"], float(w.sum())) else
                       f"{cov['total_weight']} vs {float(w.sum())}")


# --- scenario runs -------------------------------------------------------------------------------------------


def _audit_run(run_dir: Path, manifest: dict[str, Any], checks: _Checks) -> None:
    from ._audit_network import audit_network_run

    audit_network_run(run_dir, manifest, checks, summary=_summary(run_dir, checks),
                      layers=_read_layers(run_dir, checks), compare=_certificate_vs_summary)


def audit(run_dir: str | Path) -> AuditReport:
    """Re-check the run in ``run_dir`` from its files alone.

    Returns
    -------
    AuditReport
        Every check, passed or failed; ``report.ok`` is true when all passed.

    Raises
    ------
    InputError
        ``run_dir`` is not a run directory (no readable ``manifest.json``).
    """
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    checks = _Checks()
    checks.add("manifest.json readable", None)
    _outputs(run_dir, manifest, checks)
    if not _inputs(manifest, checks):
        checks.add("problem rebuilt from the inputs", "skipped: an input file is missing or has changed")
        return AuditReport(run_dir, manifest["kind"], tuple(checks.items))
    if manifest["kind"] == "locate":
        _audit_locate(run_dir, manifest, checks)
    else:
        _audit_run(run_dir, manifest, checks)
    return AuditReport(run_dir, manifest["kind"], tuple(checks.items))
