"""A deterministic stand-in run function for sweep tests of the grid, executors, resume and CSV logic.

It is no model: it computes a made-up summary from the overrides so that tests of the sweep machinery run in
milliseconds. The sweep's integration with the real pipeline is tested with ``models/example.toml``. It lives
in an importable module (not a test file) so that spawned worker processes and Dask workers can unpickle it.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from siting.core.errors import InfeasibleError

RADIUS = "tiers.collection.radius_km"


def fake_run(path, *, overrides, out_dir, options):
    """Pretend to solve: cost falls with the radius; radius < 0 is infeasible input, radius 13 crashes."""
    out_dir = Path(out_dir)
    sweep_dir = out_dir.parents[1]
    with open(sweep_dir / "calls.log", "a", encoding="utf-8") as fh:  # one line per call, any process
        fh.write(f"{os.getpid()} {out_dir.name}\n")
    radius = float(overrides.get(RADIUS, 10))
    if radius < 0:
        raise InfeasibleError(f"township T1 has no collection-point candidate within {radius} km")
    if radius == 13:
        raise RuntimeError("solver crashed\nsecond line")
    delay = float(overrides.get("delay_s", 0))
    if delay:
        time.sleep(delay)
    growth = float(overrides.get("demand.year", 2024)) - 2024
    cost = 1000.0 / radius * (1 + 0.1 * growth)
    summary = {
        "scenario": Path(path).stem,
        "status": "optimal",
        "termination": "optimal",
        "objective": cost,
        "bound": cost,
        "gap": 0.0,
        "seconds": 0.01,
        "facility_ids": ["a", "b"],
        "counts_by_tier": {"hub": 1, "collection": int(100 // radius)},
        "cost_cny": {"hub": {"fixed": 1.0, "transport": cost - 1.0}, "total": cost},
        "coverage": {"covered_share": min(1.0, radius / 20), "max_distance_km": radius},
        "options": {"threads": options.threads},
    }
    out_dir.mkdir(parents=True, exist_ok=False)  # like write_run, refuse an existing directory
    (out_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return summary


def calls(sweep_dir: Path) -> list[str]:
    """Run ids the fake was called for, in call order."""
    log = Path(sweep_dir) / "calls.log"
    if not log.exists():
        return []
    return [line.split()[1] for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def fake_coverage_run(path, *, overrides, out_dir, options):
    """Pretend to maximise covered demand under a budget: ten sites of cost 100 each cover 10, 9, 8, ... units."""
    out_dir = Path(out_dir)
    with open(out_dir.parents[1] / "calls.log", "a", encoding="utf-8") as fh:
        fh.write(f"{os.getpid()} {out_dir.name}\n")
    if overrides.get("objective.kind") != "coverage":
        raise AssertionError("the frontier must run the coverage mode")
    budget = float(overrides["objective.budget_cny_per_year"])
    if budget < 0:
        raise InfeasibleError("budget must be >= 0")
    k = min(10, int(budget // 100))
    covered = float(sum(range(10, 10 - k, -1)))
    summary = {
        "status": "optimal",
        "termination": "optimal",
        "objective": covered,
        "bound": covered,
        "gap": 0.0,
        "seconds": 0.01,
        "counts_by_tier": {"point": k},
        "cost_cny": {"total": 100.0 * k},
        "coverage": {"share_served": covered / 55.0},
    }
    out_dir.mkdir(parents=True, exist_ok=False)
    (out_dir / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return summary
