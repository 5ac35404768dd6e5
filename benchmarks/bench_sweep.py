"""Sweep speed-up: the same runs one after another (``serial``) against parallel workers (``local``, ``dask``).

Usage (from the repository root)::

    /work/venv/bin/python benchmarks/bench_sweep.py                      # chongqing-express, 8 runs, 2 workers
    /work/venv/bin/python benchmarks/bench_sweep.py --dask               # also on a Dask LocalCluster
    /work/venv/bin/python benchmarks/bench_sweep.py --quick              # models/example.toml, seconds

Every executor writes to a fresh directory (``--overwrite``), so each one solves every run. The script checks
that all executors produced the same table (apart from ``seconds``) and prints wall times and the speed-up
over ``serial``. On a machine shared with other work the figures are noisy: run it on an idle machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: default grid: 4 collection radii x 2 planning years = 8 runs of the express network
DEFAULT_SETS = ("tiers.collection.radius_km=12,15,20,25", "scenario.year=2024,2027")
QUICK_SETS = ("tiers.collection.radius_km=8,10,12,15", "scenario.year=2024,2027")


def _csv(frame) -> str:
    return frame.drop(columns="seconds").to_csv(index=False)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scenario", type=Path, default=None, help="default models/chongqing-express.toml")
    ap.add_argument("--set", dest="sets", action="append", default=None, metavar="KEY=V1,V2",
                    help=f"grid (default: {' '.join(DEFAULT_SETS)})")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-limit", type=float, default=60.0, help="per run, seconds (default 60)")
    ap.add_argument("--gap", type=float, default=None, help="relative MIP gap (default: the scenario's)")
    ap.add_argument("--dask", action="store_true", help="also run on a Dask LocalCluster (loopback)")
    ap.add_argument("--quick", action="store_true", help="the small example scenario: checks the script, not speed")
    ap.add_argument("--out", type=Path, default=None, help="work directory (default: a temporary one)")
    args = ap.parse_args(argv)

    import pandas as pd

    from siting.sweep.runner import run_sweep, sweep_grid

    scenario = args.scenario or ROOT / "models" / ("example.toml" if args.quick else "chongqing-express.toml")
    sets = args.sets or list(QUICK_SETS if args.quick else DEFAULT_SETS)
    grid = sweep_grid(scenario, sets)
    work = args.out or Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    executors = [("serial", 1), ("local", args.workers)] + ([("dask", args.workers)] if args.dask else [])
    print(f"# sweep benchmark: {scenario.name}, {len(grid)} runs over {', '.join(grid.keys)}; "
          f"{os.cpu_count()} CPUs; time limit {args.time_limit:g} s per run; work dir {work}", flush=True)
    solver = {"time_limit_s": args.time_limit} | ({"mip_rel_gap": args.gap} if args.gap is not None else {})
    results = {}
    for name, workers in executors:
        t0 = time.perf_counter()
        res = run_sweep(scenario, grid, out_dir=work / name, executor=name, workers=workers, overwrite=True,
                        solver=solver, plots=False)
        wall = time.perf_counter() - t0
        results[name] = (workers, wall, res)
        print(f"#   {name:<6} done in {wall:7.1f} s", flush=True)

    base = results["serial"][1]
    ref = results["serial"][2].table
    # only runs that stopped on the gap are reproducible; a run stopped by the (wall-clock) time limit keeps
    # whatever incumbent it had, which depends on the machine's load
    exact = ref["termination"].eq("optimal").to_numpy()
    print()
    print("| executor | workers | runs | stopped on gap | failed | sum of run times (s) | wall (s) | speed-up | "
          "same rows (gap-stopped runs) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---|")
    ok = True
    for name, (workers, wall, res) in results.items():
        t = res.table
        both = exact & t["termination"].eq("optimal").to_numpy()
        same = _csv(t[both]) == _csv(ref[both])  # as written to sweep.csv (dtypes follow the failed rows)
        ok &= same
        busy = float(pd.to_numeric(t["seconds"], errors="coerce").fillna(0).sum())
        print(f"| {name} | {workers} | {len(t)} | {int(t['termination'].eq('optimal').sum())} | {res.failed} | "
              f"{busy:.1f} | {wall:.1f} | {base / wall:.2f}x | {'yes' if same else 'NO'} ({int(both.sum())}) |")
    statuses = ref["termination"].value_counts(dropna=False).to_dict()
    print(f"\nrun terminations (serial): {statuses}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
