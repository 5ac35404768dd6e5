"""The fast formulations give the same optimum as the plain models, on seeded random instances.

The "plain" p-median (y binary, x continuous, sum_j x_ij = 1, x_ij <= y_j, sum y = p) and CFLP references are
built here directly as highspy matrices, sharing no code with ``siting.algorithms.pmedian``; tiny instances
are also checked by enumeration. Every solution is checked by ``siting.single.verify.verify`` and its objective
recomputed with numpy.
"""

from __future__ import annotations

import itertools

import highspy
import numpy as np
import pytest
import scipy.sparse as sp

from siting.core.errors import InfeasibleError
from siting.model.radius import build_compact
from siting.model.levels import distance_levels
from siting.algorithms.heuristics import perturbed_search, pmedian_heuristic
from siting.algorithms.lagrangian import pmedian_lagrangian
from siting.algorithms.warehouse import solve_cflp, solve_uflp
from siting.algorithms.pmedian import solve_pmedian
from siting.core.problem import Problem
from siting.single.verify import verify

pytestmark = pytest.mark.solver


def _highs_mip(cost, a, row_lo, row_hi, lb, ub, integer) -> float:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 1e-9)
    h.setOptionValue("mip_abs_gap", 1e-9)
    inf = highspy.kHighsInf
    a = sp.csc_matrix(a)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = a.shape[1], a.shape[0]
    lp.col_cost_ = np.asarray(cost, float)
    lp.col_lower_, lp.col_upper_ = np.asarray(lb, float), np.where(np.isinf(ub), inf, ub).astype(float)
    lp.row_lower_ = np.where(np.isinf(row_lo), -inf, row_lo).astype(float)
    lp.row_upper_ = np.where(np.isinf(row_hi), inf, row_hi).astype(float)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous for b in integer]
    h.passModel(lp)
    h.run()
    if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
        return None
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return h.getInfo().objective_function_value


def _plain_facility(d: np.ndarray, w: np.ndarray, *, p=None, fixed=None, cap=None, required=None, forbidden=None
                    ) -> float:
    """Textbook model over the finite entries of d (n x m): y_j binary, x_ij in [0, 1]."""
    n, m = d.shape
    ii, jj = np.nonzero(np.isfinite(d))
    k = len(ii)
    nc = m + k
    cost = np.concatenate([np.zeros(m) if fixed is None else fixed, w[ii] * d[ii, jj]])
    rows, cols, vals, lo, hi = [], [], [], [], []
    r = 0
    # assignment
    rows += list(ii); cols += list(m + np.arange(k)); vals += [1.0] * k
    lo += [1.0] * n; hi += [1.0] * n; r += n
    # linking x_ij <= y_j
    rows += list(r + np.arange(k)) * 2; cols += list(m + np.arange(k)) + list(jj)
    vals += [1.0] * k + [-1.0] * k; lo += [-np.inf] * k; hi += [0.0] * k; r += k
    if p is not None:
        rows += [r] * m; cols += list(range(m)); vals += [1.0] * m; lo += [p]; hi += [p]; r += 1
    if cap is not None:
        for j in range(m):
            sel = np.flatnonzero(jj == j)
            rows += [r] * (len(sel) + 1); cols += list(m + sel) + [j]; vals += list(w[ii[sel]]) + [-cap[j]]
            lo += [-np.inf]; hi += [0.0]; r += 1
    a = sp.coo_matrix((vals, (rows, cols)), shape=(r, nc))
    lb = np.zeros(nc)
    ub = np.ones(nc)
    if required is not None:
        lb[:m][required] = 1.0
    if forbidden is not None:
        ub[:m][forbidden] = 0.0
    return _highs_mip(cost, a, np.array(lo), np.array(hi), lb, ub, [True] * m + [False] * k)


def _problem(d, w=None, **kw) -> Problem:
    return Problem.from_cost_matrix(d, weights=w, **kw)


def _numpy_objective(prob: Problem, res) -> float:
    x = res.allocation
    total = float(np.sum(prob.weight[prob.pair_demand] * prob.distance_km * x))
    return total + float(prob.fixed_cost_cny[res.open].sum())


def _random_graph_costs(rng, n, m, *, integral=True, sparse=False):
    pts = rng.uniform(0, 100, size=(n, 2))
    sites = pts[:m] if m <= n else rng.uniform(0, 100, size=(m, 2))
    d = np.hypot(*(pts[:, None, :] - sites[None, :, :]).transpose(2, 0, 1))
    d = np.round(d) if integral else d
    if sparse:
        cut = np.quantile(d, 0.6)
        d = np.where(d <= cut, d, np.inf)
        d[np.arange(n), np.argmin(np.where(np.isfinite(d), d, 1e9), axis=1)] = np.nanmin(
            np.where(np.isfinite(d), d, 1e9), axis=1)
    return d


@pytest.mark.parametrize("seed", range(6))
def test_pmedian_equals_plain_model(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(25, 45))
    integral = seed % 2 == 0
    d = _random_graph_costs(rng, n, n, integral=integral, sparse=seed >= 4)
    w = rng.integers(1, 10, n).astype(float) if integral else rng.uniform(0.5, 3.0, n)
    prob = _problem(d, w)
    for p in (1, 3, 7):
        plain = _plain_facility(d, w, p=p)
        if plain is None:  # sparse pairs: p sites cannot serve everyone
            for method in ("radius", "benders"):
                with pytest.raises(InfeasibleError, match="no choice of p"):
                    solve_pmedian(prob, p=p, method=method)
            continue
        for radius, method in ((True, "radius"), (False, "radius"), (True, "benders")):
            res = solve_pmedian(prob, p=p, radius=radius, method=method)
            assert res.info.proven_optimal, res.info.describe()
            assert res.objective == pytest.approx(plain, rel=1e-7, abs=1e-7), (p, radius)
            assert _numpy_objective(prob, res) == pytest.approx(res.objective, rel=1e-12)
            v = verify(prob, res)
            assert v.ok, v.describe()


@pytest.mark.parametrize("seed", range(3))
def test_pmedian_required_forbidden_by_enumeration(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n, m = 14, 10
    d = _random_graph_costs(rng, n, m, integral=False)
    w = rng.uniform(1, 4, n)
    req = np.zeros(m, bool)
    req[rng.integers(0, m)] = True
    forb = np.zeros(m, bool)
    forb[rng.choice(np.flatnonzero(~req), 2, replace=False)] = True
    prob = _problem(d, w, required=req, forbidden=forb)
    for p in (2, 4):
        best = min(
            float(w @ d[:, list(s)].min(axis=1))
            for s in itertools.combinations(range(m), p)
            if not forb[list(s)].any() and set(np.flatnonzero(req).tolist()) <= set(s)
        )
        res = solve_pmedian(prob, p=p)
        assert res.objective == pytest.approx(best, rel=1e-9)
        assert req[res.open].sum() == 1 and not forb[res.open].any()
        assert verify(prob, res).ok


@pytest.mark.parametrize("seed", range(4))
def test_lagrangian_bound_and_reduced_costs_are_valid_by_enumeration(seed: int) -> None:
    # L <= optimum, and L + reduced_cost[j] <= the best value of any solution that opens j: the two facts
    # reduced-cost fixing relies on, checked against every subset
    rng = np.random.default_rng(300 + seed)
    n, m = 16, 11
    d = _random_graph_costs(rng, n, m, integral=seed % 2 == 0)
    w = rng.integers(1, 6, n).astype(float)
    req = np.zeros(m, bool)
    forb = np.zeros(m, bool)
    if seed >= 2:
        req[0] = True
        forb[m - 1] = True
    for p in (2, 3):
        values = {s: float(w @ d[:, list(s)].min(axis=1)) for s in itertools.combinations(range(m), p)
                  if not forb[list(s)].any() and set(np.flatnonzero(req).tolist()) <= set(s)}
        opt = min(values.values())
        lag = pmedian_lagrangian(d, w, p, upper_bound=opt * 1.2, required=req, forbidden=forb, max_iter=300)
        assert lag.bound <= opt + 1e-7
        assert lag.bound >= 0.9 * opt  # and it is a useful bound, not a trivial one
        for j in range(m):
            with_j = [v for s, v in values.items() if j in s]
            if with_j:
                assert lag.bound + lag.reduced_cost[j] <= min(with_j) + 1e-6, (p, j)
        assert lag.best_value >= opt - 1e-9 and lag.best_open is not None


@pytest.mark.parametrize(("n", "seed", "p"), [(60, 7, 5), (80, 6, 3), (80, 7, 5)])
def test_reduced_cost_fixing_keeps_the_optimum(tmp_path, n: int, seed: int, p: int) -> None:
    # Beasley-style graphs where the Lagrangian closes most candidates but does not prove the optimum, so
    # the restricted model is solved: the answer must equal the plain model's
    from siting.bench.generate import write_pmed
    from siting.bench.orlib import read_pmed

    prob = read_pmed(write_pmed(tmp_path / "g.txt", n, p, seed=seed))
    d = prob.matrix().toarray()
    ref = _plain_facility(d, prob.weight, p=p)
    res = solve_pmedian(prob, p=p, method="radius")
    assert res.params["closed_by_reduced_cost"] > n // 2 and "Lagrangian" not in res.info.solver
    off = solve_pmedian(prob, p=p, lagrangian=False, method="radius")
    assert res.info.proven_optimal and off.info.proven_optimal
    assert res.objective == pytest.approx(ref, rel=1e-9) == off.objective
    assert verify(prob, res).ok and res.open.size == p


def test_lp_radius_passes_keep_the_optimum(tmp_path) -> None:
    # a Beasley-style graph on which the LP raises radii before branching (3 passes) and the MIP rounds drop
    # from 4 to 1: the answer must still equal the plain model's, proven and verified
    from siting.bench.generate import write_pmed
    from siting.bench.orlib import read_pmed

    prob = read_pmed(write_pmed(tmp_path / "g.txt", 150, 6, seed=5))
    ref = _plain_facility(prob.matrix().toarray(), prob.weight, p=6)
    res = solve_pmedian(prob, p=6, method="radius")
    off = solve_pmedian(prob, p=6, lp_extend=0, method="radius")
    assert res.params["lp_radius_passes"] >= 1 and res.params["rounds"] < off.params["rounds"]
    assert res.info.proven_optimal and off.info.proven_optimal
    assert res.objective == pytest.approx(ref, rel=1e-9) == off.objective
    assert verify(prob, res).ok


def test_uflp_and_cflp_equal_plain_models() -> None:
    for seed in range(4):
        rng = np.random.default_rng(200 + seed)
        n, m = 30, 8
        d = _random_graph_costs(rng, n, m, integral=seed % 2 == 0, sparse=seed == 3)
        w = rng.integers(1, 20, n).astype(float)
        f = rng.uniform(50, 400, m).round(2)
        cap = np.full(m, np.ceil(w.sum() / 3))
        prob = _problem(d, w, fixed_cost_cny=f, capacity=cap)
        unc = prob.with_options(capacity=np.full(m, np.inf))
        ru = solve_uflp(unc)
        assert ru.objective == pytest.approx(_plain_facility(d, w, fixed=f), rel=1e-7)
        assert verify(unc, ru).ok
        rc = solve_cflp(prob)
        assert rc.objective == pytest.approx(_plain_facility(d, w, fixed=f, cap=cap), rel=1e-7)
        assert _numpy_objective(prob, rc) == pytest.approx(rc.objective, rel=1e-12)
        v = verify(prob, rc)
        assert v.ok, v.describe()


def test_heuristic_and_levels() -> None:
    rng = np.random.default_rng(9)
    d = _random_graph_costs(rng, 40, 40)
    w = np.ones(40)
    sol = pmedian_heuristic(d, w, 5)
    assert len(sol) == 5 and len(set(sol.tolist())) == 5
    req = np.zeros(40, bool)
    req[[3, 4]] = True
    forb = np.zeros(40, bool)
    forb[:3] = True
    sol = pmedian_heuristic(d, w, 5, required=req, forbidden=forb)
    assert {3, 4} <= set(sol.tolist()) and not set(sol.tolist()) & {0, 1, 2}
    lv = distance_levels(np.array([[0.0, 2.0, 2.0, np.inf], [5.0, 1.0, 5.0, 1.0]]))
    np.testing.assert_array_equal(lv.n_levels, [2, 2])
    np.testing.assert_array_equal(lv.value[1], [1.0, 5.0])
    assert lv.level[0, -1] == -1  # the forbidden pair


@pytest.mark.parametrize("seed", range(3))
def test_perturbed_search_never_worse_keeps_the_rules_and_escapes_a_poor_start(seed: int) -> None:
    """From a poor start (the p candidates farthest from everyone) the iterated local search reaches at least
    a substitution local optimum, never returns worse than its start, keeps required sites and never opens a
    forbidden one; on 12 candidates and p = 4 (495 subsets) it reaches the brute-force optimum."""
    import time

    from pmedian_brute import brute_pmedian

    rng = np.random.default_rng(seed)
    d = _random_graph_costs(rng, 30, 12)
    w = rng.integers(1, 5, 30).astype(float)
    req = np.zeros(12, bool)
    req[0] = True
    forb = np.zeros(12, bool)
    forb[1] = True
    worst = np.argsort(-(w @ d))
    start = np.concatenate([[0], [j for j in worst if j not in (0, 1)][:3]])
    start_val = float(w @ d[:, start].min(axis=1))
    val, sol = perturbed_search(d, w, start, deadline=time.perf_counter() + 0.5, rng=np.random.default_rng(0),
                                required=req, forbidden=forb)
    assert len(sol) == 4 and 0 in sol and 1 not in sol
    assert val == pytest.approx(float(w @ d[:, sol].min(axis=1)))
    assert val < start_val
    assert val == pytest.approx(brute_pmedian(d, w, 4, req, forb))


@pytest.mark.parametrize("kind", ["small integers", "floats", "large integers"])
def test_levels_match_a_plain_sort(kind: str) -> None:
    """Levels (radix or ordinary sort, with ties, forbidden pairs and a column subset) against a reference
    computed row by row with np.unique."""
    rng = np.random.default_rng(4)
    n, m = 23, 17
    if kind == "small integers":
        d = rng.integers(0, 9, size=(n, m)).astype(float)
    elif kind == "floats":
        d = np.round(rng.random((n, m)) * 5, 1) + 0.05
    else:
        d = rng.integers(60000, 70000, size=(n, m)).astype(float)
    d[rng.random((n, m)) < 0.2] = np.inf
    d[3] = np.inf  # a demand with no allowed candidate
    cols = np.sort(rng.choice(m, size=11, replace=False))
    sub = np.full_like(d, np.inf)
    sub[:, cols] = d[:, cols]
    for cost, columns in ((d, None), (sub, cols)):
        lv = distance_levels(cost, columns=columns)
        lev = lv.level
        for i in range(n):
            row = cost[i] if columns is None else cost[i, columns]
            vals = np.unique(row[np.isfinite(row)])
            np.testing.assert_array_equal(lv.value[i], vals)
            k = int(np.isfinite(row).sum())
            assert lv.n_allowed[i] == k
            got = cost[i, lv.order[i, :k]]
            np.testing.assert_array_equal(got, np.sort(row[np.isfinite(row)]))  # allowed ones first, sorted
            np.testing.assert_array_equal(lev[i, :k], np.searchsorted(vals, got))
            assert (lev[i, k:] == -1).all()
        rows = np.flatnonzero(lv.n_allowed > 0)
        pos = rng.integers(0, lv.n_allowed[rows])
        np.testing.assert_array_equal(lv.level_at(rows, pos), lev[rows, pos])
        lo = rng.integers(0, lv.n_levels + 1)
        hi = rng.integers(lo, lv.n_levels + 1)
        ii, rr, kk = lv.entries(lo, hi)
        keep = (lev >= lo[:, None]) & (lev < hi[:, None])
        ri, rp = np.nonzero(keep)
        np.testing.assert_array_equal(ii, ri)
        np.testing.assert_array_equal(rr, rp)
        np.testing.assert_array_equal(kk, lev[ri, rp])


def test_compact_model_sizes_are_linear_in_levels() -> None:
    rng = np.random.default_rng(1)
    d = _random_graph_costs(rng, 30, 30)
    prob = _problem(d)
    model, maps = build_compact(prob, p=4)
    lv = distance_levels(d)
    assert len(model.z) == int((lv.n_levels - 1).sum())  # one z per level except the last
    assert len(model.level) == int(lv.n_levels.sum())  # one row per level (last = coverage)
    radius = np.zeros(30, dtype=np.int64)  # cost capped at the nearest distance: no rows at all
    model0, _ = build_compact(prob, p=4, radius_level=radius)
    assert len(model0.level) == 0 and len(model0.z) == 0


def test_infeasible_inputs_are_reported() -> None:
    d = np.array([[1.0, np.inf], [np.inf, 2.0]])
    prob = _problem(d, forbidden=[False, True])
    with pytest.raises(InfeasibleError, match="no allowed"):
        solve_pmedian(prob, p=1)
    with pytest.raises(InfeasibleError, match="larger than"):
        solve_pmedian(_problem(np.ones((2, 2))), p=3)
    with pytest.raises(InfeasibleError, match="total capacity"):
        solve_cflp(_problem(np.ones((2, 2)), [5, 5], capacity=[3, 3]))


def test_no_free_choice_is_proven_optimal_and_the_certificate_is_consistent():
    # required + forbidden leave nothing to choose (p = 1): the compiled model has no column, HiGHS says
    # "model empty" without a primal solution. The answer must still be proven, not optimal-but-feasible.
    from siting.core.results import SolutionStatus, TerminationCondition
    from siting.core.options import SolverOptions

    d = np.array([[51.9, 73.8], [75.0, 51.4], [77.2, 81.0], [86.1, 67.2]])
    prob = _problem(d, np.array([17.0, 12.0, 3.0, 8.0]), required=np.array([True, False]),
                    forbidden=np.array([False, True]))
    for radius, rounds in ((True, 50), (True, 1), (False, 1)):
        res = solve_pmedian(prob, p=1, radius=radius, max_rounds=rounds, method="radius",
                            options=SolverOptions(mip_rel_gap=1e-9, threads=1))
        assert res.info.status is SolutionStatus.OPTIMAL, res.info
        assert res.info.termination is TerminationCondition.OPTIMAL and res.info.gap <= 1e-9
        assert list(res.open) == [0] and verify(prob, res).ok
        assert res.objective == pytest.approx(float(d[:, 0] @ prob.weight))
    # on a real choice, status and termination agree whatever the round budget
    rng = np.random.default_rng(11)
    a = rng.uniform(0, 100, (30, 2))
    prob = _problem(np.hypot(*(a[:, None, :] - a[None, :, :]).transpose(2, 0, 1)), rng.integers(1, 9, 30))
    for rounds in (1, 2, 50):
        res = solve_pmedian(prob, p=4, max_rounds=rounds, margin_levels=0, method="radius")
        assert (res.info.status is SolutionStatus.OPTIMAL) == (res.info.termination is TerminationCondition.OPTIMAL)
        assert res.info.proven_optimal and np.isfinite(res.info.gap)
