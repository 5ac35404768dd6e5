"""Prechecks: every provable infeasibility and bad parameter, all at once, naming the rows at fault."""

from __future__ import annotations

import numpy as np
import pytest

from siting.core.errors import InfeasibleError, ScenarioError
from siting.model import get_model
from siting.pipeline.locate import locate, model_params
from siting.single.precheck import check_params, precheck
from siting.core.problem import Problem


def _problem(**kw):
    d = np.array([[1.0, 2.0, 3.0], [2.0, 1.0, 9.0], [8.0, 9.0, 1.0], [np.inf, np.inf, np.inf]])
    args = dict(weights=[5, 5, 5, 5], candidate_ids=["A", "B", "C"], demand_ids=["d1", "d2", "d3", "d4"])
    args.update(kw)
    return Problem.from_cost_matrix(d, **args)


def _lines(excinfo):
    return excinfo.value.lines()


def test_p_too_large_and_too_small_and_unreachable_demand():
    problem = _problem(required=[True, True, False], forbidden=[False, False, True])
    with pytest.raises(InfeasibleError) as e:
        precheck(problem, get_model("p-median"), {"p": 3})
    lines = _lines(e)
    assert any("p = 3 but only 2 candidate sites can open (1 forbidden: C)" in s for s in lines)
    assert any("have no allowed candidate site" in s and "d4" in s and "d3" not in s for s in lines)
    with pytest.raises(InfeasibleError) as e:
        precheck(problem, get_model("p-median"), {"p": 1})
    assert any("p = 1 but 2 candidate sites are required: A, B" in s for s in _lines(e))


def test_unreachable_within_cutoff_and_radius():
    problem = _problem(weights=[5, 5, 5, 0], forbidden=[False, False, True])
    with pytest.raises(InfeasibleError) as e:
        precheck(problem, get_model("p-center"), {"p": 1, "max_distance_km": 5.0})
    line = next(s for s in _lines(e) if "demand point" in s)
    assert "d3" in line and "d4" in line and "cutoff 5 km" in line
    with pytest.raises(InfeasibleError) as e:
        precheck(problem, get_model("lscp"), {"radius_km": 1.5})
    assert any("within radius 1.5 km" in s and "d3" in s for s in _lines(e))
    # mclp does not need to serve everyone
    precheck(problem, get_model("mclp"), {"p": 1, "radius_km": 1.5})


def test_budget_defects():
    problem = _problem(fixed_cost_cny=[50, 60, 10], required=[True, True, False])
    with pytest.raises(InfeasibleError) as e:
        precheck(problem, get_model("uflp"), {"budget_cny": 100.0})
    assert any("below the fixed cost 110 CNY of the required sites: A, B" in s for s in _lines(e))
    problem = _problem(fixed_cost_cny=[50, 60, 70], weights=[5, 5, 5, 5])
    with pytest.raises(InfeasibleError) as e:
        precheck(problem, get_model("mclp"), {"p": 2, "radius_km": 3.0, "budget_cny": 100.0})
    assert any("cheapest 2 sites" in s and "110" in s for s in _lines(e))


def test_capacity_defects():
    d = np.array([[1.0, 2.0], [2.0, np.inf], [3.0, 1.0]])
    problem = Problem.from_cost_matrix(d, weights=[10, 30, 10], capacity=[25, 20], demand_ids=["a", "b", "c"])
    with pytest.raises(InfeasibleError) as e:
        precheck(problem, get_model("cflp"), {})
    lines = _lines(e)
    assert any("total capacity 45 of the allowed sites is below total demand 50" in s for s in lines)
    assert any("exceed the total capacity it can reach: b" in s for s in lines)
    problem = Problem.from_cost_matrix(d, weights=[10, 5, 22], capacity=[20, 21], demand_ids=["a", "b", "c"])
    precheck(problem, get_model("cflp"), {})  # split: c can use both sites
    with pytest.raises(InfeasibleError) as e:
        precheck(problem, get_model("cflp-ss"), {})
    assert any("every single capacity it can reach: c" in s for s in _lines(e))


def test_parameter_errors_all_at_once():
    with pytest.raises(ScenarioError) as e:
        check_params(get_model("p-median"), {"radius_km": -1.0})
    lines = _lines(e)
    assert "--p: model p-median needs --p" in lines
    assert any(s.startswith("--radius-km: model p-median does not use --radius-km") for s in lines)
    assert any(s.startswith("--radius-km: must be a finite number > 0") for s in lines)
    with pytest.raises(ScenarioError) as e:
        model_params(get_model("mclp"), p=0, decay="power")
    lines = _lines(e)
    assert any("needs --radius-km" in s for s in lines)
    assert any("--p: must be a whole number >= 1" in s for s in lines)
    assert any("does not use --decay" in s for s in lines)
    with pytest.raises(ScenarioError, match="cutoff"):
        model_params(get_model("attendance"), p=1, decay="linear")
    assert model_params(get_model("attendance"), p=1, decay="linear", max_distance_km=30)["decay"].cutoff_km == 30


@pytest.mark.solver
def test_solver_infeasibility_names_the_constraint_family():
    # total capacity suffices, but site B only reaches demand b and A cannot take a + c
    d = np.array([[1.0, np.inf], [np.inf, 1.0], [2.0, np.inf]])
    problem = Problem.from_cost_matrix(d, weights=[10, 5, 10], capacity=[15, 30], demand_ids=["a", "b", "c"])
    with pytest.raises(InfeasibleError) as e:
        locate(problem, "cflp")
    (line,) = _lines(e)
    assert "likely at fault" in line and line.endswith(": capacity")
    assert "budget" not in line
