from __future__ import annotations

import json

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


REL_TOL = 1e-6


DEG_TOL = 1e-6  # degrees: line end points written from the same coordinates


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


class Checks:
    def __init__(self) -> None:
        self.items: list[Check] = []

    def add(self, name: str, problem: str | None) -> bool:
        self.items.append(Check(name, not problem, problem or ""))
        return not problem


def values_close(a: float | None, b: float | None, rel: float = REL_TOL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    a, b = float(a), float(b)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def show_some(items: list[Any], n: int = 5, *, sep: str = ", ") -> str:
    more = f" (+{len(items) - n} more)" if len(items) > n else ""
    return sep.join(map(str, items[:n])) + more


def read_layers(run_dir: Path, checks: Checks) -> dict[str, Any] | None:
    import pyogrio

    path = run_dir / "solution.gpkg"
    try:
        layers = {name: pyogrio.read_dataframe(path, layer=name) for name in ("facilities", "assignments", "demand")}
    except Exception as exc:  # pyogrio/GDAL raise many types; all mean "cannot read"
        checks.add("solution.gpkg readable (layers facilities, assignments, demand)", " ".join(str(exc).split()))
        return None
    checks.add("solution.gpkg readable (layers facilities, assignments, demand)", None)
    return layers


def read_summary(run_dir: Path, checks: Checks) -> dict[str, Any] | None:
    try:
        data = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        checks.add("summary.json readable", " ".join(str(exc).split()))
        return None
    checks.add("summary.json readable", None)
    return data


def certificate_vs_summary(cert: dict[str, Any], summary: dict[str, Any], checks: Checks) -> None:
    diffs = []
    for key in ("status", "termination"):
        if cert.get(key) != summary.get(key):
            diffs.append(f"{key}: summary {summary.get(key)!r}, manifest {cert.get(key)!r}")
    for key in ("objective", "bound", "gap"):
        if not values_close(cert.get(key), summary.get(key)):
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
               None if verification.get("ok") else f"recorded problems: {show_some(verification.get('problems', []))}")


def read_certificate(manifest: dict[str, Any], checks: Checks) -> Any:
    """The run's certificate (``manifest.json``) as a :class:`~siting.core.results.SolveInfo`; ``None`` (and a
    failed "certificate readable" check) when it cannot be read."""
    from siting.core.results import SolveInfo

    try:
        return SolveInfo.from_dict(manifest.get("certificate", {}))
    except ValueError as exc:
        checks.add("certificate readable", str(exc))
        return None
