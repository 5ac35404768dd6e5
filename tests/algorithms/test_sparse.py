"""Sparse p-median / UFLP route (:mod:`siting.algorithms.sparse`): bound <= optimum <= incumbent against brute
force and the exact solvers, the auto dispatch, and the memory estimate against a measured run."""

from __future__ import annotations

import gc
import itertools
import tracemalloc

import numpy as np
import pytest

from siting.algorithms.pmedian import solve_pmedian
from siting.algorithms.sparse import (
    SPARSE_SOLVER,
    solve_pmedian_sparse,
    solve_uflp_sparse,
)
from siting.algorithms.sparse_memory import choose_route, sparse_route_bytes
from siting.algorithms.sparse_pairs import nearest_two, penalty_cost, sparse_pairs
from siting.algorithms.sparse_search import LocalSearch
from siting.algorithms.warehouse import solve_uflp
from siting.core.errors import InfeasibleError
from siting.core.options import SolverOptions
from siting.core.problem import Problem
from siting.provenance.memory import route_bytes
from siting.single.verify import verify

#: the measured peak must be within this factor of the estimate, either way (stated in sparse_memory)
ESTIMATE_FACTOR = 1.5


def _problem(n: int, m: int, seed: int, *, radius: float = 45.0, fixed: bool = False,
             forbidden: int = 0, required: int = 0) -> Problem:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    d = np.round(np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1)), 2)
    fb = np.zeros(m, bool)
    fb[rng.choice(m, forbidden, replace=False)] = True
    rq = np.zeros(m, bool)
    rq[rng.choice(np.flatnonzero(~fb), required, replace=False)] = True
    near = np.argmin(np.where(fb[None, :], np.inf, d), axis=1)  # each demand keeps its nearest open-able site
    d[d > radius] = np.inf
    d[np.arange(n), near] = 1.0
    return Problem.from_cost_matrix(d, weights=rng.integers(1, 10, n), fixed_cost_cny=rng.uniform(50, 400, m)
                                    if fixed else None, forbidden=fb, required=rq)


def _value(prob: Problem, open_: tuple[int, ...], *, fixed: bool) -> float:
    c = np.full((prob.n_demand, prob.n_candidates), np.inf)
    c[prob.pair_demand, prob.pair_candidate] = prob.distance_km
    best = c[:, list(open_)].min(axis=1)
    v = float(prob.weight @ best) if np.all(np.isfinite(best)) else np.inf
    return v + (float(prob.fixed_cost_cny[list(open_)].sum()) if fixed else 0.0)


def _brute(prob: Problem, p: int | None) -> float:
    free = [j for j in range(prob.n_candidates) if not prob.forbidden[j] and not prob.required[j]]
    req = tuple(np.flatnonzero(prob.required))
    sizes = [p - len(req)] if p is not None else range(0 if req else 1, len(free) + 1)
    return min(_value(prob, req + s, fixed=p is None) for k in sizes for s in itertools.combinations(free, k))


# ------------------------------------------------------------------------------------------ no solver
def test_nearest_two_matches_dense() -> None:
    prob = _problem(40, 9, 0, radius=50)
    sp = sparse_pairs(prob)
    is_open = np.zeros(9, bool)
    is_open[[1, 4, 7]] = True
    near = nearest_two(sp, is_open, 1e9)
    c = np.full((40, 9), np.inf)
    c[prob.pair_demand, prob.pair_candidate] = prob.weight[prob.pair_demand] * prob.distance_km
    srt = np.sort(np.where(is_open[None, :], c, np.inf), axis=1)
    exp1, exp2 = np.where(np.isfinite(srt[:, 0]), srt[:, 0], 1e9), np.where(np.isfinite(srt[:, 1]), srt[:, 1], 1e9)
    assert np.allclose(near.d1, exp1) and np.allclose(near.d2, exp2)
    # the same for a subset of rows
    rows = np.array([3, 10, 11, 30])
    sub = nearest_two(sp, is_open, 1e9, rows)
    assert np.allclose(sub.d1, exp1[rows]) and np.allclose(sub.d2, exp2[rows])


def test_local_search_gains_stay_exact_after_moves() -> None:
    """The incremental gain / loss / extra tables equal a fresh computation after a series of moves."""
    prob = _problem(80, 15, 1, radius=40)
    sp = sparse_pairs(prob)
    pen = penalty_cost(sp, np.zeros(15))
    start = np.zeros(15, bool)
    start[:4] = True
    ls = LocalSearch(sp, start, fixed=np.zeros(15), penalty=pen, can_open=np.ones(15, bool),
                     can_close=np.ones(15, bool), swaps_only=True)
    ls.run(max_moves=5, refresh=10_000)
    fresh = LocalSearch(sp, ls.open, fixed=np.zeros(15), penalty=pen, can_open=np.ones(15, bool),
                        can_close=np.ones(15, bool), swaps_only=True)
    assert np.allclose(ls.gain, fresh.gain) and np.allclose(ls.loss, fresh.loss)
    for j, r in itertools.product(range(15), np.flatnonzero(ls.open)):
        assert ls.extra[j, ls.slot[r]] == pytest.approx(fresh.extra[j, fresh.slot[r]], abs=1e-6)


def test_demand_without_pairs_is_infeasible() -> None:
    prob = Problem.from_cost_matrix(np.array([[1.0, 2.0], [np.inf, 3.0]]), forbidden=[False, True])
    with pytest.raises(InfeasibleError, match="no allowed pair"):
        solve_pmedian_sparse(prob, p=1)


def test_route_choice_and_estimate() -> None:
    # 100,000 x 5,000 (2.9e7 pairs): dense ~70 GB -> sparse, ~1.8 GB
    assert choose_route(100_000, 5_000, 28_762_377, 200, limit_bytes=8 * 2**30) == "sparse"
    assert choose_route(1_000, 100, 100_000, 10, limit_bytes=8 * 2**30) == "dense"
    assert sparse_route_bytes(100_000, 5_000, 28_762_377, 200) < 2 * 2**30
    prob = _problem(30, 6, 3)
    est = route_bytes(prob, "p-median", p=2, limit_bytes=0)
    assert est.route == "sparse" and est.bytes == sparse_route_bytes(30, 6, prob.n_pairs, 2)


def test_locate_guard_estimates_the_route_taken() -> None:
    """p-median runs by its own algorithm are estimated by the route's shape, not the Pyomo model's; the
    other models keep the Pyomo estimate."""
    from siting.model import get_model
    from siting.provenance.memory import (
        MemoryRefused,
        check_route_memory,
        estimate_model_bytes,
        model_size,
        uflp_copy_bytes,
    )

    prob = _problem(200, 30, 4)
    spec = get_model("p-median")
    need = check_route_memory(prob, spec, {"p": 5}, limit_bytes=2**40)
    assert need == route_bytes(prob, "p-median", p=5).bytes
    assert need < estimate_model_bytes(*model_size(prob, spec, {"p": 5}))
    with pytest.raises(MemoryRefused, match="dense p-median route"):
        check_route_memory(prob, spec, {"p": 5}, limit_bytes=1000)
    uflp = get_model("uflp")
    plain = {"cost_per_unit_km": 1.0}
    assert check_route_memory(prob, uflp, plain, limit_bytes=2**40) == route_bytes(prob, "uflp").bytes
    with pytest.raises(MemoryRefused, match="dense uflp route"):
        check_route_memory(prob, uflp, plain, limit_bytes=1000)
    # the route is given the pairs within the cutoff only, a copy of them (tests/pipeline/test_locate.py)
    cut = {**plain, "max_distance_km": 30.0}
    k = int(np.count_nonzero(prob.distance_km <= 30.0))
    assert k < prob.n_pairs
    assert check_route_memory(prob, uflp, cut, limit_bytes=2**40) == route_bytes(prob, "uflp", n_pairs=k).bytes \
        + uflp_copy_bytes(prob, cut)
    budget = {**plain, "budget_cny": 1e6}  # not the fast path's model: the Pyomo estimate
    assert check_route_memory(prob, uflp, budget, limit_bytes=2**40) == estimate_model_bytes(
        *model_size(prob, uflp, budget))


def test_locate_guard_lets_a_large_radius_limited_uflp_through(monkeypatch) -> None:
    """100,000 demands x 5,000 candidates with 2.9e7 pairs (a radius): the dense arrays would not fit, the
    sparse route (~64 B per pair) does; the Pyomo estimate (~100 GB) refused it before."""
    from types import SimpleNamespace

    from siting.algorithms import sparse_memory
    from siting.model import get_model
    from siting.provenance.memory import check_route_memory, estimate_model_bytes

    monkeypatch.setattr(sparse_memory, "available_bytes", lambda: 16 * 2**30)  # the same on every machine
    big = SimpleNamespace(n_demand=100_000, n_candidates=5_000, n_pairs=28_762_377)
    uflp = get_model("uflp")
    need = check_route_memory(big, uflp, {"cost_per_unit_km": 1.0}, limit_bytes=4 * 2**30)
    assert need == route_bytes(big, "uflp").bytes and route_bytes(big, "uflp").route == "sparse"
    assert need < 28_762_377 * 80 + 2**30 < estimate_model_bytes(28_767_377, 28_862_379, 86_297_131)


# ------------------------------------------------------------------------------------------ solver-checked
@pytest.mark.solver
@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("p", [2, 4])
def test_pmedian_bound_and_incumbent_bracket_brute_force(seed: int, p: int) -> None:
    prob = _problem(50, 11, seed, radius=70, forbidden=1, required=1)
    opt = _brute(prob, p)
    res = solve_pmedian_sparse(prob, p=p, options=SolverOptions(mip_rel_gap=1e-9))
    if not np.isfinite(opt):  # no p sites cover every demand: no solution may be claimed
        assert not res.info.has_solution
        return
    assert res.info.has_solution and verify(prob, res).ok
    assert res.info.bound <= opt + 1e-6 <= res.info.objective + 2e-6
    assert len(res.open) == p and not prob.forbidden[res.open].any() and prob.required[res.open].sum() == 1
    if res.info.proven_optimal:
        assert res.info.objective == pytest.approx(opt)


@pytest.mark.solver
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_uflp_bound_and_incumbent_bracket_brute_force(seed: int) -> None:
    prob = _problem(50, 10, seed, fixed=True, forbidden=1, required=1)
    opt = _brute(prob, None)
    res = solve_uflp_sparse(prob, options=SolverOptions(mip_rel_gap=1e-9))
    assert res.info.has_solution and verify(prob, res).ok
    assert res.info.bound <= opt + 1e-6 <= res.info.objective + 2e-6


@pytest.mark.solver
def test_against_exact_solvers_and_dispatch() -> None:
    """Larger instance: the exact p-median / UFLP optimum lies between the sparse bound and incumbent; with
    ``max_dense_bytes=0`` the entry points take the sparse route."""
    prob = _problem(400, 60, 7, radius=35, fixed=True)
    opts = SolverOptions(threads=1, time_limit_s=60)
    exact = solve_pmedian(prob, p=8, options=opts)
    assert exact.info.proven_optimal
    res = solve_pmedian(prob, p=8, options=SolverOptions(mip_rel_gap=1e-4), max_dense_bytes=0)
    assert res.params["algorithm"] == SPARSE_SOLVER and verify(prob, res).ok
    assert res.info.bound <= exact.objective * (1 + 1e-9) <= res.info.objective * (1 + 1e-9)
    assert res.info.gap < 0.02
    ex_u = solve_uflp(prob, options=opts)
    assert ex_u.info.proven_optimal
    res_u = solve_uflp(prob, options=SolverOptions(mip_rel_gap=1e-4), max_dense_bytes=0)
    assert res_u.params["algorithm"] == SPARSE_SOLVER and verify(prob, res_u).ok
    assert res_u.info.bound <= ex_u.objective * (1 + 1e-9) <= res_u.info.objective * (1 + 1e-9)


@pytest.mark.solver
@pytest.mark.slow
@pytest.mark.parametrize("p", [40, None])
def test_memory_estimate_against_measured_peak(p: int | None) -> None:
    """The guard's estimate of the sparse route is within ESTIMATE_FACTOR of the measured (tracemalloc) peak
    of the solve, on 20,000 demands x 1,000 candidates (~1.2 million pairs)."""
    from scipy.spatial import cKDTree

    rng = np.random.default_rng(5)
    n, m = 20_000, 1_000
    pts, cand = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    dist, idx = cKDTree(cand).query(pts, k=60)
    prob = Problem(demand_ids=np.arange(n).astype(str), weight=rng.integers(1, 20, n).astype(float),
                   candidate_ids=np.arange(m).astype(str), pair_demand=np.repeat(np.arange(n), 60),
                   pair_candidate=idx.ravel(), distance_km=dist.ravel(),
                   fixed_cost_cny=rng.uniform(2e3, 6e3, m))
    est = route_bytes(prob, "p-median" if p else "uflp", p=p, limit_bytes=0)
    assert est.route == "sparse"
    gc.collect()
    tracemalloc.start()
    try:
        res = solve_pmedian_sparse(prob, p=p, options=SolverOptions(mip_rel_gap=0.01, time_limit_s=30)) if p \
            else solve_uflp_sparse(prob, options=SolverOptions(mip_rel_gap=0.01, time_limit_s=30))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert res.info.has_solution
    print(f"estimate {est.bytes / 2**20:.1f} MB, measured peak {peak / 2**20:.1f} MB")
    assert est.bytes / ESTIMATE_FACTOR <= peak <= est.bytes * ESTIMATE_FACTOR, (peak, est.bytes)
