"""Multi-tier scenarios: time to a proven gap, before and after, side by side in one run.

Each row runs one named variant end to end: scenario -> NetworkProblem (data, sparse links) -> Pyomo model ->
HiGHS (+ siting's own search) -> independent verifier (siting/network/verify.py). Wall times are split into
data preparation, model build and solve; ``CPU s`` is the process CPU time of build + solve + polish (with
``--threads 1`` it does not grow with the load of a shared machine, as the wall times do). The targets of issue 17 (goal 3), on 2 cores:

* ``cold-chain``: 0.5 % gap in <= 10 s;
* ``express-full`` (no park shortlist, no same-unit service rule: all 1,031 townships are park candidates
  and a township may be served across unit borders): 0.5 % in <= 60 s;
* the same with measured-circuity distances (``*-circuity`` rows: ``scenario.circuity = 1.67``, the
  stand-in until per-district detour factors land).

Variants (scenario file, keys removed, ``--set`` overrides):

==========================  ==========================================  =====================================
name                        scenario                                    change
==========================  ==========================================  =====================================
express                     models/chongqing-express.toml               as shipped (shortlist + same-unit)
express-full                models/chongqing-express.toml               no ``tiers.park.shortlist``, no
                                                                        ``tiers.collection.link_same``
cold-chain                  models/chongqing-cold-chain.toml            as shipped
*-circuity                  as above                                    ``scenario.circuity = 1.67``
==========================  ==========================================  =====================================

With ``--previous REF`` every row is also run with the code of git commit ``REF`` (extracted with
``git archive`` to a temporary directory), each run in its own subprocess with ``PYTHONPATH`` pointing at
one tree, the two versions alternating row by row, so that both see the same machine load. The scenario
files are this tree's for both. Each child checks that it imported ``siting`` from the tree it was given.

Usage (from the repository root)::

    .venv/bin/python benchmarks/bench_multitier.py                                  # default variants
    .venv/bin/python benchmarks/bench_multitier.py --variants cold-chain,express-full --previous 9617b3e
    .venv/bin/python benchmarks/bench_multitier.py --formulations                   # + weaker formulations
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

EXPRESS = "models/chongqing-express.toml"
COLD = "models/chongqing-cold-chain.toml"
FULL = ("tiers.park.shortlist", "tiers.collection.link_same")
CIRCUITY = {"scenario.circuity": 1.67}

#: name -> (scenario file relative to the repository, keys removed, dotted-key overrides)
VARIANTS: dict[str, tuple[str, tuple[str, ...], dict[str, object]]] = {
    "express": (EXPRESS, (), {}),
    "express-full": (EXPRESS, FULL, {}),
    "cold-chain": (COLD, (), {}),
    "express-circuity": (EXPRESS, (), CIRCUITY),
    "express-full-circuity": (EXPRESS, FULL, CIRCUITY),
    "cold-chain-circuity": (COLD, (), CIRCUITY),
}
DEFAULT = "express,cold-chain,express-full,cold-chain-circuity,express-full-circuity"


def load_variant(name: str) -> object:
    """The :class:`~siting.scenario.spec.Scenario` of variant ``name`` (keys removed, overrides applied)."""
    from siting.scenario.load import apply_overrides
    from siting.scenario.schema import parse_scenario

    rel, unset, sets = VARIANTS[name]
    path = REPO / rel
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    for key in unset:
        *head, last = key.split(".")
        node = raw
        for h in head:
            node = node[h]
        node.pop(last, None)
    if sets:
        raw = apply_overrides(raw, sets, file=str(path))
    return parse_scenario(raw, path=path, base_dir=path.parent)


def run_one(name: str, *, time_limit: float, gap: float, threads: int, strong: object = "auto",
            relax: bool = True) -> dict[str, object]:
    """Run variant ``name`` once in this process; a row of the table."""
    from dataclasses import replace

    import siting
    from siting.core.options import SolverOptions
    from siting.network.verify import verify_network
    from siting.pipeline.run import solve_network
    from siting.scenario.build import build_problem

    t0 = time.perf_counter()
    scen = load_variant(name)
    problem = build_problem(scen)
    prep = time.perf_counter() - t0
    opts = replace(scen.solver_options(SolverOptions()), time_limit_s=time_limit, mip_rel_gap=gap,
                   threads=threads, verbose=False)
    t1, c1 = time.perf_counter(), time.process_time()
    r = solve_network(problem, options=opts, strong=strong, relax_assignments=relax)
    wall, cpu = time.perf_counter() - t1, time.process_time() - c1
    check = verify_network(problem, r) if r.has_solution else None
    sizes = problem.summary_sizes()["tiers"]
    return {
        "variant": name, "formulation": f"strong={strong}, relax={relax}", "siting": str(Path(siting.__file__).parent),
        "demand": problem.n_demand,
        "candidates": "/".join(str(v["candidates"]) for v in sizes.values()),
        "links": "/".join(str(v["links"]) for v in sizes.values()),
        "prep_s": prep, "build_s": r.info.build_seconds, "solve_s": r.info.solve_seconds, "wall_s": wall, "cpu_s": cpu,
        "status": r.info.status.value, "objective": r.info.objective, "bound": r.info.bound,
        "gap_pct": 100 * r.info.gap, "verified": None if check is None else bool(check.ok),
    }


def _line(r: dict[str, object], version: str) -> str:
    return (f"| {r['variant']} | {version} | {r['candidates']} | {r['links']} | {r['prep_s']:.1f} | "
            f"{r['build_s']:.1f} | {r['solve_s']:.1f} | {r['wall_s']:.1f} | {r.get('cpu_s', float('nan')):.1f} | {r['status']} | {r['objective']:,.0f} | "
            f"{r['bound']:,.0f} | {r['gap_pct']:.3f} | {r['verified']} |")


HEADER = ("| variant | code | candidates | links | data s | build s | solve s | solve+polish wall s | CPU s | status | "
          "objective CNY/yr | bound CNY/yr | gap % | verified |\n|---|---|---|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|")


def _child(root: Path, name: str, args: argparse.Namespace) -> dict[str, object]:
    """Run one row in a subprocess that imports ``siting`` from ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--one", name, "--time-limit", str(args.time_limit),
           "--gap", str(args.gap), "--threads", str(args.threads)]
    out = subprocess.run(cmd, env=env, cwd=str(root), capture_output=True, text=True)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode != 0 or not lines:
        raise SystemExit(f"{name} with {root} failed:\n{out.stderr[-3000:]}")
    row = json.loads(lines[-1])
    if Path(row["siting"]).resolve() != (root / "siting").resolve():
        raise SystemExit(f"the child imported siting from {row['siting']}, not from {root}")
    return row


def _load() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", default=DEFAULT, help=f"comma-separated names of {sorted(VARIANTS)}")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--gap", type=float, default=0.005)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--previous", metavar="REF", help="also run the code of git commit REF, side by side")
    ap.add_argument("--formulations", action="store_true", help="also run the weaker formulation variants")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # child mode: one variant, one JSON line
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, time_limit=args.time_limit, gap=args.gap, threads=args.threads)))
        return
    names = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        ap.error(f"unknown variant(s) {unknown}; known: {sorted(VARIANTS)}")
    print(f"# bench_multitier: time limit {args.time_limit:g} s, gap {100 * args.gap:g} %, {args.threads} threads; "
          f"load average at start {_load()} ({os.cpu_count()} CPUs, machine shared)")
    print(HEADER, flush=True)
    if args.previous:
        with tempfile.TemporaryDirectory(prefix="siting-prev-") as prev:
            archive = subprocess.run(["git", "-C", str(REPO), "archive", args.previous], capture_output=True, check=True)
            subprocess.run(["tar", "-x", "-C", prev], input=archive.stdout, check=True)
            for name in names:
                for root, label in ((Path(prev), args.previous), (REPO, "this tree")):
                    print(_line(_child(root, name, args), label) + f" <!-- load {_load()} -->", flush=True)
        return
    for name in names:
        forms = [("auto", True)] + ([("none", True), ("bottom", False)] if args.formulations else [])
        for strong, relax in forms:
            r = run_one(name, time_limit=args.time_limit, gap=args.gap, threads=args.threads, strong=strong, relax=relax)
            print(_line(r, "this tree" if (strong, relax) == ("auto", True) else r["formulation"])
                  + f" <!-- load {_load()} -->", flush=True)


if __name__ == "__main__":
    main()
