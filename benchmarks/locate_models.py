"""Build and solve times of the single-level models on random instances; prints a table.

Usage::

    python benchmarks/locate_models.py [--sizes 200x50,1000x100] [--models p-median,mclp] [--time-limit 60]

Demand and candidate points are uniform in a 100 km x 100 km square (seeded); pairs beyond
``--max-distance-km`` (default 40) are not allowed, so the models are sparse as on real data. Every solution is
checked by :func:`siting.single.verify.verify`. The vars/cons columns give the size of the model each name builds;
for p-center that is the one-model formulation, while ``locate`` solves it by bisection over smaller
decision models (times shown are those of ``locate``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pyomo.environ as pyo

from siting.model import get_model
from siting.pipeline.locate import locate, model_params
from siting.core.problem import Problem
from siting.core.options import SolverOptions
from siting.single.verify import verify

PARAMS = {
    "p-median": {"p": 10},
    "p-center": {"p": 10},
    "lscp": {"radius_km": 30.0},
    "lscp-b": {"radius_km": 30.0},
    "mclp": {"p": 10, "radius_km": 15.0},
    "attendance": {"p": 10, "decay": "exponential:0.1"},
    "uflp": {},
    "cflp": {},
    "cflp-ss": {},
}


def instance(n: int, m: int, cutoff: float, seed: int = 0) -> Problem:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    w = rng.integers(1, 100, n).astype(float)
    cap = np.full(m, 2.5 * w.sum() / m)
    return Problem.from_cost_matrix(d, weights=w, fixed_cost_cny=rng.uniform(500, 2000, m), capacity=cap,
                                    max_distance_km=cutoff)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200x50,500x100")
    ap.add_argument("--models", default=",".join(PARAMS))
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--max-distance-km", type=float, default=40.0)
    ns = ap.parse_args()
    opts = SolverOptions(time_limit_s=ns.time_limit, threads=1)
    print(f"{'model':<11} {'n':>6} {'m':>5} {'pairs':>8} {'vars':>8} {'cons':>8} {'build s':>8} "
          f"{'solve s':>8} {'status':<9} {'gap':>8} verified")
    for size in ns.sizes.split(","):
        n, m = (int(v) for v in size.split("x"))
        problem = instance(n, m, ns.max_distance_km)
        for name in ns.models.split(","):
            spec = get_model(name)
            params = model_params(spec, **PARAMS[name])
            if spec.count:
                params.setdefault("p", 1)  # lscp-b: the size does not depend on p (found by LSCP)
            model = spec.build_model(problem, params)
            nv = sum(1 for _ in model.component_data_objects(pyo.Var))
            nc = sum(1 for _ in model.component_data_objects(pyo.Constraint, active=True))
            t0 = time.perf_counter()
            try:
                res = locate(problem, name, options=opts, check=False, **PARAMS[name])
            except ValueError as exc:  # infeasible for this random instance
                print(f"{name:<11} {n:>6} {m:>5} {problem.n_pairs:>8} {nv:>8} {nc:>8}  {exc}")
                continue
            wall = time.perf_counter() - t0
            ok = verify(problem, res).ok if res.info.has_solution else False
            gap = "-" if not np.isfinite(res.info.gap) else f"{100 * res.info.gap:.3g}%"
            print(f"{name:<11} {n:>6} {m:>5} {problem.n_pairs:>8} {nv:>8} {nc:>8} {res.info.build_seconds:>8.2f} "
                  f"{wall - res.info.build_seconds:>8.2f} {res.info.status.value:<9} {gap:>8} {ok}")


if __name__ == "__main__":
    main()
