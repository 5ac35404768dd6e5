"""Warehouse-location benchmark on capa/capb/capc-sized instances (m = 100 sites, n = 1,000 customers).

siting's exact solvers vs the plain strong model built directly in highspy, each (instance, method) in its
own Python subprocess; the time reported is wall time from the problem in memory to the solution (imports and
file reading excluded, the same for all), the peak memory is that subprocess's maximum resident set size
(``os.wait4``), i.e. the whole process.

Instances: the published capa/capb/capc files are not available here, so capa-like files are generated with
``siting.bench.generate.write_capa`` (recipe an assumption, see that module), one per seed; each is solved with
every capacity in ``--capacities`` (``read_cap(path, capacity=V)``) and uncapacitated (``inf``).

Methods
-------
siting
    ``siting.algorithms.pmedian.solve_cflp`` (capacitated) / ``solve_uflp`` (uncapacitated), i.e.
    ``siting.algorithms.warehouse.solve_cflp_fast`` / ``solve_uflp_fast`` (Lagrangian bound, reduced-cost
    fixing of sites, local search, Lagrangian probing of the sites left with swaps guided by the probes'
    bounds, then the strong model on the sites left with only the x <= y rows of negative Lagrangian reduced
    cost, warm-started).
siting-prev
    ``solve_cflp`` / ``solve_uflp`` of the previous version of siting (``--previous REF``): ``git archive
    REF`` into a temporary directory, imported in the child through ``PYTHONPATH``
    (``siting.algorithms.warehouse``, or ``siting.formulations.fast`` in the flat layout).
nofix
    The same without the fixing: the strong model on every site, warm-started from the local search.
highspy
    The textbook strong model, y binary, x continuous in [0, 1]: sum_j x_ij = 1, x_ij <= y_j, and for the
    capacitated problem sum_i w_i x_ij <= c_j y_j and sum_j c_j y_j >= sum_i w_i, built with numpy as one
    sparse matrix and passed to highspy in one call.

All use the same relative MIP gap (``--gap``, default 1e-6) and ``--threads``.

Examples
--------
::

    /work/venv/bin/python benchmarks/bench_warehouse.py --seeds 1,2 --threads 1
    /work/venv/bin/python benchmarks/bench_warehouse.py --seeds 1 --capacities 5000,inf \\
        --methods siting,nofix,highspy --timeout 120
"""

from __future__ import annotations

import argparse
import json
import math
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
METHODS = ("siting", "nofix", "siting-prev", "highspy")
#: capa's capacities and capb's (capc: 5000, 5750, 6500, 7250; see siting.bench.orlib.DEFAULT_CAPACITIES)
DEFAULT_CAPACITIES = "5000,8000,10000,14000,inf"


# ------------------------------------------------------------------------------------------ worker side
def plain_highspy(prob, gap: float, threads: int | None, time_limit: float | None) -> dict:
    """The strong model over all n x m pairs as one sparse matrix, solved by highspy."""
    import highspy
    import numpy as np
    import scipy.sparse as sp

    d = prob.matrix().toarray()  # per-unit cost, (n, m), dense (cap files have every pair)
    w = prob.weight
    f = prob.fixed_cost_cny
    cap = prob.capacity
    n, m = d.shape
    k = n * m
    inf = highspy.kHighsInf
    ii = np.repeat(np.arange(n), m)
    jj = np.tile(np.arange(m), n)
    x = m + np.arange(k)
    rows = [ii, n + np.arange(k), n + np.arange(k)]
    cols = [x, x, jj]
    vals = [np.ones(k), np.ones(k), -np.ones(k)]
    lo = [np.ones(n), np.full(k, -inf)]
    up = [np.ones(n), np.zeros(k)]
    nrow = n + k
    capacitated = bool(np.all(np.isfinite(cap)))
    if capacitated:
        rows += [nrow + jj, nrow + np.arange(m), np.full(m, nrow + m)]
        cols += [x, np.arange(m), np.arange(m)]
        vals += [w[ii], -cap, cap]
        lo += [np.full(m, -inf), [float(w.sum())]]
        up += [np.zeros(m), [inf]]
        nrow += m + 1
    a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(nrow, m + k))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", gap)
    if threads:
        h.setOptionValue("threads", threads)
    if time_limit:
        h.setOptionValue("time_limit", float(time_limit))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m + k, nrow
    lp.col_cost_ = np.concatenate([f, (w[:, None] * d).ravel()])
    lp.col_lower_ = np.zeros(m + k)
    lp.col_upper_ = np.ones(m + k)
    lp.row_lower_ = np.concatenate(lo)
    lp.row_upper_ = np.concatenate(up)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * k
    h.passModel(lp)
    h.run()
    st = h.getModelStatus()
    ok = st == highspy.HighsModelStatus.kOptimal
    info = h.getInfo()
    out = {"objective": info.objective_function_value if info.primal_solution_status == 2 else math.nan,
           "bound": info.mip_dual_bound, "status": "optimal" if ok else h.modelStatusToString(st).lower()}
    if info.primal_solution_status == 2:
        y = np.asarray(h.getSolution().col_value[:m])
        out["open"] = int((y > 0.5).sum())
    return out


def _siting(prob, method: str, gap: float, threads: int | None, time_limit: float | None) -> dict:
    import numpy as np

    solver_options = import_first("siting.core.options:SolverOptions", "siting.solve:SolverOptions")
    opts = solver_options(mip_rel_gap=gap, threads=threads, time_limit_s=time_limit)
    capacitated = bool(np.all(np.isfinite(prob.capacity)))
    if method in ("siting", "siting-prev"):
        name = "solve_cflp" if capacitated else "solve_uflp"
        solve = import_first(f"siting.algorithms.warehouse:{name}", f"siting.formulations.fast:{name}")
        res = solve(prob, options=opts)
    else:
        from siting.algorithms.warehouse import solve_cflp_fast, solve_uflp_fast

        solve = solve_cflp_fast if capacitated else solve_uflp_fast
        res = solve(prob, options=opts, fixing=False)
    return {"objective": res.objective, "bound": res.info.bound, "status": res.info.status.value,
            "build_seconds": round(res.info.build_seconds, 3), "open": int(len(res.open)),
            "detail": {k: v for k, v in res.params.items() if isinstance(v, (int, float, str))}}


def worker(method: str, path: str, capacity: float, gap: float, threads: int | None,
           time_limit: float | None) -> None:
    import numpy as np

    if method == "siting-prev":
        check_previous_tree()
    read_cap = import_first("siting.bench.orlib:read_cap")
    prob = read_cap(path, capacity=capacity)
    if math.isinf(capacity):
        prob = prob.with_options(capacity=np.full(prob.n_candidates, np.inf))
    if method == "highspy":
        import highspy  # noqa: F401

        t0 = time.perf_counter()
        out = plain_highspy(prob, gap, threads, time_limit)
    else:
        import highspy  # noqa: F401
        import pyomo.environ  # noqa: F401  (imports excluded from the timing, as for the others)
        from pyomo.repn.plugins import standard_form  # noqa: F401

        import_first("siting.algorithms.warehouse:solve_cflp", "siting.formulations.fast:solve_cflp")

        t0 = time.perf_counter()
        out = _siting(prob, method, gap, threads, time_limit)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    print("RESULT " + json.dumps(out), flush=True)


# ------------------------------------------------------------------------------------------ driver side
def run_one(method: str, path: Path, capacity: float, *, gap: float, threads: int | None,
            timeout: float, env: dict | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", method, str(path), str(capacity),
           "--gap", str(gap), "--time-limit", str(timeout)]
    if threads:
        cmd += ["--threads", str(threads)]
    rec = {"method": method, "bound": math.nan}
    rec.update(run_isolated(cmd, timeout=timeout, env=env))
    return rec


def _parse_caps(text: str) -> list[float]:
    return [math.inf if s.strip().lower() in ("inf", "uncap") else float(s) for s in text.split(",") if s.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", default="1,2", help="generator seeds, comma-separated (default %(default)s)")
    ap.add_argument("--capacities", default=DEFAULT_CAPACITIES,
                    help="capacities, comma-separated; 'inf' = uncapacitated (default %(default)s)")
    ap.add_argument("--m", type=int, default=100, help="sites (default %(default)s)")
    ap.add_argument("--n", type=int, default=1000, help="customers (default %(default)s)")
    ap.add_argument("--methods", default="siting,highspy", help="comma-separated, from %s" % ",".join(METHODS))
    ap.add_argument("--previous", default=PREVIOUS_DEFAULT, metavar="REF",
                    help="git ref run as method siting-prev (default %(default)s)")
    ap.add_argument("--timeout", type=float, default=300.0, help="per run, seconds (default %(default)s)")
    ap.add_argument("--gap", type=float, default=1e-6, help="relative MIP gap for all methods")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    ap.add_argument("--worker", nargs=3, metavar=("METHOD", "PATH", "CAPACITY"), help=argparse.SUPPRESS)
    ap.add_argument("--time-limit", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker[0], args.worker[1], float(args.worker[2]), args.gap, args.threads, args.time_limit)
        return 0
    methods = [m for m in args.methods.split(",") if m]
    bad = set(methods) - set(METHODS)
    if bad:
        sys.exit(f"unknown method(s) {sorted(bad)}; choose from {METHODS}")
    rows = []
    prev = extract_previous(args.previous, REPO) if "siting-prev" in methods else None
    env_prev = previous_env(prev) if prev is not None else None
    try:
        _run_all(args, methods, rows, env_prev)
    finally:
        if prev is not None:
            import shutil

            shutil.rmtree(prev, ignore_errors=True)
    _report(rows, methods, args)
    return 0


def _run_all(args, methods, rows, env_prev) -> None:
    from siting.bench.generate import write_capa

    with tempfile.TemporaryDirectory(prefix="bench_warehouse_") as tmpd:
        for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
            path = write_capa(Path(tmpd) / f"capg{seed}.txt", seed=seed, m=args.m, n=args.n)
            for cap in _parse_caps(args.capacities):
                name = f"capg{seed}-{'uncap' if math.isinf(cap) else int(cap)}"
                recs = {}
                for mth in methods:
                    rec = run_one(mth, path, cap, gap=args.gap, threads=args.threads, timeout=args.timeout,
                                  env=env_prev if mth == "siting-prev" else None)
                    recs[mth] = rec
                    print(f"  {name:>16} {mth:>9}: {rec['status']:>10} obj {rec['objective']} "
                          f"{rec['seconds']} s, {rec['peak_mb']} MB {rec.get('detail', '')}"
                          f"{rec.get('error', '')}", file=sys.stderr, flush=True)
                rows.append((name, seed, cap, recs))


def _report(rows, methods, args) -> None:
    from rich.console import Console
    from rich.table import Table

    con = Console(width=220)
    base_m = methods[0]
    t = Table(title=f"warehouse location m={args.m} n={args.n}: time (s), peak memory (MB); gap {args.gap:g}, "
                    f"timeout {args.timeout:g} s, threads {args.threads or 'auto'}")
    t.add_column("instance")
    for m in methods:
        t.add_column(f"{m} s", justify="right")
        t.add_column(f"{m} MB", justify="right")
        t.add_column(f"{m} gap", justify="right")
    for m in methods[1:]:
        t.add_column(f"{m}/{base_m} time", justify="right")
    t.add_column("open", justify="right")
    t.add_column("objectives agree")
    fields = ["instance", "seed", "capacity", "method", "status", "objective", "bound", "seconds", "peak_mb",
              "build_seconds", "open", "threads", "gap"]
    csv_path = write_results_csv(args.out, "bench_warehouse", fields,
                                 [{"instance": name, "seed": seed, "capacity": cap, "threads": args.threads or "",
                                   "gap": args.gap, **recs[m]} for name, seed, cap, recs in rows for m in methods])

    def gap_of(r):
        o, b = r.get("objective"), r.get("bound")
        if r["status"] == "optimal":
            return "proven"
        if o is None or b is None or not (math.isfinite(o) and math.isfinite(b)):
            return "-"
        return f"{abs(o - b) / max(abs(o), 1e-9):.1e}"

    for name, _seed, _cap, recs in rows:
        line = [name]
        for m in methods:
            r = recs[m]
            s = cell(r["seconds"]) if r["status"] == "optimal" else f">{args.timeout:g} ({r['status']})"
            line += [s, cell(r["peak_mb"], 0), gap_of(r)]
        base = recs[base_m]
        for m in methods[1:]:
            r = recs[m]
            if r["status"] == "optimal" and base["status"] == "optimal" and base["seconds"] > 0:
                line.append(f"{r['seconds'] / base['seconds']:.1f}x")
            elif base["status"] == "optimal" and base["seconds"] > 0:  # the other did not finish
                line.append(f">{args.timeout / base['seconds']:.1f}x")
            else:
                line.append("-")
        opens = sorted({recs[m].get("open") for m in methods if recs[m].get("open") is not None})
        line.append(",".join(str(o) for o in opens) or "-")
        objs = [recs[m]["objective"] for m in methods if recs[m]["status"] == "optimal"]
        agree = all(abs(o - objs[0]) <= 2 * args.gap * max(1.0, abs(objs[0])) for o in objs) if objs else False
        line.append("yes" if agree and len(objs) == len(methods) else ("partial" if agree else "NO"))
        t.add_row(*line)
    con.print(t)
    con.print(f"CSV: {csv_path}")


if __name__ == "__main__":
    sys.exit(main())
