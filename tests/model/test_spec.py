"""ModelSpec: one model's rules in one place (issue 14)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from siting.core.errors import InfeasibleError, ScenarioError
from siting.core.problem import Problem
from siting.model import MODELS, ModelSpec, build_p_median
from siting.model.median import extract_assignment
from siting.model.spec import OBJECTIVES
from siting.pipeline.locate import ALGORITHMS, locate
from siting.provenance.memory import model_size
from siting.single.verify import verify


def _problem(n: int = 9, m: int = 5, seed: int = 4) -> Problem:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 40, (n, 2)), rng.uniform(0, 40, (m, 2))
    d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    return Problem.from_cost_matrix(d, weights=rng.integers(1, 9, n), capacity=rng.integers(10, 30, m))


def test_every_spec_is_complete() -> None:
    for spec in MODELS.values():
        assert spec.objective in OBJECTIVES
        assert spec.algorithm is None or spec.algorithm in ALGORITHMS
        assert spec.p_from is None or spec.p_from in MODELS
        assert (spec.decay_role is not None) == ("decay" in spec.accepts)
        assert spec.needs <= spec.accepts and set(spec.defaults) <= spec.accepts


def test_a_bad_spec_is_refused() -> None:
    spec = MODELS["p-median"]
    with pytest.raises(ValueError, match="objective 'median'"):
        dataclasses.replace(spec, objective="median")
    with pytest.raises(ValueError, match="decay_role"):
        dataclasses.replace(spec, decay_role=None)
    with pytest.raises(ValueError, match="needs and defaults"):
        dataclasses.replace(spec, defaults={"radius_km": 3.0})


def test_memory_shape_and_capacity_rows_come_from_the_spec() -> None:
    problem = _problem()
    assign = model_size(problem, "uflp")
    assert model_size(problem, MODELS["uflp"]) == assign
    cover = dataclasses.replace(MODELS["uflp"], size_shape="cover")
    assert model_size(problem, cover, {"radius_km": 1e9}) != assign
    capacitated = model_size(problem, "cflp")
    assert capacitated[1] == assign[1] + problem.n_candidates  # a capacity row per site


def test_uses_algorithm_only_for_the_parameters_it_covers() -> None:
    spec = MODELS["p-median"]
    assert spec.uses_algorithm({"p": 3})
    assert not spec.uses_algorithm({"p": 3, "budget_cny": 10.0})
    assert MODELS["p-center"].uses_algorithm({"p": 2, "budget_cny": 10.0})
    assert not MODELS["mclp"].uses_algorithm({"p": 2, "radius_km": 5.0})


def test_the_capacity_flag_drives_the_precheck(monkeypatch: pytest.MonkeyPatch) -> None:
    problem = Problem.from_cost_matrix(np.array([[1.0, 2.0]]), weights=[50.0], capacity=[10.0, 10.0])
    # uflp ignores capacities; flagged capacitated, the same model is refused before solving
    monkeypatch.setitem(MODELS, "uflp", dataclasses.replace(MODELS["uflp"], capacitated=True))
    with pytest.raises(InfeasibleError, match="total capacity 20 of the allowed sites is below total demand 50"):
        locate(problem, "uflp")


@pytest.mark.solver
def test_a_new_model_is_one_registry_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A model registered only in MODELS is parsed, prechecked, solved, read back and verified."""
    spec = ModelSpec(name="p-median-budget", build=build_p_median, extract=extract_assignment, sense="min",
                     needs=frozenset({"p", "budget_cny"}), accepts=frozenset({"p", "budget_cny"}), assigns_all=True,
                     count=True, radius=False, objective="weighted-impedance",
                     summary="p-median under a budget (a test model)")
    monkeypatch.setitem(MODELS, spec.name, spec)
    problem = _problem()
    with pytest.raises(ScenarioError, match="needs --budget-cny"):
        locate(problem, spec.name, p=2)
    result = locate(problem, spec.name, p=2, budget_cny=1e9)
    plain = locate(problem, "p-median", p=2)
    assert result.model == spec.name and verify(problem, result).ok
    assert result.objective == pytest.approx(plain.objective, rel=1e-9)
