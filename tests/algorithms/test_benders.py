"""Benders decomposition for p-median: cut separation (no solver) and exact solves (``solver``)."""

from __future__ import annotations

import csv
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from pmedian_brute import brute_pmedian  # tests/support

from siting.algorithms.benders import solve_pmedian_benders
from siting.algorithms.benders_cuts import (
    SPARSE_SUPPORT,
    SortedCosts,
    cut_level,
    cut_values,
    make_cuts,
    separate,
    sorted_costs,
    subproblem_values,
)
from siting.algorithms.pmedian import choose_pmedian_method, solve_pmedian
from siting.core.problem import Problem
from siting.single.verify import verify

SHARED = Path(os.environ.get("SITING_SHARED") or Path(__file__).resolve().parents[3] / "shared")
ORLIB = SHARED / "benchmarks" / "orlib"


def _points(n: int, m: int, seed: int, *, integral: bool = True, sparse: bool = False) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 100, (n, 2)), rng.uniform(0, 100, (m, 2))
    d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    d = np.floor(d) if integral else d
    if sparse:
        d[d > 60] = np.inf
        d[np.arange(n), rng.integers(0, m, n)] = 5.0  # every demand keeps one candidate
    return d


def _elloumi_lp_value(d_row: np.ndarray, y: np.ndarray) -> float:
    """phi_i(y) straight from its definition: D_0 + sum_k (D_{k+1} - D_k) max(0, 1 - cover(D_k))."""
    ok = np.isfinite(d_row)
    levels = np.unique(d_row[ok])
    val = levels[0]
    for k in range(len(levels) - 1):
        cover = y[ok & (d_row <= levels[k])].sum()
        val += (levels[k + 1] - levels[k]) * max(0.0, 1.0 - cover)
    return float(val)


# ------------------------------------------------------------------------------------------ separation
@pytest.mark.parametrize("seed", range(4))
def test_subproblem_value_matches_the_definition(seed: int) -> None:
    d = _points(12, 9, seed, integral=seed % 2 == 0)
    sc = sorted_costs(d)
    rng = np.random.default_rng(seed)
    p = 3
    y_int = np.zeros(9)
    y_int[rng.choice(9, p, replace=False)] = 1.0
    y_frac = rng.dirichlet(np.ones(9)) * p  # sums to p; may exceed 1 per site, still a valid test point
    y_frac = np.minimum(y_frac, 1.0)
    for y in (y_int, y_frac):
        phi = subproblem_values(sc, y)
        ref = [_elloumi_lp_value(d[i], y) for i in range(12)]
        assert phi == pytest.approx(ref, rel=1e-12, abs=1e-9)
    # integral y: the nearest open distance
    assert subproblem_values(sc, y_int) == pytest.approx(d[:, y_int > 0].min(axis=1))


@pytest.mark.parametrize("seed", range(6))
def test_support_scan_equals_the_dense_scan_and_the_definition(seed: int) -> None:
    """A y with few nonzeros takes the support-only scan: same levels and values as the full (n, m) scan
    (the table without ``rank``) and as the definition, for integral and fractional y, with and without
    forbidden pairs, and with a level given (the LP phase's evaluation of a stabilised point's cut)."""
    n, m = 15, 6 * SPARSE_SUPPORT
    d = _points(n, m, seed, integral=seed % 2 == 0, sparse=seed >= 3)
    sc = sorted_costs(d)
    dense = SortedCosts(sc.order, sc.dist_km, sc.n_allowed, sc.big)  # no rank: always the full scan
    rng = np.random.default_rng(seed)
    y = np.zeros(m)
    supp = rng.choice(m, 5, replace=False)
    y[supp] = 1.0 if seed % 2 else rng.uniform(0.1, 0.7, 5)
    k, phi = separate(sc, y)
    k0, phi0 = separate(dense, y)
    assert (k == k0).all()
    assert phi == pytest.approx(phi0, rel=1e-12, abs=1e-9)
    ref = [_elloumi_lp_value(d[i], y) for i in range(n)]
    assert phi == pytest.approx(ref, rel=1e-12, abs=1e-9)
    k_given = np.minimum(rng.integers(0, m, n), np.maximum(sc.n_allowed - 1, 0))
    assert separate(sc, y, k=k_given)[1] == pytest.approx(separate(dense, y, k=k_given)[1], rel=1e-12, abs=1e-9)


@pytest.mark.parametrize(("seed", "level"), [(0, "first"), (1, "last"), (2, "first"), (3, "last")])
def test_cuts_are_tight_at_their_point_and_valid_everywhere(seed: int, level: str) -> None:
    n, m, p = 10, 8, 3
    d = _points(n, m, seed, sparse=seed >= 2)
    sc = sorted_costs(d)
    rng = np.random.default_rng(seed)
    y0 = np.minimum(rng.dirichlet(np.ones(m)) * p, 1.0) if seed % 2 else np.eye(m)[rng.choice(m, p, False)].sum(0)
    cuts = make_cuts(sc, y0, np.arange(n), level=level)
    assert cut_values(cuts, y0) == pytest.approx(subproblem_values(sc, y0), rel=1e-12, abs=1e-9)
    assert np.all(cuts.coef > 0)
    # every p-subset: the cut never exceeds the true serving distance (where the demand can be served)
    for s in itertools.combinations(range(m), p):
        y = np.zeros(m)
        y[list(s)] = 1.0
        true = d[:, list(s)].min(axis=1)
        ok = np.isfinite(true)
        assert np.all(cut_values(cuts, y)[ok] <= true[ok] + 1e-9)


def test_last_level_cut_reaches_the_second_nearest_open_site() -> None:
    d = np.array([[1.0, 2.0, 4.0, 7.0, 9.0]])
    sc = sorted_costs(d)
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    assert sc.dist_km[0, cut_level(sc, y, level="first")[0]] == 2.0
    assert sc.dist_km[0, cut_level(sc, y, level="last")[0]] == 7.0
    deep = make_cuts(sc, y, np.array([0]), level="last")
    # both tight at y; the deeper one says more when the nearest open site (2) closes and 4 opens
    y2 = np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    assert cut_values(deep, y)[0] == pytest.approx(2.0)
    assert cut_values(deep, y2)[0] == pytest.approx(4.0)
    assert cut_values(make_cuts(sc, y, np.array([0])), y2)[0] == pytest.approx(2.0)


def test_choose_method_by_shape() -> None:
    prob = Problem.from_cost_matrix(_points(400, 400, 0))
    for p in (5, 10, 40):
        assert choose_pmedian_method(prob, p) == "benders"


# ------------------------------------------------------------------------------------------ solves
@pytest.mark.solver
@pytest.mark.parametrize("seed", range(6))
def test_benders_equals_brute_force(seed: int) -> None:
    n, m = 14, 10
    integral = seed % 2 == 0
    d = _points(n, m, seed, integral=integral, sparse=seed in (4, 5))
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 9, n).astype(float) if integral else rng.uniform(0.5, 3.0, n)
    required = np.zeros(m, bool)
    forbidden = np.zeros(m, bool)
    if seed >= 2:
        required[rng.integers(m)] = True
        forbidden[(np.flatnonzero(~required)[0])] = True
    prob = Problem.from_cost_matrix(d, weights=w, required=required, forbidden=forbidden)
    for p in (1, 2, 4):
        if p < required.sum():
            continue
        ref = brute_pmedian(np.where(np.isfinite(d), d, 1e12), w, p, required, forbidden)
        if ref >= 1e11:
            continue
        res = solve_pmedian_benders(prob, p=p)
        assert res.info.proven_optimal, res.info.describe()
        assert res.objective == pytest.approx(ref, rel=1e-9, abs=1e-9), (seed, p)
        assert verify(prob, res).ok and res.open.size == p
        assert required[res.open].sum() == required.sum() and not forbidden[res.open].any()


@pytest.mark.solver
@pytest.mark.parametrize(("n", "p", "seed"), [(120, 4, 1), (150, 12, 2), (200, 40, 3)])
def test_benders_equals_radius_on_generated_graphs(tmp_path, n: int, p: int, seed: int) -> None:
    from siting.bench.generate import write_pmed
    from siting.bench.orlib import read_pmed

    prob = read_pmed(write_pmed(tmp_path / "g.txt", n, p, seed=seed))
    b = solve_pmedian(prob, p=p, method="benders")
    r = solve_pmedian(prob, p=p, method="radius")
    assert b.info.proven_optimal and r.info.proven_optimal
    assert b.objective == r.objective
    assert b.params["method"] == "benders" and verify(prob, b).ok


@pytest.mark.solver
@pytest.mark.skipif(not (ORLIB / "pmed").is_dir(), reason="OR-Library set not in ../shared")
@pytest.mark.parametrize("name", ["pmed1", "pmed2", "pmed5", "pmed8", "pmed15"])
def test_benders_reproduces_orlib_optima(name: str) -> None:
    from siting.bench.orlib import read_pmed

    opt = {r["instance"]: float(r["optimal"]) for r in csv.DictReader((ORLIB / "optima.csv").open())}
    prob = read_pmed(ORLIB / "pmed" / f"{name}.txt")
    res = solve_pmedian_benders(prob, p=int(prob.meta["p"]))
    assert res.info.proven_optimal and res.objective == opt[name]
    assert verify(prob, res).ok
