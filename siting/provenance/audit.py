"""Re-check a finished run from its files alone (``siting verify RUN_DIR``).

:func:`audit` reads ``manifest.json``, checks that every input file named there still has the recorded
SHA-256 (and that ``summary.json`` and ``solution.gpkg`` are the files the run wrote), rebuilds the problem
from the inputs exactly as the run did, reconstructs the solution from the GeoPackage layers (open sites
from ``facilities``; the allocation of every demand from ``assignments``), checks the layers against the
inputs (ids, distances, line end points, volumes, costs, weights), runs the independent verifier
(:func:`siting.single.verify.verify` for ``locate`` runs; :mod:`siting.network.verify` for scenario runs) and
compares the recomputed objective and counts with ``summary.json`` and the manifest's certificate.

Every check is reported, passed or failed; nothing is fixed or rewritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from siting.provenance.manifest import file_sha256, read_manifest
from siting.provenance.checks import AuditReport, certificate_vs_summary, Checks, read_layers, read_summary
from siting.provenance.audit_locate import audit_locate


def _inputs(manifest: dict[str, Any], checks: Checks) -> bool:
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


def _outputs(run_dir: Path, manifest: dict[str, Any], checks: Checks) -> None:
    for name, digest in (manifest.get("outputs") or {}).items():
        path = run_dir / name
        if not path.is_file():
            checks.add(f"{name} present", f"{path} is missing")
            continue
        now = file_sha256(path)
        checks.add(f"{name} is the file the run wrote", None if now == digest else
                   f"sha256 {now[:12]}... differs from the manifest's {str(digest)[:12]}... (edited after the run)")








def _audit_run(run_dir: Path, manifest: dict[str, Any], checks: Checks) -> None:
    from siting.provenance.audit_network import audit_network_run

    audit_network_run(run_dir, manifest, checks, summary=read_summary(run_dir, checks),
                      layers=read_layers(run_dir, checks), compare=certificate_vs_summary)


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
    checks = Checks()
    checks.add("manifest.json readable", None)
    _outputs(run_dir, manifest, checks)
    if not _inputs(manifest, checks):
        checks.add("problem rebuilt from the inputs", "skipped: an input file is missing or has changed")
        return AuditReport(run_dir, manifest["kind"], tuple(checks.items))
    if manifest["kind"] == "locate":
        audit_locate(run_dir, manifest, checks)
    else:
        _audit_run(run_dir, manifest, checks)
    return AuditReport(run_dir, manifest["kind"], tuple(checks.items))
