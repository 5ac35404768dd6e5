"""The independent verifier accepts solver answers and rejects tampered ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from siting.pipeline.locate import locate
from siting.core.problem import Problem
from siting.core.results import Result, SolutionStatus, SolveInfo, TerminationCondition
from siting.single.verify import Verdict, verify


def _problem(**kw):
    rng = np.random.default_rng(7)
    a, b = rng.uniform(0, 50, (8, 2)), rng.uniform(0, 50, (5, 2))
    d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    args = dict(weights=rng.integers(1, 10, 8), fixed_cost_cny=[100, 120, 90, 150, 80], capacity=[30, 30, 25, 40, 20])
    args.update(kw)
    return Problem.from_cost_matrix(d, **args)


def _tamper(result, *, open_=None, allocation=None, objective=None, params=None):
    info = result.info if objective is None else dataclasses.replace(result.info, objective=objective)
    return dataclasses.replace(
        result,
        info=info,
        open=result.open if open_ is None else np.asarray(open_, dtype=np.int64),
        allocation=result.allocation if allocation is None else allocation,
        params=result.params if params is None else params,
    )


def _fails(problem, result, words):
    v = verify(problem, result)
    assert isinstance(v, Verdict)
    assert not v.ok
    assert any(words in line for line in v.problems), v.problems
    return v


@pytest.mark.solver
def test_cflp_tampering_is_caught():
    problem = _problem()
    res = locate(problem, "cflp-ss", check=False)
    v = verify(problem, res)
    assert v.ok and v.objective == pytest.approx(res.objective)
    assert "capacities respected" in v.checks
    # assign one demand to a closed site
    closed = np.setdiff1d(np.arange(5), res.open)[0]
    x = res.allocation.copy()
    i0 = problem.pair_demand == 0
    x[i0] = 0.0
    x[np.flatnonzero(i0 & (problem.pair_candidate == closed))] = 1.0
    _fails(problem, _tamper(res, allocation=x), "only by open sites")
    # pile all demand on one open site: capacity exceeded
    j = res.open[0]
    x = (problem.pair_candidate == j).astype(float)
    _fails(problem, _tamper(res, allocation=x), "capacities respected")
    # split a demand: single sourcing broken
    x = res.allocation.copy()
    k = np.flatnonzero(x > 0.5)[0]
    x[k] = 0.5
    _fails(problem, _tamper(res, allocation=x), "single sourcing")
    # demand unserved
    x = res.allocation.copy()
    x[k] = 0.0
    _fails(problem, _tamper(res, allocation=x), "served exactly once")
    # objective misreported
    _fails(problem, _tamper(res, objective=res.objective * 0.99), "objective")
    # allocation of the wrong length
    _fails(problem, _tamper(res, allocation=np.zeros(3)), "one finite value per allowed pair")


@pytest.mark.solver
def test_p_median_count_required_forbidden_budget_cutoff():
    problem = _problem(required=[True, False, False, False, False], forbidden=[False, False, False, False, True])
    res = locate(problem, "p-median", p=2, budget_cny=400, max_distance_km=45, check=False)
    assert verify(problem, res).ok
    others = [j for j in range(4) if j not in res.open]
    _fails(problem, _tamper(res, open_=list(res.open) + [others[0]]), "equals p")
    _fails(problem, _tamper(res, open_=sorted(set(res.open) - {0}) + [others[0]]), "required sites are open")
    _fails(problem, _tamper(res, open_=sorted(list(res.open) + [4]), params={**res.params, "p": 3}), "forbidden")
    _fails(problem, _tamper(res, params={**res.params, "budget_cny": 50.0}), "budget")
    far = np.flatnonzero(problem.distance_km > 20)
    x = np.zeros(problem.n_pairs)
    k = far[0]
    x[k] = 1.0
    _fails(problem, _tamper(res, allocation=x, params={**res.params, "max_distance_km": 20.0}), "cutoff")
    _fails(problem, _tamper(res, open_=[3, 1]), "distinct candidate indices")


@pytest.mark.solver
def test_coverage_models_tampering():
    problem = _problem()
    res = locate(problem, "lscp", radius_km=25, check=False)
    assert verify(problem, res).ok
    _fails(problem, _tamper(res, open_=res.open[:-1], allocation=np.zeros(problem.n_pairs)), "covered within the radius")
    mc = locate(problem, "mclp", radius_km=12, p=1, check=False)
    assert verify(problem, mc).ok
    _fails(problem, _tamper(mc, objective=mc.objective + 1), "objective")
    _fails(problem, _tamper(mc, allocation=np.zeros(problem.n_pairs)), "covered demand")


def test_no_solution_and_unknown_model():
    problem = _problem()
    info = SolveInfo(TerminationCondition.TIME_LIMIT, SolutionStatus.NO_SOLUTION)
    empty = Result("p-median", info, np.zeros(0, np.int64), np.zeros(0), {"p": 2})
    v = verify(problem, empty)
    assert not v.ok and np.isnan(v.objective)
    assert not verify(problem, dataclasses.replace(empty, model="nonsense")).ok


def test_hand_built_solution_is_checked_without_a_solver():
    d = np.array([[1.0, 4.0], [3.0, 1.0], [2.0, 2.0]])
    problem = Problem.from_cost_matrix(d, weights=[1, 2, 3])
    info = SolveInfo(TerminationCondition.OPTIMAL, SolutionStatus.OPTIMAL, objective=1 * 1 + 2 * 1 + 3 * 2)
    x = np.array([1, 0, 0, 1, 1, 0], dtype=float)  # pairs sorted by demand, then site
    good = Result("p-median", info, np.array([0, 1]), x, {"p": 2})
    assert verify(problem, good).ok
    # p-center objective is the largest distance
    pc = Result("p-center", dataclasses.replace(info, objective=2.0), np.array([0, 1]), x, {"p": 2})
    assert verify(problem, pc).objective == 2.0 and verify(problem, pc).ok
    # a not-proven-optimal run may report worse than what its solution achieves, never better
    feas = dataclasses.replace(info, status=SolutionStatus.FEASIBLE, termination=TerminationCondition.TIME_LIMIT)
    assert verify(problem, dataclasses.replace(good, info=dataclasses.replace(feas, objective=10.0))).ok
    assert not verify(problem, dataclasses.replace(good, info=dataclasses.replace(feas, objective=8.0))).ok
