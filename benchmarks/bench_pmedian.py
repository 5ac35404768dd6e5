"""p-median benchmark: siting's fast path vs spopt ``PMedian`` vs the plain model built directly in highspy.

Every (instance, method) runs in its own Python subprocess; the time reported is wall time from the cost
matrix in memory to the solution (imports and file reading excluded, the same for all three), and the peak
memory is that subprocess's maximum resident set size (``os.wait4``), i.e. the whole process.

Methods
-------
siting
    ``siting.algorithms.pmedian.solve_pmedian`` (``method="auto"``: Benders or radius by problem shape).
siting-radius, siting-benders
    The same with the method forced (to measure the rule).
siting-highs
    Benders with the previous search: iterated HiGHS master MIPs instead of our branch-and-Benders-cut tree
    (``solve_pmedian_benders(tree="highs")``).
siting-prev
    ``solve_pmedian`` of the previous version of siting (``--previous REF``, default the commit before the
    Benders work): ``git archive REF`` into a temporary directory, imported in the child through
    ``PYTHONPATH`` (``siting.algorithms.pmedian``, or ``siting.formulations.fast`` in the flat layout), fed
    the same cost matrix (``.npy``).
highspy
    The textbook strong model, y binary, x continuous, sum_j x_ij = 1, x_ij <= y_j, sum y = p, built with
    numpy as one sparse matrix and passed to highspy in one call.
spopt
    ``spopt.locate.PMedian.from_cost_matrix(...).solve(pulp.HiGHS(...))`` (optional: ``pip install spopt``).

All three use the same relative MIP gap (``--gap``, default 1e-6) and ``--threads``.

Examples
--------
Default (OR-Library n >= 400 instances present in the development set, plus generated n = 600, 900)::

    /work/venv/bin/python benchmarks/bench_pmedian.py

    /work/venv/bin/python benchmarks/bench_pmedian.py --instances pmed16,pmed20 --generated 700:5,900:90 \\
        --methods siting,highspy,spopt --timeout 600

TSPLIB point sets (floor-Euclidean, every point a client and a site), with the previous version::

    python benchmarks/bench_pmedian.py --tsplib u1432:100,500 --tsplib fl1400:5 \\
        --methods siting,siting-radius,siting-prev --previous 9617b3e
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from _isolated import (  # benchmarks/_isolated.py (this script's folder is on sys.path)
    PREVIOUS_DEFAULT,
    cell,
    check_previous_tree,
    extract_previous,
    import_first,
    previous_env,
    run_isolated,
    write_results_csv,
)

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SITING_SHARED") or REPO.parent / "shared")
ORLIB = SHARED / "benchmarks" / "orlib"
TSPLIB = SHARED / "benchmarks" / "tsplib"
METHODS = ("siting", "siting-radius", "siting-benders", "siting-highs", "siting-prev", "highspy", "spopt")
DEFAULT_METHODS = ("siting", "highspy", "spopt")


# ------------------------------------------------------------------------------------------ worker side
def _plain_highspy(d, p: int, gap: float, threads: int | None, time_limit: float | None) -> dict:
    import highspy
    import numpy as np
    import scipy.sparse as sp

    n, m = d.shape
    k = n * m
    inf = highspy.kHighsInf
    ii = np.repeat(np.arange(n), m)
    jj = np.tile(np.arange(m), n)
    x = m + np.arange(k)
    rows = np.concatenate([ii, n + np.arange(k), n + np.arange(k), np.full(m, n + k)])
    cols = np.concatenate([x, x, jj, np.arange(m)])
    vals = np.concatenate([np.ones(k), np.ones(k), -np.ones(k), np.ones(m)])
    a = sp.csc_matrix((vals, (rows, cols)), shape=(n + k + 1, m + k))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", gap)
    if threads:
        h.setOptionValue("threads", threads)
    if time_limit:
        h.setOptionValue("time_limit", float(time_limit))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m + k, n + k + 1
    lp.col_cost_ = np.concatenate([np.zeros(m), d.ravel()])
    lp.col_lower_ = np.zeros(m + k)
    lp.col_upper_ = np.ones(m + k)
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(k, -inf), [p]])
    lp.row_upper_ = np.concatenate([np.ones(n), np.zeros(k), [p]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * k
    h.passModel(lp)
    h.run()
    ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return {"objective": h.getInfo().objective_function_value, "bound": h.getInfo().mip_dual_bound,
            "status": "optimal" if ok else
            h.modelStatusToString(h.getModelStatus())}


def _spopt(d, p: int, gap: float, threads: int | None, time_limit: float | None) -> dict:
    import numpy as np
    import pulp
    from spopt.locate import PMedian

    model = PMedian.from_cost_matrix(d, np.ones(d.shape[0]), p_facilities=p)
    solver = pulp.HiGHS(msg=False, gapRel=gap, threads=threads, timeLimit=time_limit)
    model = model.solve(solver)
    # PuLP reports status "Optimal" also when HiGHS stops at the time limit with an incumbent: use the
    # solution status (1 = optimal, 2 = integer feasible only)
    status = {1: "optimal", 2: "time_limit"}.get(model.problem.sol_status, pulp.LpStatus[model.problem.status])
    return {"objective": float(pulp.value(model.problem.objective)), "status": str(status).lower()}


def _siting(prob, p: int, gap: float, threads: int | None, time_limit: float | None, method: str = "auto"
            ) -> dict:
    solver_options = import_first("siting.core.options:SolverOptions", "siting.solve:SolverOptions")
    kw = {} if method == "prev" else {"method": method}
    solve = import_first("siting.algorithms.pmedian:solve_pmedian", "siting.formulations.fast:solve_pmedian")
    if method == "highs":  # Benders with iterated HiGHS master MIPs instead of our tree
        solve, kw = import_first("siting.algorithms.benders:solve_pmedian_benders"), {"tree": "highs"}
    res = solve(prob, p=p, options=solver_options(mip_rel_gap=gap, threads=threads, time_limit_s=time_limit),
                **kw)
    return {"objective": res.objective, "bound": res.info.bound, "status": res.info.status.value,
            "build_seconds": round(res.info.build_seconds, 3), "rounds": res.params.get("rounds"),
            "used": res.params.get("method", "radius")}


def _load(path: str):
    """``pmed`` file, ``tsplib:FILE:P``, ``points:N:P:SEED`` or ``npy:FILE:P`` (previous version: plain
    cost matrix)."""
    if path.startswith("npy:"):
        import numpy as np

        check_previous_tree()
        f, p = path[4:].rsplit(":", 1)
        problem_cls = import_first("siting.core.problem:Problem", "siting.problem:Problem")
        return problem_cls.from_cost_matrix(np.load(f)), int(p)
    if path.startswith("points:"):
        import numpy as np

        from siting.bench.tsplib import floor_distances

        n, p, seed = (int(v) for v in path[7:].split(":"))
        pts = np.random.default_rng(seed).uniform(0.0, 10_000.0, (n, 2))
        problem_cls = import_first("siting.core.problem:Problem", "siting.problem:Problem")
        return problem_cls.from_cost_matrix(floor_distances(pts)), p
    if path.startswith("tsplib:"):
        from siting.bench.tsplib import read_tsplib_pmedian

        f, p = path[7:].rsplit(":", 1)
        return read_tsplib_pmedian(f, int(p)), int(p)
    from siting.bench.orlib import read_pmed

    prob = read_pmed(path)
    return prob, int(prob.meta["p"])


def worker(method: str, path: str, gap: float, threads: int | None, time_limit: float | None) -> None:
    prob, p = _load(path)
    if method.startswith("siting"):
        import pyomo.environ  # noqa: F401  (imports excluded from the timing, as for the others)
        from pyomo.repn.plugins import standard_form  # noqa: F401

        import_first("siting.algorithms.pmedian:solve_pmedian", "siting.formulations.fast:solve_pmedian")
        sub = {"siting": "auto", "siting-radius": "radius", "siting-benders": "benders", "siting-prev": "prev",
               "siting-highs": "highs"}
        t0 = time.perf_counter()
        out = _siting(prob, p, gap, threads, time_limit, sub[method])
    else:
        d = prob.matrix().toarray()
        if method == "highspy":
            import highspy  # noqa: F401

            t0 = time.perf_counter()
            out = _plain_highspy(d, p, gap, threads, time_limit)
        else:
            import pulp  # noqa: F401
            from spopt.locate import PMedian  # noqa: F401

            t0 = time.perf_counter()
            out = _spopt(d, p, gap, threads, time_limit)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    print("RESULT " + json.dumps(out), flush=True)


# ------------------------------------------------------------------------------------------ driver side
def run_one(method: str, path: Path | str, *, gap: float, threads: int | None, timeout: float,
            env: dict | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method, str(path), "--gap", str(gap),
           "--time-limit", str(timeout)]
    if threads:
        cmd += ["--threads", str(threads)]
    rec = {"method": method}
    rec.update(run_isolated(cmd, timeout=timeout, env=env))
    return rec


def _npy_for_previous(path: str, tmp: Path) -> str:
    """The instance as a plain cost matrix for the previous version (which may lack today's readers)."""
    import numpy as np

    prob, p = _load(path)
    f = tmp / f"{Path(path.split(':')[1] if ':' in path else path).stem}_{p}.npy"
    np.save(f, prob.matrix().toarray())
    return f"npy:{f}:{p}"


def _instances(args, tmp: Path) -> list[tuple[str, Path, int, int]]:
    from siting.bench.generate import write_pmed

    out = []
    for name in [s for s in (args.instances or "").split(",") if s]:
        f = Path(args.orlib) / "pmed" / f"{name}.txt"
        if not f.is_file():
            sys.exit(f"no instance {name} at {f}")
        with f.open() as fh:
            n, _, p = (int(v) for v in fh.readline().split()[:3])
        out.append((name, f, n, p))
    for spec in [s for s in (args.generated or "").split(",") if s]:
        n, p = (int(v) for v in spec.split(":")) if ":" in spec else (int(spec), max(1, int(spec) // 10))
        name = f"gen{n}_p{p}_s{args.seed}"
        out.append((name, write_pmed(tmp / f"{name}.txt", n, p, seed=args.seed + n * 1000 + p), n, p))
    for spec in args.tsplib or []:
        stem, ps = spec.split(":")
        f = Path(args.tsplib_dir) / f"{stem}.tsp"
        if not f.is_file():
            sys.exit(f"no TSPLIB point set {stem} at {f}")
        with f.open() as fh:
            n = next(int(ln.split(":")[1]) for ln in fh if ln.split(":")[0].strip().upper() == "DIMENSION")
        out.extend((f"{stem} p={p}", f"tsplib:{f}:{p}", n, int(p)) for p in ps.split(",") if p)
    for spec in [s for s in (args.points or "").split(",") if s]:
        n, p = (int(v) for v in spec.split(":"))
        out.append((f"points{n} p={p}", f"points:{n}:{p}:{args.seed + n}", n, p))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--instances", default=None,
                    help="OR-Library pmed instances (default: those with n >= 400 in --orlib)")
    ap.add_argument("--generated", default=None,
                    help="generated instances N or N:P, comma-separated (default 600:200,900:90)")
    ap.add_argument("--orlib", default=str(ORLIB), help="OR-Library directory (default %(default)s)")
    ap.add_argument("--tsplib", action="append", default=None, metavar="NAME:P1,P2,...",
                    help="TSPLIB point set and its p values (repeatable), e.g. u1432:100,500")
    ap.add_argument("--tsplib-dir", default=str(TSPLIB), help="TSPLIB directory (default %(default)s)")
    ap.add_argument("--points", default=None, metavar="N:P,...",
                    help="uniform random points in a 10,000 x 10,000 square, every point a client and a site, "
                         "floor-Euclidean distances (the TSPLIB convention), e.g. 3000:300,6000:600")
    ap.add_argument("--previous", default=PREVIOUS_DEFAULT, metavar="REF",
                    help="git ref run as method siting-prev (default %(default)s)")
    ap.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                    help=f"comma-separated, from {', '.join(METHODS)} (default %(default)s)")
    ap.add_argument("--timeout", type=float, default=300.0, help="per run, seconds (default %(default)s)")
    ap.add_argument("--gap", type=float, default=1e-6, help="relative MIP gap for all methods")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    ap.add_argument("--worker", nargs=2, metavar=("METHOD", "PATH"), help=argparse.SUPPRESS)
    ap.add_argument("--time-limit", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker[0], args.worker[1], args.gap, args.threads, args.time_limit)
        return 0
    if args.instances is None and args.generated is None and not args.tsplib and not args.points:
        have = sorted((Path(args.orlib) / "pmed").glob("pmed*.txt"))
        big = []
        for f in have:
            if f.stem == "pmedopt":
                continue
            with f.open() as fh:
                if int(fh.readline().split()[0]) >= 400:
                    big.append(f.stem)
        args.instances = ",".join(sorted(big, key=lambda s: int(s[4:])))
        args.generated = "600:200,900:90"
    methods = [m for m in args.methods.split(",") if m]
    bad = set(methods) - set(METHODS)
    if bad:
        sys.exit(f"unknown method(s) {sorted(bad)}; choose from {METHODS}")
    rows = []
    prev = extract_previous(args.previous, REPO) if "siting-prev" in methods else None
    try:
        with tempfile.TemporaryDirectory(prefix="bench_pmedian_") as tmpd:
            for name, path, n, p in _instances(args, Path(tmpd)):
                recs = {}
                for mth in methods:
                    arg, env = str(path), None
                    if mth == "siting-prev":
                        arg, env = _npy_for_previous(str(path), Path(tmpd)), previous_env(prev)
                    rec = run_one(mth, arg, gap=args.gap, threads=args.threads, timeout=args.timeout, env=env)
                    recs[mth] = rec
                    print(f"  {name:>16} {mth:>14}: {rec['status']:>10} obj {rec['objective']} bound {rec.get('bound')} "
                          f"{rec['seconds']} s, {rec['peak_mb']} MB {rec.get('error', '')}", file=sys.stderr,
                          flush=True)
                rows.append((name, n, p, recs))
    finally:
        if prev is not None:
            import shutil

            shutil.rmtree(prev, ignore_errors=True)
    _report(rows, methods, args)
    return 0


def _gap(rec: dict) -> str:
    """``", gap x %"`` of a run stopped with an incumbent and a finite bound (else ``""``)."""
    from siting.core.options import relative_gap

    obj, bound = rec.get("objective"), rec.get("bound")
    g = relative_gap(obj, bound) if obj is not None and bound is not None else math.nan
    return f", gap {100.0 * g:.2f} %" if math.isfinite(g) else ""


def _report(rows, methods, args) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=200)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    t = Table(title=f"p-median: time (s) and peak memory (MB); gap {args.gap:g}, timeout {args.timeout:g} s; "
                    f"load average at the end {load}")
    t.add_column("instance")
    t.add_column("n", justify="right")
    t.add_column("p", justify="right")
    for m in methods:
        t.add_column(f"{m} s", justify="right")
        t.add_column(f"{m} MB", justify="right")
    if "siting" in methods:
        t.add_column("siting build %", justify="right")
        t.add_column("siting used")
    for m in methods:
        if m != "siting" and "siting" in methods:
            t.add_column(f"{m}/siting time", justify="right")
            t.add_column(f"{m}/siting mem", justify="right")
    t.add_column("objectives agree")
    fields = ["instance", "n", "p", "method", "status", "objective", "bound", "seconds", "peak_mb",
              "build_seconds", "rounds", "used"]
    csv_path = write_results_csv(args.out, "bench_pmedian", fields,
                                 [{"instance": name, "n": n, "p": p, **recs[m]}
                                  for name, n, p, recs in rows for m in methods])

    for name, n, p, recs in rows:
        line = [name, str(n), str(p)]
        for m in methods:
            r = recs[m]
            s = cell(r["seconds"]) if r["status"] == "optimal" else f">{args.timeout:g} ({r['status']}{_gap(r)})"
            line += [s, cell(r["peak_mb"], 0)]
        base = recs.get("siting")
        if base is not None:
            bs = base.get("build_seconds")
            line.append(cell(100.0 * bs / base["seconds"], 1) if bs is not None and base["seconds"] > 0 else "-")
            line.append(str(base.get("used", "-")))
        for m in methods:
            if m != "siting" and base is not None:
                r = recs[m]
                if r["status"] == "optimal" and base["status"] == "optimal":
                    line += [f"{r['seconds'] / base['seconds']:.1f}x", f"{r['peak_mb'] / base['peak_mb']:.1f}x"]
                elif base["status"] == "optimal":
                    line += [f">{args.timeout / base['seconds']:.1f}x", "-"]
                else:
                    line += ["-", "-"]
        objs = [recs[m]["objective"] for m in methods if recs[m]["status"] == "optimal"]
        agree = all(abs(o - objs[0]) <= 1e-6 * max(1.0, abs(objs[0])) for o in objs) if objs else False
        line.append("-" if not objs else "yes" if agree and len(objs) == len(methods) else
                    ("partial" if agree else "NO"))  # "-": no method proved an optimum to compare
        t.add_row(*line)
    con.print(t)
    con.print(f"CSV: {csv_path}")


if __name__ == "__main__":
    sys.exit(main())
