"""Multi-tier scenarios: time to a proven gap, and the effect of the formulation choices.

Each row runs one scenario (or one formulation variant of it) end to end in this process: scenario ->
NetworkProblem (data, sparse links) -> Pyomo model -> HiGHS -> independent verifier. Wall times are split
into data preparation, model build and solve. The target of issue 4: ``chongqing-express`` at township level
(1,031 demand points) at a gap of 0.5 % or better within 60 s on 2 cores.

Usage (from the repository root)::

    /work/venv/bin/python benchmarks/bench_multitier.py                         # both Chongqing scenarios
    /work/venv/bin/python benchmarks/bench_multitier.py --variants             # + formulation variants (slow)
    /work/venv/bin/python benchmarks/bench_multitier.py --scenarios models/example.toml --time-limit 10
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_one(path: Path, *, time_limit: float, gap: float, threads: int, strong: object = "auto",
            relax: bool = True) -> dict[str, object]:
    from siting.pipeline.run import solve_network
    from siting.scenario.build import build_problem
    from siting.scenario.load import load_scenario
    from siting.core.options import SolverOptions
    from siting.network.verify import verify_network

    t0 = time.perf_counter()
    scen = load_scenario(path)
    problem = build_problem(scen)
    prep = time.perf_counter() - t0
    opts = scen.solver_options(SolverOptions())
    from dataclasses import replace

    opts = replace(opts, time_limit_s=time_limit, mip_rel_gap=gap, threads=threads, verbose=False)
    r = solve_network(problem, options=opts, strong=strong, relax_assignments=relax)
    check = verify_network(problem, r) if r.has_solution else None
    sizes = problem.summary_sizes()["tiers"]
    return {
        "scenario": scen.name,
        "variant": f"strong={strong}, relax={relax}",
        "demand": problem.n_demand,
        "candidates": "/".join(str(v["candidates"]) for v in sizes.values()),
        "links": "/".join(str(v["links"]) for v in sizes.values()),
        "prep_s": prep,
        "build_s": r.info.build_seconds,
        "solve_s": r.info.solve_seconds,
        "status": r.info.status.value,
        "objective": r.info.objective,
        "bound": r.info.bound,
        "gap_pct": 100 * r.info.gap,
        "verified": None if check is None else check.ok,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="models/chongqing-express.toml,models/chongqing-cold-chain.toml")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--gap", type=float, default=0.005)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--variants", action="store_true", help="also run the weaker formulation variants")
    args = ap.parse_args()
    rows = []
    for s in args.scenarios.split(","):
        path = (REPO / s) if not Path(s).is_absolute() else Path(s)
        variants = [("auto", True)]
        if args.variants:
            variants += [("none", True), ("bottom", False)]
        for strong, relax in variants:
            rows.append(run_one(path, time_limit=args.time_limit, gap=args.gap, threads=args.threads,
                                strong=strong, relax=relax))
            r = rows[-1]
            print(f"{r['scenario']:<22} {r['variant']:<26} demand {r['demand']:>5}  cand {r['candidates']:<14} "
                  f"links {r['links']:<18} prep {r['prep_s']:5.1f}s build {r['build_s']:5.1f}s solve {r['solve_s']:6.1f}s "
                  f"{r['status']:<9} obj {r['objective']:>16,.0f} bound {r['bound']:>16,.0f} gap {r['gap_pct']:6.3f}% "
                  f"verified {r['verified']}", flush=True)


if __name__ == "__main__":
    main()
