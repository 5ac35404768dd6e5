"""Regression: a fixed small instance (readable CSVs in ``tests/data/locate/``) and its optima per model.

The instance is synthetic (seeded, 12 demand points, 6 sites, an explicit OD matrix in km, so the numbers do
not depend on any distance code). ``expected.csv`` was computed by the independent enumeration of
``test_formulations_bruteforce.py`` (for single-source CFLP, whose assignments are too many to enumerate,
by a direct ``scipy.optimize.milp`` model), not by siting's formulations; regenerate it with
``python tests/test_locate_regression.py --regenerate`` (and review the diff).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting.pipeline.locate import locate
from siting.core.problem import Problem
from siting.core.options import SolverOptions
from siting.single.verify import verify

DATA = Path(__file__).resolve().parents[1] / "data" / "locate"

CASES = [
    ("p-median", {"p": 2}),
    ("p-median", {"p": 3, "max_distance_km": 45.0, "decay": ["power", 1.5, None]}),
    ("p-center", {"p": 2}),
    ("p-center", {"p": 3, "budget_cny": 5000.0}),
    ("lscp", {"radius_km": 30.0}),
    ("lscp", {"radius_km": 30.0, "objective": "fixed_cost"}),
    ("lscp-b", {"radius_km": 30.0}),
    ("mclp", {"p": 2, "radius_km": 20.0}),
    ("attendance", {"p": 2, "decay": ["exponential", 0.05, None]}),
    ("attendance", {"p": 2, "decay": ["linear", 1.0, 35.0]}),
    ("uflp", {"cost_per_unit_km": 2.0}),
    ("uflp", {"cost_per_unit_km": 2.0, "budget_cny": 3000.0}),
    ("cflp", {"cost_per_unit_km": 2.0}),
    ("cflp-ss", {"cost_per_unit_km": 2.0}),
]


def make_instance() -> None:
    """Write demand.csv, sites.csv and od.csv (seeded; synthetic)."""
    rng = np.random.default_rng(20240601)
    n, m = 12, 6
    a, b = rng.uniform(0, 60, (n, 2)), rng.uniform(0, 60, (m, 2))
    d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1)) * 1.3
    DATA.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"id": [f"d{i:02d}" for i in range(n)], "weight": rng.integers(5, 60, n)}).to_csv(
        DATA / "demand.csv", index=False)
    pd.DataFrame({
        "id": [f"S{j}" for j in range(m)],
        "fixed_cost_cny": rng.integers(800, 2500, m),
        "capacity": rng.integers(60, 130, m),
        "required": [False, False, True, False, False, False],
    }).to_csv(DATA / "sites.csv", index=False)
    rows = [(f"d{i:02d}", f"S{j}", round(float(d[i, j]), 1)) for i in range(n) for j in range(m)]
    pd.DataFrame(rows, columns=["from_id", "to_id", "distance_km"]).to_csv(DATA / "od.csv", index=False)


def load(required: bool = True) -> tuple[Problem, np.ndarray]:
    dem = pd.read_csv(DATA / "demand.csv")
    sites = pd.read_csv(DATA / "sites.csv")
    od = pd.read_csv(DATA / "od.csv")
    mat = od.pivot(index="from_id", columns="to_id", values="distance_km").loc[dem.id, sites.id].to_numpy()
    problem = Problem.from_cost_matrix(
        mat, weights=dem.weight, demand_ids=dem.id, candidate_ids=sites.id,
        fixed_cost_cny=sites.fixed_cost_cny, capacity=sites.capacity,
        required=sites.required.to_numpy(bool) if required else None, source="tests/data/locate",
    )
    return problem, mat


def _kw(params: dict) -> dict:
    kw = dict(params)
    if "decay" in kw:
        kind, beta, cutoff = kw["decay"]
        kw["decay"] = {"kind": kind, "beta": beta, "cutoff_km": cutoff}
    return kw


def _cflp_ss_milp(problem: Problem, mat: np.ndarray, params: dict) -> float:
    """Single-source CFLP as one dense MILP in scipy (variables y_j then x_ij row-major)."""
    from scipy.optimize import Bounds, LinearConstraint, milp  # noqa: PLC0415

    n, m = mat.shape
    w, f, cap = problem.weight, problem.fixed_cost_cny, problem.capacity
    c = np.concatenate([f, (params["cost_per_unit_km"] * w[:, None] * mat).ravel()])
    rows, lo, hi = [], [], []
    for i in range(n):  # sum_j x_ij = 1
        r = np.zeros(m + n * m)
        r[m + i * m : m + (i + 1) * m] = 1
        rows.append(r), lo.append(1), hi.append(1)
    for j in range(m):  # sum_i w_i x_ij - cap_j y_j <= 0
        r = np.zeros(m + n * m)
        r[m + j :: m] = w
        r[j] = -cap[j]
        rows.append(r), lo.append(-np.inf), hi.append(0)
    lb = np.zeros(m + n * m)
    lb[:m] = problem.required.astype(float)
    res = milp(c, constraints=LinearConstraint(np.array(rows), lo, hi), integrality=np.ones_like(c),
               bounds=Bounds(lb, np.ones_like(c)), options={"mip_rel_gap": 1e-12})
    return float(res.fun)


def regenerate() -> None:
    from test_formulations_bruteforce import brute  # noqa: PLC0415

    make_instance()
    problem, mat = load()
    rows = []
    for model, params in CASES:
        p = dict(params)
        if "decay" in p:
            p["decay"] = tuple(p["decay"])
        if model in ("uflp", "cflp", "cflp-ss"):
            p.setdefault("cost_per_unit_km", 1.0)
        value = _cflp_ss_milp(problem, mat, p) if model == "cflp-ss" else brute(model, problem, mat, p)
        rows.append({"model": model, "params": json.dumps(params), "objective": value})
    pd.DataFrame(rows).to_csv(DATA / "expected.csv", index=False)


def _expected():
    if not (DATA / "expected.csv").is_file():
        return []
    df = pd.read_csv(DATA / "expected.csv")
    return [(r.model, json.loads(r.params), float(r.objective)) for r in df.itertuples()]


def test_expected_file_covers_every_case():
    assert [(m, p) for m, p, _ in _expected()] == [(m, p) for m, p in CASES]


@pytest.mark.solver
@pytest.mark.parametrize("model,params,objective", _expected(), ids=lambda v: v if isinstance(v, str) else "")
def test_regression(model, params, objective):
    problem, _ = load()
    result = locate(problem, model, options=SolverOptions(mip_rel_gap=1e-9, threads=1), **_kw(params))
    assert result.info.proven_optimal
    assert math.isclose(result.objective, objective, rel_tol=1e-7, abs_tol=1e-7)
    assert verify(problem, result).ok


if __name__ == "__main__" and "--regenerate" in sys.argv:
    regenerate()
