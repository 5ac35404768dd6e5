"""The multi-tier warm start: rounded open sets keep every rule, and the start is a feasible MIP point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siting.core.options import SolverOptions
from siting.model.multitier import build_multitier
from siting.network.polish import colocation_ok, rules_ok, tree_cost
from siting.network.start import (
    ROOT_LP_PARALLEL,
    network_warm_start,
    idle_cores,
    root_lp_options,
    round_open_sets,
)
from siting.scenario.build import build_problem
from siting.scenario.load import load_scenario
from siting.solvers.highs import compile_model

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def express():
    return build_problem(load_scenario(REPO / "models" / "chongqing-express.toml"))


def _feasible(comp, x, tol=1e-6) -> bool:
    import scipy.sparse as sp

    lp = comp.lp
    a = sp.csc_matrix((np.asarray(lp.a_matrix_.value_), np.asarray(lp.a_matrix_.index_),
                       np.asarray(lp.a_matrix_.start_)), shape=(lp.num_row_, lp.num_col_))
    ax = a @ x
    ok_rows = np.all(ax >= np.asarray(lp.row_lower_) - tol) and np.all(ax <= np.asarray(lp.row_upper_) + tol)
    ok_cols = np.all(x >= np.asarray(lp.col_lower_) - tol) and np.all(x <= np.asarray(lp.col_upper_) + tol)
    ints = comp.integer
    return bool(ok_rows and ok_cols and np.all(np.abs(x[ints] - np.round(x[ints])) <= tol))


def test_rounding_any_scores_keeps_the_rules(express):
    rng = np.random.default_rng(0)
    for _ in range(5):
        score = [rng.random(t.size) for t in express.tiers]
        opened = round_open_sets(express, score)
        assert opened is not None
        assert all(rules_ok(express, t, opened[t]) for t in range(express.n_tiers))
        assert colocation_ok(express, opened)
        assert np.isfinite(tree_cost(express, opened))  # every demand served, every facility has a parent


@pytest.mark.solver
def test_warm_start_is_a_feasible_point_of_the_model(express):
    built = build_multitier(express)
    comp = compile_model(built.model)
    # a tiny gap forces the start to be made (the express LP is nearly integral)
    x0, info = network_warm_start(built, comp, options=SolverOptions(mip_rel_gap=1e-9, threads=1),
                                  polish_seconds=1.0)
    assert x0 is not None and len(x0) == len(comp.columns)
    assert _feasible(comp, x0)
    # its objective in the model is the cheapest-tree cost reported, and it is above the LP bound
    assert float(np.asarray(comp.lp.col_cost_) @ x0 + comp.lp.offset_) / built.objective_scale == pytest.approx(
        info["polished_cny"], rel=1e-9)
    assert info["lp_bound_cny"] <= info["polished_cny"] <= info["rounded_cny"] * (1 + 1e-12)


@pytest.mark.solver
def test_nearly_integral_lp_closes_at_the_root(express, monkeypatch):
    """A rounding within the gap of the LP bound is the answer: a feasible point, no MIP run, the LP's bound."""
    import siting.solvers.highs as highs_mod
    from siting.network.start import solve_escalating

    built = build_multitier(express)
    comp = compile_model(built.model)
    opts = SolverOptions(mip_rel_gap=0.05, threads=1)
    x0, info = network_warm_start(built, comp, options=opts)
    assert info["closed"] and info["rounded_cny"] - info["lp_bound_cny"] <= 0.05 * info["rounded_cny"]
    assert x0 is not None and _feasible(comp, x0)
    assert info["polished_cny"] == info["rounded_cny"]

    def no_mip(*_a, **_k):
        raise AssertionError("the MIP must not run when the root closes the gap")

    monkeypatch.setattr(highs_mod, "solve_to_info", no_mip)
    res = solve_escalating(built, comp, options=opts, build_seconds=0.0)
    assert res.proven_optimal and res.gap <= 0.05
    assert res.bound / built.objective_scale == pytest.approx(info["lp_bound_cny"], rel=1e-9)
    assert res.objective / built.objective_scale == pytest.approx(info["rounded_cny"], rel=1e-9)


@pytest.mark.solver
def test_solve_starts_from_the_lp_and_keeps_the_best_proven_bound(monkeypatch):
    """One LP, then one MIP from the rounded and polished start; a bound worse than the LP's is replaced by
    the LP's (both are proven bounds)."""
    from dataclasses import replace

    import siting.pipeline.run as run_mod
    import siting.solvers.highs as highs_mod
    from siting.network.verify import verify_network

    problem = build_problem(load_scenario(REPO / "models" / "example.toml"))
    calls = []
    real = highs_mod.solve_to_info

    def spy(model, **kw):
        info = real(model, **kw)
        calls.append(kw)
        return replace(info, bound=info.bound - 1e6)  # pretend HiGHS proved less than its root LP

    monkeypatch.setattr(highs_mod, "solve_to_info", spy)
    import siting.network.start as start_mod

    real_start = start_mod.network_warm_start

    def not_closed(*a, **k):  # the example's LP is integral: pretend its rounding missed the gap, so the MIP runs
        x0, info = real_start(*a, **k)
        return x0, {**info, "closed": False}

    monkeypatch.setattr(start_mod, "network_warm_start", not_closed)
    res = run_mod.solve_network(problem, options=SolverOptions(time_limit_s=60, mip_rel_gap=1e-6, threads=1))
    assert len(calls) == 1 and calls[0]["options"].time_limit_s <= 60
    assert verify_network(problem, res).ok
    built = build_multitier(problem)
    lp = highs_mod.run_highs(compile_model(built.model), options=SolverOptions(threads=1), relax=True, load=False)
    assert res.info.bound == pytest.approx(lp.objective / built.objective_scale, rel=1e-9)
    assert res.info.bound <= res.info.objective * (1 + 1e-9)


@pytest.mark.solver
def test_warm_start_without_the_lp_rounds_reachable_demand(express, monkeypatch):
    """When the LP does not finish (a loaded machine), the start rounds a combinatorial score: still a
    feasible point of the model, polished, and no LP bound is claimed."""
    import siting.solvers.highs as highs_mod
    from siting.network.start import reach_scores

    scores = reach_scores(express)
    assert all(np.all((s >= 0) & (s <= 1)) for s in scores)
    opened = round_open_sets(express, scores)
    assert opened is not None and all(rules_ok(express, t, opened[t]) for t in range(express.n_tiers))

    real = highs_mod.run_highs

    def no_lp(comp, **kw):
        out = real(comp, **kw)
        if kw.get("relax"):
            out.has_solution = False  # as if the LP's time limit had struck
        return out

    monkeypatch.setattr(highs_mod, "run_highs", no_lp)
    built = build_multitier(express)
    comp = compile_model(built.model)
    x0, info = network_warm_start(built, comp, options=SolverOptions(mip_rel_gap=1e-9, threads=1),
                                  polish_seconds=1.0)
    assert x0 is not None and _feasible(comp, x0)
    assert info["lp_bound_cny"] == -np.inf and info["polished_cny"] <= info["rounded_cny"] * (1 + 1e-12)


@pytest.mark.solver
def test_warm_start_falls_back_to_the_aggregated_lp(express, monkeypatch):
    """When only the strong LP fails, the aggregated formulation's LP gives the scores and a (weaker) bound."""
    import siting.solvers.highs as highs_mod

    built = build_multitier(express)
    comp = compile_model(built.model)
    strong = highs_mod.run_highs(comp, options=SolverOptions(threads=1), relax=True, load=False)
    real = highs_mod.run_highs
    seen = []

    def first_lp_fails(c, **kw):
        out = real(c, **kw)
        if kw.get("relax"):
            seen.append(c)
            if len(seen) == 1:
                out.has_solution = False
        return out

    monkeypatch.setattr(highs_mod, "run_highs", first_lp_fails)
    x0, info = network_warm_start(built, comp, options=SolverOptions(mip_rel_gap=1e-9, threads=1),
                                  polish_seconds=1.0)
    assert len(seen) == 2 and seen[1].data.num_col < comp.data.num_col
    assert x0 is not None and _feasible(comp, x0)
    assert info["lp_bound_cny"] <= strong.objective / built.objective_scale * (1 + 1e-9)
    assert info["lp_bound_cny"] <= info["polished_cny"]


def test_root_lp_runs_parallel_dual_simplex_unless_one_thread_or_the_caller_chose() -> None:
    assert root_lp_options(SolverOptions(threads=2), idle=2.0).extra == ROOT_LP_PARALLEL
    assert root_lp_options(SolverOptions(), idle=1.6).extra == ROOT_LP_PARALLEL
    assert root_lp_options(SolverOptions(threads=1), idle=2.0).extra == {}
    mine = SolverOptions(threads=2, extra={"simplex_strategy": 1})
    assert root_lp_options(mine, idle=2.0) is mine
    ipm = SolverOptions(extra={"solver": "ipm"})
    assert root_lp_options(ipm, idle=2.0) is ipm


def test_root_lp_stays_serial_on_busy_cores() -> None:
    # PAMI spins on busy cores: the express root LP took 2 s serial and did not finish in 45 s with PAMI
    busy = SolverOptions(threads=2)
    assert root_lp_options(busy, idle=1.2) is busy
    assert root_lp_options(SolverOptions(threads=4), idle=3.0).extra == {}


def test_idle_cores_reads_the_cpu_counters_now(monkeypatch) -> None:
    # the idle share of the machine's counters over the sample, not the lagging load average
    import os

    import siting.network.start as start

    assert 0.0 <= idle_cores() <= len(os.sched_getaffinity(0))
    samples = iter([(1000.0, 4000.0), (1050.0, 4100.0)])  # half of the last 100 jiffies idle
    monkeypatch.setattr(start, "_cpu_counters", lambda: next(samples))
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    monkeypatch.setattr(os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert idle_cores(sample_s=0.0) == 1.0


@pytest.mark.solver
def test_the_weak_lp_fallback_is_serial(express, monkeypatch):
    """The aggregated LP runs when the full one did not finish, most often on busy cores: never with PAMI."""
    import siting.network.start as start
    import siting.solvers.highs as highs_mod

    built = build_multitier(express)
    comp = compile_model(built.model)
    real = highs_mod.run_highs
    extras = []

    def first_lp_fails(c, **kw):
        out = real(c, **kw)
        if kw.get("relax"):
            extras.append(kw["options"].extra)
            if len(extras) == 1:
                out.has_solution = False
        return out

    monkeypatch.setattr(highs_mod, "run_highs", first_lp_fails)
    monkeypatch.setattr(start, "idle_cores", lambda: 2.0)
    network_warm_start(built, comp, options=SolverOptions(threads=2, time_limit_s=60), polish_seconds=1.0)
    assert extras == [ROOT_LP_PARALLEL, {}]


def test_load_solution_makes_the_model_objective_price_that_solution():
    # the warm start loads its polished open sets with MultiTierModel.load_solution (a public method: it is used
    # from siting.network.start); the model's objective at the loaded point is the exact tree cost
    import pyomo.environ as pyo

    from siting.model.tree import cheapest_tree
    from network_cases import random_network

    p = random_network(3)
    built = build_multitier(p)
    opened = tuple(np.ones(t.size, dtype=bool) for t in p.tiers)
    used, flow = cheapest_tree(p, opened)
    built.load_solution(opened, used, flow)
    assert float(pyo.value(built.model.obj.expr)) / built.objective_scale == pytest.approx(tree_cost(p, opened))
    got_open, got_used, _ = built.solution()
    assert all(np.array_equal(a, b) for a, b in zip(got_open, opened))
    assert all(np.array_equal(a, b) for a, b in zip(got_used, used))
