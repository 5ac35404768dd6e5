"""Scale benchmark (issue 17, goal 4): p-median and UFLP beyond ArcGIS Online's 10,000 x 1,000 limit.

Instances (generated here, seeded): ``n`` demand points in a ``side_km`` square, 70 % of them in 60
Gaussian clusters (sigma 1-6 km) and 30 % uniform, integer weights 1-40; ``m`` candidates, half uniform and half
jittered demand points. Allowed pairs: each demand's at most ``--k-max`` nearest candidates within
``--radius-km`` (``scipy.spatial.cKDTree``, in chunks), and always its nearest one, so no demand is cut off.
Costs ``w_i * d_ij`` (km); UFLP fixed costs uniform in [0.5, 1.5] x a base chosen so that a few hundred sites
open (``base = 0.19 W side / q^1.5`` with ``q = --uflp-sites``, from the continuous approximation of the
transport cost of ``q`` sites).

Methods (each case in its own subprocess, ``benchmarks/_isolated.py``; time = wall time from the problem in
memory to the result, peak = the subprocess's maximum RSS, i.e. the whole process with the instance)
-----------------------------------------------------------------------------------------------------------
sparse
    ``siting.algorithms.sparse.solve_sparse``: Lagrangian bound + swap / add-drop local search over the
    pairs, certified gap; the result checked by ``siting.single.verify.verify``.
sparse-prev
    The same with the previous version of siting (``--previous REF``, default the last release: ``git
    archive`` of REF imported first in the child), side by side in the same run.
dense
    siting's dense fast path (``solve_pmedian`` / ``solve_uflp`` with the sparse switch off: Benders or the
    radius formulation; the UFLP Lagrangian + HiGHS path), run only where it fits (same limit as highspy).
highspy
    The plain strong model over the same pairs (``x_ij <= y_j``, ``sum_j x_ij = 1``, ``sum y = p`` or fixed
    costs) built with numpy as one sparse matrix and passed to highspy in one call; run only where it fits
    (``--highspy-max-pairs``), with the same time limit.
estimate
    What the memory guard (``siting.provenance.memory``) says before building: the sparse route's estimate
    and the Pyomo assignment model's, next to the measured peak.

Examples
--------
::

    PYTHONPATH=$PWD python benchmarks/bench_scale.py --sizes 10000x1000,50000x2500,100000x5000 --p 50,200
    python benchmarks/bench_scale.py --sizes 100000x5000 --p 50 --methods sparse,sparse-prev  # vs the last release
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
from _isolated import (  # benchmarks/_isolated.py
    PREVIOUS_DEFAULT,
    cell,
    check_previous_tree,
    extract_previous,
    previous_env,
    run_isolated,
    write_results_csv,
)


def make_problem(n: int, m: int, *, seed: int = 1, side_km: float = 100.0, radius_km: float = 15.0,
                 k_max: int = 300, uflp_sites: int = 300):
    """A seeded clustered instance (module docstring) as a :class:`siting.core.problem.Problem`."""
    from scipy.spatial import cKDTree

    from siting.core.problem import Problem

    rng = np.random.default_rng(seed)
    n_cl = int(0.7 * n)
    centres = rng.uniform(0.1 * side_km, 0.9 * side_km, (60, 2))
    which = rng.integers(0, 60, n_cl)
    sigma = rng.uniform(1.0, 6.0, 60)[which]
    pts = np.vstack([centres[which] + rng.normal(size=(n_cl, 2)) * sigma[:, None],
                     rng.uniform(0, side_km, (n - n_cl, 2))])
    pts = np.clip(pts, 0.0, side_km)
    w = rng.integers(1, 41, n).astype(np.float64)
    half = m // 2
    cand = np.vstack([rng.uniform(0, side_km, (half, 2)),
                      pts[rng.choice(n, m - half, replace=False)] + rng.normal(size=(m - half, 2)) * 0.5])
    tree = cKDTree(cand)
    k = min(k_max, m)
    pi, pj, dd = [], [], []
    for a in range(0, n, 20_000):
        dist, idx = tree.query(pts[a:a + 20_000], k=k, distance_upper_bound=radius_km)
        ok = np.isfinite(dist)
        ok[:, 0] = True  # the nearest candidate always (query without the bound when it is beyond)
        far = ~np.isfinite(dist[:, 0])
        if far.any():
            d0, i0 = tree.query(pts[a:a + 20_000][far], k=1)
            dist[far, 0], idx[far, 0] = d0, i0
        pi.append((np.repeat(np.arange(len(dist)), ok.sum(1)) + a).astype(np.int64))
        pj.append(idx[ok].astype(np.int64))
        dd.append(np.round(dist[ok], 4))
    total_w = float(w.sum())
    base = 0.19 * total_w * side_km / uflp_sites ** 1.5
    return Problem(demand_ids=np.arange(n).astype(str), weight=w, candidate_ids=np.arange(m).astype(str),
                   pair_demand=np.concatenate(pi), pair_candidate=np.concatenate(pj),
                   distance_km=np.concatenate(dd), fixed_cost_cny=np.round(base * rng.uniform(0.5, 1.5, m), 2),
                   source=f"scale n={n} m={m} seed={seed}")


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _status_mb(key: str) -> float:
    """``VmHWM`` (peak RSS since the last reset) or ``VmRSS`` of this process, MB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return math.nan


def _reset_peak() -> None:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS (Linux ``clear_refs`` 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def _highspy(problem, p: int | None, time_limit: float) -> dict:
    """The plain strong model over the pairs, in highspy (one matrix, one call)."""
    import highspy
    import scipy.sparse as sp

    n, m, k = problem.n_demand, problem.n_candidates, problem.n_pairs
    pi, pj = problem.pair_demand, problem.pair_candidate
    cost = np.concatenate([problem.weight[pi] * problem.distance_km,
                           np.zeros(m) if p is not None else problem.fixed_cost_cny])
    # rows: n assignment rows (= 1), k linking rows x - y <= 0, [count row]
    rows = np.concatenate([pi, n + np.arange(k), n + np.arange(k)])
    cols = np.concatenate([np.arange(k), np.arange(k), k + pj])
    vals = np.concatenate([np.ones(k), np.ones(k), -np.ones(k)])
    lo = np.concatenate([np.ones(n), np.full(k, -np.inf)])
    hi = np.concatenate([np.ones(n), np.zeros(k)])
    if p is not None:
        rows = np.concatenate([rows, np.full(m, n + k)])
        cols = np.concatenate([cols, k + np.arange(m)])
        vals = np.concatenate([vals, np.ones(m)])
        lo, hi = np.append(lo, p), np.append(hi, p)
    a = sp.csc_matrix((vals, (rows, cols)), shape=(len(lo), k + m))
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 1e-4)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = k + m, len(lo)
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, np.zeros(k + m), np.ones(k + m)
    lp.row_lower_, lp.row_upper_ = lo, hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * k + [highspy.HighsVarType.kInteger] * m
    h.passModel(lp)
    h.run()
    info = h.getInfo()
    obj = info.objective_function_value if info.primal_solution_status == 2 else math.nan
    return {"status": h.modelStatusToString(h.getModelStatus()), "objective": obj,
            "bound": info.mip_dual_bound, "gap": (obj - info.mip_dual_bound) / obj if math.isfinite(obj) else math.nan}


def child(args: argparse.Namespace) -> None:
    """Build one instance and solve it with one method; print ``RESULT {json}`` (``gap`` is recomputed by
    the parent as ``(objective - bound) / objective``, the certified gap)."""
    from siting.algorithms.sparse_memory import dense_route_bytes, sparse_route_bytes
    from siting.core.options import SolverOptions
    from siting.provenance.memory import model_size, route_bytes

    n, m = (int(x) for x in args.case.split("x"))
    prob = make_problem(n, m, seed=args.seed, radius_km=args.radius_km, k_max=args.k_max,
                        uflp_sites=args.uflp_sites)
    p = None if args.p == 0 else args.p
    model = "uflp" if p is None else "p-median"
    import gc

    gc.collect()
    _reset_peak()
    base = _status_mb("VmRSS")
    rec = {"n": n, "m": m, "pairs": prob.n_pairs, "p": p if p else "-", "method": args.method,
           "base_mb": round(base, 1), "route": route_bytes(prob, model, p=p).route,
           "est_sparse_mb": round(sparse_route_bytes(n, m, prob.n_pairs, p) / 2**20, 1),
           "est_dense_mb": round(dense_route_bytes(n, m, prob.n_pairs, p) / 2**20, 1),
           "est_pyomo_mb": round(_pyomo_bytes(prob, model, model_size) / 2**20, 1)}
    t0 = time.perf_counter()
    if args.method in ("sparse", "sparse-prev"):
        if args.method == "sparse-prev":
            check_previous_tree()
        from siting.algorithms.sparse import solve_sparse
        from siting.single.verify import verify

        res = solve_sparse(prob, p=p, options=SolverOptions(mip_rel_gap=args.gap, time_limit_s=args.timeout))
        rec.update(seconds=time.perf_counter() - t0, objective=res.info.objective, bound=res.info.bound,
                   gap=res.info.gap, status=res.info.status.value, iterations=res.params["lagrangian_iterations"],
                   closed=res.params["closed_by_reduced_cost"], lag_s=res.params["lagrangian_seconds"],
                   search_s=res.params["search_seconds"], verified=verify(prob, res).ok)
    elif args.method == "dense":  # siting's dense fast path (Benders / radius; UFLP fast path)
        from siting.algorithms.pmedian import solve_pmedian
        from siting.algorithms.warehouse import solve_uflp

        opts = SolverOptions(threads=1, time_limit_s=args.timeout, mip_rel_gap=1e-4)
        res = solve_pmedian(prob, p=p, options=opts, max_dense_bytes=2**62) if p else \
            solve_uflp(prob, options=opts, max_dense_bytes=2**62)
        rec.update(seconds=time.perf_counter() - t0, objective=res.info.objective, bound=res.info.bound,
                   gap=res.info.gap, status=res.info.status.value)
    else:
        rec.update(_highspy(prob, p, args.timeout), seconds=time.perf_counter() - t0)
    rec["solve_peak_mb"] = round(_status_mb("VmHWM"), 1)
    print("RESULT " + json.dumps(rec), flush=True)


def _pyomo_bytes(prob, model: str, model_size) -> int:
    from siting.provenance.memory import estimate_model_bytes

    return estimate_model_bytes(*model_size(prob, model))


FIELDS = ["n", "m", "pairs", "p", "method", "status", "seconds", "peak_mb", "base_mb", "solve_peak_mb",
          "route", "est_sparse_mb", "est_dense_mb",
          "est_pyomo_mb", "objective", "bound", "gap", "iterations", "closed", "verified", "error"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000x1000,50000x2500,100000x5000")
    ap.add_argument("--p", default="50,200", help="p values; 0 = UFLP (always added)")
    ap.add_argument("--methods", default="sparse,sparse-prev,dense,highspy")
    ap.add_argument("--previous", default=PREVIOUS_DEFAULT, metavar="REF",
                    help="git ref run as method sparse-prev (default %(default)s)")
    ap.add_argument("--highspy-max-pairs", type=int, default=2_000_000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--radius-km", type=float, default=15.0)
    ap.add_argument("--k-max", type=int, default=300)
    ap.add_argument("--uflp-sites", type=int, default=300)
    ap.add_argument("--gap", type=float, default=0.005, help="stop at this certified relative gap")
    ap.add_argument("--timeout", type=float, default=240.0, help="time limit of the sparse route (s)")
    ap.add_argument("--dense-timeout", type=float, default=60.0, help="time limit of dense and highspy (s)")
    ap.add_argument("--out", default="benchmarks/results")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--method", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        args.p = int(args.p)
        child(args)
        return
    ps = [int(x) for x in args.p.split(",")] + [0]
    print(f"# load average {os.getloadavg()}")
    print("| size | pairs | model | method | time s | peak RSS MB (process / solve) | solve increment MB | "
          "guard est. MB (sparse / dense / Pyomo; auto route) | bound | incumbent | gap | status |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    records = []
    methods = args.methods.split(",")
    prev = extract_previous(args.previous, Path(__file__).resolve().parents[1]) if "sparse-prev" in methods else None
    try:
        _run_all(args, ps, methods, records, None if prev is None else previous_env(prev))
    finally:
        if prev is not None:
            shutil.rmtree(prev, ignore_errors=True)
    print(f"# load average {os.getloadavg()}")
    print(f"# written {write_results_csv(args.out, 'scale', FIELDS, records)}")


def _run_all(args: argparse.Namespace, ps: list[int], methods: list[str], records: list[dict],
             env_prev: dict | None) -> None:
    for size in args.sizes.split(","):
        n, m = (int(x) for x in size.split("x"))
        for p in ps:
            for method in methods:
                if method in ("highspy", "dense") and n * 150 > args.highspy_max_pairs:
                    continue  # they cannot be built (see the guard's estimates in the sparse rows)
                cmd = [sys.executable, __file__, "--case", size, "--method", method, "--p", str(p),
                       "--seed", str(args.seed), "--radius-km", str(args.radius_km), "--k-max", str(args.k_max),
                       "--uflp-sites", str(args.uflp_sites), "--gap", str(args.gap), "--timeout", str(args.timeout)]
                limit = args.timeout if method.startswith("sparse") else args.dense_timeout
                cmd[cmd.index("--timeout") + 1] = str(limit)
                rec = run_isolated(cmd, timeout=limit + 180, env=env_prev if method == "sparse-prev" else None)
                obj, bnd = rec.get("objective", math.nan), rec.get("bound", math.nan)
                rec["gap"] = (obj - bnd) / obj if obj and math.isfinite(obj) and math.isfinite(bnd) else math.nan
                records.append(rec)
                model = f"p-median p={p}" if p else "UFLP"
                gap = rec["gap"]
                print(f"| {n:,} x {m:,} | {rec.get('pairs', 0):,} | {model} | {method} | {cell(rec['seconds'], 1)} | "
                      f"{rec['peak_mb']:,.0f} / {cell(rec.get('solve_peak_mb'), 0)} | "
                      f"{cell(rec.get('solve_peak_mb', math.nan) - rec.get('base_mb', math.nan), 0)} | "
                      f"{cell(rec.get('est_sparse_mb'), 0)} / {cell(rec.get('est_dense_mb'), 0)} / "
                      f"{cell(rec.get('est_pyomo_mb'), 0)}; {rec.get('route', '-')} | {cell(rec.get('bound'), 1)} | "
                      f"{cell(rec.get('objective'), 1)} | {cell(100 * gap if gap is not None else math.nan, 3)} % | "
                      f"{rec['status']}{' ' + rec['error'] if 'error' in rec else ''} |", flush=True)


if __name__ == "__main__":
    main()
