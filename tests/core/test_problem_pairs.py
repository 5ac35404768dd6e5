"""Pairs of a Problem: stored in (demand, candidate) order whatever the input order; a pair listed twice is
refused."""

from __future__ import annotations

import numpy as np
import pytest

from siting.core.errors import DataError
from siting.core.problem import Problem


def _problem(pi, pj, d) -> Problem:
    return Problem(demand_ids=["a", "b", "c"], weight=[1, 2, 3], candidate_ids=["x", "y"],
                   pair_demand=np.asarray(pi), pair_candidate=np.asarray(pj), distance_km=np.asarray(d, float))


def test_unsorted_pairs_are_stored_sorted_with_their_distances() -> None:
    prob = _problem([2, 0, 1, 0], [1, 1, 0, 0], [5.0, 2.0, 3.0, 1.0])
    assert prob.pair_demand.tolist() == [0, 0, 1, 2]
    assert prob.pair_candidate.tolist() == [0, 1, 0, 1]
    assert prob.distance_km.tolist() == [1.0, 2.0, 3.0, 5.0]
    assert prob.matrix().toarray()[2, 1] == 5.0


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 0, 1]])
def test_a_pair_listed_twice_is_refused_in_any_order(order: list[int]) -> None:
    pi, pj, d = np.array([0, 1, 0]), np.array([1, 0, 1]), np.array([1.0, 2.0, 3.0])
    with pytest.raises(DataError, match="listed twice"):
        _problem(pi[order], pj[order], d[order])


def test_from_cost_matrix_keeps_the_matrix() -> None:
    c = np.array([[1.0, np.inf], [2.0, 3.0], [np.inf, 4.0]])
    prob = Problem.from_cost_matrix(c)
    np.testing.assert_array_equal(prob.matrix().toarray(), np.where(np.isfinite(c), c, 0.0))
    assert len(prob.pair_demand) == 4
