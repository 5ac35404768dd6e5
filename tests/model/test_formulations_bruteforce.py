"""Every single-level model is solved to its proven optimum on many small random instances.

The reference optimum comes from enumerating every set of open sites (and, for single-source CFLP, every
assignment; for split CFLP a transportation LP per site set with scipy's ``linprog``). It shares no code
with the formulations. Every solution is also checked by :func:`siting.single.verify.verify`.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import linprog

from siting.core.errors import InfeasibleError
from siting.pipeline.locate import locate
from siting.core.problem import Problem
from siting.core.results import SolutionStatus
from siting.core.options import SolverOptions
from siting.single.verify import verify

pytestmark = pytest.mark.solver

OPTIONS = SolverOptions(mip_rel_gap=1e-9, threads=1)
N_INSTANCES = 30


def _transform(d, decay):
    if decay is None:
        return d
    kind, beta, _ = decay
    return {"linear": beta * d, "power": d**beta, "exponential": np.exp(beta * d)}[kind]


def _factor(d, decay):
    kind, beta, cutoff = decay
    if kind == "linear":
        return np.maximum(0.0, 1.0 - d / cutoff)
    if kind == "power":
        return np.maximum(d, 1.0) ** -beta
    return np.exp(-beta * d)


def instance(model: str, seed: int):
    """A random instance and parameter set; about a third of the variants each use required/forbidden
    sites, budgets, cutoffs, missing pairs, decay."""
    rng = np.random.default_rng([seed, len(model), sum(map(ord, model))])
    small = model == "cflp-ss"
    n = int(rng.integers(3, 7 if small else 9))
    m = int(rng.integers(2, 6 if small else 7))
    a, b = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    dist = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    if rng.random() < 0.3:
        dist[rng.random((n, m)) < 0.2] = np.inf
    w = rng.integers(1, 21, n).astype(float)
    f = rng.uniform(20, 200, m).round(2)
    cap = None
    if model.startswith("cflp"):
        cap = rng.uniform(0.3, 0.9, m) * w.sum() * rng.uniform(1.0, 1.8 if small else 1.6) * 2 / m
        cap = cap.round(1)
    required = np.zeros(m, bool)
    forbidden = np.zeros(m, bool)
    if rng.random() < 0.35:
        required[rng.integers(m)] = True
    if rng.random() < 0.35:
        k = int(rng.integers(m))
        forbidden[k] = not required[k]
    params: dict = {}
    if model in ("p-median", "p-center", "mclp", "attendance"):
        params["p"] = int(rng.integers(1, min(3, m) + 1))
    if model == "mclp":
        finite = dist[np.isfinite(dist)]
        params["radius_km"] = float(np.quantile(finite, rng.uniform(0.2, 0.6)))
    if model in ("lscp", "lscp-b"):
        near = np.where(np.isfinite(dist), dist, 1e9).min(axis=1).max()
        params["radius_km"] = float(min(near, 150.0) * rng.uniform(0.95, 1.6))
    if model == "lscp" and rng.random() < 0.4:
        params["objective"] = "fixed_cost"
    if rng.random() < 0.5:
        params["budget_cny"] = float(f.sum() * rng.uniform(0.4, 0.85))
    if rng.random() < 0.3:
        finite = dist[np.isfinite(dist)]
        params["max_distance_km"] = float(np.quantile(finite, 0.75))
    if model in ("p-median", "uflp", "cflp", "cflp-ss") and rng.random() < 0.35:
        kind = ["linear", "power", "exponential"][int(rng.integers(3))]
        beta = {"linear": 2.0, "power": 1.5, "exponential": 0.02}[kind]
        params["decay"] = (kind, beta, None)
    if model == "attendance":
        kind = ["linear", "power", "exponential"][int(rng.integers(3))]
        beta = {"linear": 1.0, "power": 1.2, "exponential": 0.03}[kind]
        params["decay"] = (kind, beta, 80.0 if kind == "linear" else None)
    if model in ("uflp", "cflp", "cflp-ss"):
        params["cost_per_unit_km"] = float(rng.choice([1.0, 0.5]))
    problem = Problem.from_cost_matrix(
        dist, weights=w, fixed_cost_cny=f, capacity=cap, required=required, forbidden=forbidden,
        source=f"{model}#{seed}",
    )
    return problem, dist, params


def brute(model: str, problem: Problem, dist: np.ndarray, params: dict) -> float | None:
    """Optimum by enumeration (None when infeasible)."""
    n, m = dist.shape
    w = np.asarray(problem.weight)
    f = np.asarray(problem.fixed_cost_cny)
    d = dist.copy()
    if params.get("max_distance_km") is not None:
        d[d > params["max_distance_km"]] = np.inf
    decay = params.get("decay")
    r = params.get("radius_km")
    free = [j for j in range(m) if not problem.forbidden[j] and not problem.required[j]]
    req = [j for j in range(m) if problem.required[j]]
    best = None

    def better(v, cur):
        if cur is None:
            return True
        return v < cur - 1e-12 if sense == "min" else v > cur + 1e-12

    sense = "max" if model in ("mclp", "attendance", "lscp-b") else "min"
    sizes = range(0, len(free) + 1)
    if model == "lscp-b":
        count = brute("lscp", problem, dist, {**params, "objective": "count"})
        if count is None:
            return None
        params = {**params, "p": int(round(count))}
    for k in sizes:
        for extra in itertools.combinations(free, k):
            s = sorted(req + list(extra))
            if "p" in params and len(s) != params["p"]:
                continue
            if not s:
                continue
            fs = float(f[s].sum())
            if params.get("budget_cny") is not None and fs > params["budget_cny"] + 1e-9:
                continue
            ds = d[:, s]
            near = ds.min(axis=1)
            if model in ("lscp", "lscp-b", "mclp"):
                ncov = (ds <= r).sum(axis=1)
                if model == "mclp":
                    v = float(w[ncov >= 1].sum())
                elif not np.all(ncov >= 1):
                    continue
                elif model == "lscp":
                    v = fs if params.get("objective") == "fixed_cost" else float(len(s))
                else:
                    v = float(w[ncov >= 2].sum())
            elif model == "attendance":
                g = np.where(np.isfinite(ds), _factor(np.where(np.isfinite(ds), ds, 0), decay), 0.0)
                v = float((w * g.max(axis=1)).sum())
            else:
                if not np.all(np.isfinite(near)):
                    continue
                if model == "p-center":
                    v = float(near.max())
                elif model == "p-median":
                    v = float((w * _transform(near, decay)).sum())
                elif model == "uflp":
                    v = fs + params["cost_per_unit_km"] * float((w * _transform(near, decay)).sum())
                else:
                    cost = params["cost_per_unit_km"] * w[:, None] * _transform(np.where(np.isfinite(ds), ds, 0), decay)
                    v = _cflp_value(model, w, ds, cost, problem.capacity[s])
                    if v is None:
                        continue
                    v += fs
            if better(v, best):
                best = v
    return best


def _cflp_value(model, w, ds, cost, cap):
    n, s = ds.shape
    ok = np.isfinite(ds)
    if model == "cflp-ss":
        best = None
        choices = [np.flatnonzero(ok[i]) for i in range(n)]
        if any(len(c) == 0 for c in choices):
            return None
        for combo in itertools.product(*choices):
            load = np.bincount(combo, weights=w, minlength=s)
            if np.any(load > cap + 1e-9):
                continue
            v = float(cost[np.arange(n), combo].sum())
            if best is None or v < best:
                best = v
        return best
    # split: transportation LP over the allowed pairs, variables x[i, j] in [0, 1]
    idx = np.argwhere(ok)
    if len(np.unique(idx[:, 0])) < n:
        return None
    c = cost[idx[:, 0], idx[:, 1]]
    a_eq = np.zeros((n, len(idx)))
    a_eq[idx[:, 0], np.arange(len(idx))] = 1
    a_ub = np.zeros((s, len(idx)))
    a_ub[idx[:, 1], np.arange(len(idx))] = w[idx[:, 0]]
    fin = np.isfinite(cap)
    res = linprog(c, A_ub=a_ub[fin], b_ub=cap[fin], A_eq=a_eq, b_eq=np.ones(n), bounds=(0, 1), method="highs")
    return float(res.fun) if res.status == 0 else None


MODELS = ["p-median", "p-center", "lscp", "lscp-b", "mclp", "attendance", "uflp", "cflp", "cflp-ss"]


@pytest.mark.parametrize("formulation", ["radius", "assignment"])
def test_monolithic_p_center_formulations(formulation):
    """``locate`` solves p-center by bisection; the one-model formulations must agree with enumeration."""
    from siting.model import MODELS as SPECS
    from siting.model import build_p_center
    from siting.solvers.pyomo import solve_pyomo

    checked = 0
    for seed in range(N_INSTANCES):
        problem, dist, params = instance("p-center", seed)
        expected = brute("p-center", problem, dist, params)
        if expected is None:
            continue
        model = build_p_center(problem, formulation=formulation, **params)
        info = solve_pyomo(model, options=OPTIONS)
        assert info.status is SolutionStatus.OPTIMAL
        assert math.isclose(info.objective, expected, rel_tol=1e-6, abs_tol=1e-6), (seed, info.objective, expected)
        open_, alloc = SPECS["p-center"].extract(problem, model)
        from siting.core.results import Result

        verdict = verify(problem, Result("p-center", info, open_, alloc, dict(params)))
        assert verdict.ok, verdict.problems
        checked += 1
    assert checked >= N_INSTANCES // 2


@pytest.mark.parametrize("model", MODELS)
def test_optimal_against_enumeration(model):
    solved = infeasible = 0
    for seed in range(N_INSTANCES):
        problem, dist, params = instance(model, seed)
        kw = dict(params)
        if "decay" in kw:
            kind, beta, cutoff = kw["decay"]
            kw["decay"] = {"kind": kind, "beta": beta, "cutoff_km": cutoff}
        expected = brute(model, problem, dist, params)
        if expected is None:
            with pytest.raises(InfeasibleError):
                locate(problem, model, options=OPTIONS, **kw)
            infeasible += 1
            continue
        result = locate(problem, model, options=OPTIONS, check=False, **kw)
        assert result.info.status is SolutionStatus.OPTIMAL, (seed, result.info)
        verdict = verify(problem, result)
        assert verdict.ok, (seed, verdict.problems)
        assert math.isclose(result.objective, expected, rel_tol=1e-6, abs_tol=1e-6), (seed, params, result.objective, expected)
        assert math.isclose(verdict.objective, expected, rel_tol=1e-6, abs_tol=1e-6), (seed, verdict.objective, expected)
        solved += 1
    # the generator must exercise both outcomes but mostly feasible ones
    assert solved >= N_INSTANCES // 2, (solved, infeasible)
