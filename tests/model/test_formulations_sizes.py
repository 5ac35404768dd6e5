"""Model sizes and index sets, without solving: variables only over allowed pairs and allowed sites."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
import pytest

from siting.core.errors import ScenarioError
from siting.model import MODELS, Decay, build_cflp, build_lscp, build_mclp, build_p_center, build_p_center_decision, build_p_median, get_model
from siting.core.problem import Problem


def _counts(model):
    nv = sum(1 for _ in model.component_data_objects(pyo.Var))
    nc = sum(1 for _ in model.component_data_objects(pyo.Constraint, active=True))
    nbin = sum(1 for v in model.component_data_objects(pyo.Var) if v.is_binary())
    nfix = sum(1 for v in model.component_data_objects(pyo.Var) if v.fixed)
    return nv, nc, nbin, nfix


@pytest.fixture
def problem():
    d = np.array(
        [
            [1.0, 5.0, np.inf, 9.0],
            [2.0, np.inf, 3.0, 8.0],
            [7.0, 4.0, 2.0, np.inf],
            [np.inf, 6.0, 1.0, 3.0],
            [5.0, 5.0, 5.0, 5.0],
        ]
    )
    return Problem.from_cost_matrix(
        d, weights=[1, 2, 3, 4, 5], fixed_cost_cny=[10, 20, 30, 40], capacity=[10, np.inf, 8, 9],
        required=[False, True, False, False], forbidden=[False, False, False, True],
    )


def test_p_median_indexes_only_allowed_pairs_and_sites(problem):
    # 16 listed pairs, 4 of them to the forbidden site 3 -> 12 pairs; sites 0, 1, 2
    model = build_p_median(problem, p=2)
    nv, nc, nbin, nfix = _counts(model)
    assert list(model.J) == [0, 1, 2]
    assert nv == 12 + 3 and nbin == 3 and nfix == 1 and model.y[1].fixed
    assert nc == 5 + 12 + 1  # assignment rows, links x <= y, count
    assert model.ix.k == 12


def test_cutoff_and_budget_change_the_size(problem):
    model = build_p_median(problem, p=2, max_distance_km=4.0, budget_cny=50)
    # pairs with d <= 4 to sites 0..2: (0,0) (1,0) (1,2) (2,1) (2,2) (3,2) -> 6
    nv, nc, *_ = _counts(model)
    assert nv == 6 + 3
    assert nc == 5 + 6 + 1 + 1
    assert model.families["budget"][0].upper == 50


def test_cflp_capacity_rows_only_for_finite_capacities(problem):
    model = build_cflp(problem)
    assert list(model.JC) == [0, 2]
    assert not hasattr(model, "cover_demand")  # an unlimited site makes the aggregate cut useless
    single = build_cflp(problem, single_source=True)
    assert all(single.x[k].is_binary() for k in single.K)
    assert all(not model.x[k].is_binary() for k in model.K)


def test_coverage_models_use_site_variables_and_radius(problem):
    model = build_mclp(problem, radius_km=3.0, p=2)
    # within 3 km of sites 0..2: demand 0 (site 0), 1 (0, 2), 2 (2), 3 (2); demand 4 cannot be covered
    assert list(model.C) == [0, 1, 2, 3]
    nv, nc, nbin, _ = _counts(model)
    assert nv == 3 + 4 and nbin == 3 and nc == 4 + 1
    lscp = build_lscp(problem, radius_km=3.0)
    nv, nc, *_ = _counts(lscp)
    assert nv == 3 and nc == 5  # one cover row per demand (the uncoverable one is infeasible)


def test_p_center_formulations(problem):
    model = build_p_center(problem, p=2, formulation="assignment")
    nv, nc, *_ = _counts(model)
    assert nv == 12 + 3 + 1
    assert nc == 5 + 12 + 1 + 5  # assignment rows, links, count, one radius row per demand
    # radius formulation: 10 (demand, distinct distance) groups, 5 of them not the last of their demand;
    # B = max nearest distance = 5; next distances above 5: d2 -> 7, d3 -> 6, so levels {6, 7}
    model = build_p_center(problem, p=2)
    nv, nc, nbin, _ = _counts(model)
    assert (nv, nbin) == (3 + 5 + 2, 3)
    assert nc == 10 + 2 + 1 + 1  # serve rows, level links, chain, count
    assert len(model.ZG) == 5 and list(model.S) == [1, 2]
    for s in model.S:
        model.u[s].set_value(0.0)
    assert pyo.value(model.obj) == 5.0  # the base B
    for s in model.S:
        model.u[s].set_value(1.0)
    assert pyo.value(model.obj) == 7.0  # the largest level


def test_p_center_decision_model(problem):
    model = build_p_center_decision(problem, radius_km=3.0, p=2)
    nv, nc, *_ = _counts(model)
    assert nv == 3 and nc == 5 + 1
    assert model.cover[4].expr is not None


def test_registry_and_lookup():
    assert set(MODELS) == {"p-median", "p-center", "lscp", "lscp-b", "mclp", "attendance", "uflp", "cflp", "cflp-ss"}
    assert get_model(" P-Median ").name == "p-median"
    with pytest.raises(ScenarioError, match="unknown model"):
        get_model("p-medain")
    for spec in MODELS.values():
        assert spec.sense in ("min", "max") and spec.needs <= spec.accepts
        assert spec.build.__doc__ if not hasattr(spec.build, "func") else spec.build.func.__doc__


def test_decay_formulas():
    d = np.array([0.0, 0.5, 2.0, 10.0])
    assert np.allclose(Decay("linear", 2.0).transform(d), 2 * d)
    assert np.allclose(Decay("power", 2.0).transform(d), d**2)
    assert np.allclose(Decay("exponential", 0.1).transform(d), np.exp(0.1 * d))
    assert np.allclose(Decay("linear", 1.0, 4.0).factor(d), [1, 0.875, 0.5, 0])
    assert np.allclose(Decay("power", 2.0).factor(d), [1, 1, 0.25, 0.01])
    assert np.allclose(Decay("exponential", 0.1).factor(d), np.exp(-0.1 * d))
    assert Decay.parse("power:1.5") == Decay("power", 1.5)
    assert Decay.parse("linear:1:30") == Decay("linear", 1.0, 30.0)
    with pytest.raises(ScenarioError):
        Decay.parse("gaussian:1")
    with pytest.raises(ScenarioError):
        Decay("power", -1.0)
    with pytest.raises(ScenarioError, match="cutoff"):
        Decay("linear").factor(d)


def test_sizes_scale_with_pairs_not_n_times_m():
    rng = np.random.default_rng(1)
    n, m = 300, 200
    pi = np.repeat(np.arange(n), 5)
    pj = rng.integers(0, m, n * 5)
    key = np.unique(pi * m + pj)
    problem = Problem(
        demand_ids=[f"d{i}" for i in range(n)], weight=np.ones(n), candidate_ids=[f"c{j}" for j in range(m)],
        pair_demand=key // m, pair_candidate=key % m, distance_km=rng.uniform(1, 50, len(key)),
    )
    model = build_p_median(problem, p=5)
    nv, nc, *_ = _counts(model)
    assert nv == len(key) + m
    assert nc == n + len(key) + 1
