"""Our branch-and-Benders-cut tree for p-median, checked against brute force.

``heuristics=False`` turns off the greedy start and every local search, so the tree has to find the optimum
from its own integral nodes and prove it; ``node_limit`` checks the bound it reports when stopped early.
"""

from __future__ import annotations

import numpy as np
import pytest
from pmedian_brute import brute_pmedian  # tests/support

from siting.algorithms.benders import solve_pmedian_benders
from siting.core.options import SolverOptions
from siting.core.problem import Problem
from siting.core.results import TerminationCondition
from siting.single.verify import verify


def _instance(seed: int, *, n: int = 40, m: int = 16, integral: bool = True, sparse: bool = False):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    d = np.floor(d) if integral else d
    if sparse:
        d[d > 55] = np.inf
        d[np.arange(n), rng.integers(0, m, n)] = 7.0  # every demand keeps one candidate
    w = rng.integers(1, 9, n).astype(float) if integral else rng.uniform(0.5, 3.0, n)
    return d, w


@pytest.mark.solver
@pytest.mark.parametrize("seed", range(8))
def test_tree_alone_finds_and_proves_the_optimum(seed: int) -> None:
    integral, sparse = seed % 2 == 0, seed in (5, 6, 7)
    d, w = _instance(seed, integral=integral, sparse=sparse)
    m = d.shape[1]
    rng = np.random.default_rng(100 + seed)
    required, forbidden = np.zeros(m, bool), np.zeros(m, bool)
    if seed >= 3:
        required[rng.integers(m)] = True
        forbidden[np.flatnonzero(~required)[:2]] = True
    prob = Problem.from_cost_matrix(d, weights=w, required=required, forbidden=forbidden)
    for p in (2, 3, 5):
        ref = brute_pmedian(d, w, p, required, forbidden)
        if not np.isfinite(ref):
            continue
        res = solve_pmedian_benders(prob, p=p, heuristics=False)
        assert res.info.proven_optimal, (seed, p, res.info.describe())
        assert res.objective == pytest.approx(ref, rel=1e-9, abs=1e-9), (seed, p, res.params)
        assert res.params["tree"] == "own"
        assert verify(prob, res).ok and res.open.size == p
        assert required[res.open].sum() == required.sum()
        assert not forbidden[res.open].any()


def _graph_instance(tmp_path) -> Problem:
    """OR-Library-style graph, n = 60, p = 4 (seed 2): its root LP bound (4,784) is below the optimum."""
    from siting.bench.generate import write_pmed
    from siting.bench.orlib import read_pmed

    return read_pmed(write_pmed(tmp_path / "g60.txt", 60, 4, seed=2))


@pytest.mark.solver
def test_the_tree_branches_on_a_gap_instance_and_matches_brute_force(tmp_path) -> None:
    prob = _graph_instance(tmp_path)
    d = prob.matrix().toarray()
    ref = brute_pmedian(d, np.asarray(prob.weight, float), 4)
    res = solve_pmedian_benders(prob, p=4, heuristics=False)
    assert res.objective == ref and res.info.proven_optimal
    assert res.params["lp_bound"] < ref - 1  # the root LP alone would not have proven it
    assert res.params["tree_nodes"] > 1
    stopped = solve_pmedian_benders(prob, p=4, heuristics=False, node_limit=2)
    assert not stopped.info.proven_optimal
    assert stopped.info.termination is TerminationCondition.ITERATION_LIMIT
    assert res.params["lp_bound"] - 1e-9 <= stopped.info.bound <= ref
    if stopped.open.size:
        assert stopped.objective >= ref


@pytest.mark.solver
@pytest.mark.parametrize("seed", range(3))
def test_stopped_tree_reports_a_valid_bound(seed: int) -> None:
    d, w = _instance(20 + seed, n=60, m=18, integral=seed != 1)
    prob = Problem.from_cost_matrix(d, weights=w)
    ref = brute_pmedian(d, w, 4, np.zeros(18, bool), np.zeros(18, bool))
    res = solve_pmedian_benders(prob, p=4, heuristics=False, node_limit=1)
    assert res.info.bound <= ref + 1e-9
    if res.open.size:  # an integral node may already have been found
        assert res.objective >= ref - 1e-9


@pytest.mark.solver
def test_relative_gap_is_honoured_and_the_bound_stays_valid() -> None:
    d, w = _instance(31, n=60, m=18, integral=False)
    prob = Problem.from_cost_matrix(d, weights=w)
    ref = brute_pmedian(d, w, 3, np.zeros(18, bool), np.zeros(18, bool))
    res = solve_pmedian_benders(prob, p=3, heuristics=False, options=SolverOptions(mip_rel_gap=0.05))
    assert res.info.bound <= ref + 1e-9 <= res.objective + 2e-9
    assert res.objective <= res.info.bound * 1.05 + 1e-9


@pytest.mark.solver
def test_both_trees_agree() -> None:
    d, w = _instance(41, n=60, m=18)
    prob = Problem.from_cost_matrix(d, weights=w)
    own = solve_pmedian_benders(prob, p=3, tree="own")
    highs = solve_pmedian_benders(prob, p=3, tree="highs")
    assert own.objective == highs.objective and own.info.proven_optimal and highs.info.proven_optimal
    with pytest.raises(ValueError, match="tree must be"):
        solve_pmedian_benders(prob, p=3, tree="cplex", heuristics=False)


@pytest.mark.solver
def test_the_trees_local_search_runs_when_the_tree_stays_open_and_its_incumbent_is_used(tmp_path, monkeypatch
                                                                                        ) -> None:
    """With the first call moved to the tree's start, the incumbent's local search (iterated local search from
    :func:`~siting.algorithms.heuristics.perturbed_search`) runs inside the tree; the answer stays the
    brute-force optimum and proven."""
    import siting.algorithms.benders_tree as bt

    monkeypatch.setattr(bt, "IMPROVE_AFTER_S", 0.0)
    monkeypatch.setattr(bt, "IMPROVE_MIN_S", 0.05)
    prob = _graph_instance(tmp_path)
    ref = brute_pmedian(prob.matrix().toarray(), np.asarray(prob.weight, float), 4)
    res = solve_pmedian_benders(prob, p=4)
    assert res.objective == ref and res.info.proven_optimal
    assert res.params["tree_nodes"] > 1 and res.params["tree_improve_calls"] >= 1
