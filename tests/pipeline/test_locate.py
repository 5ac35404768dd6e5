"""The single-level pipeline: parameters, two-stage LSCP-B, time limits, verification, geo adapter, tables."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import Polygon

from siting.geo.adapt import problem_from_geodataframes
from siting.core.errors import DataError, InfeasibleError, ScenarioError, SolverError
from siting.model import MODELS
from siting.pipeline.locate import locate, result_tables
from siting.core.problem import Problem
from siting.core.results import SolutionStatus, TerminationCondition
from siting.core.options import SolverOptions
from siting.single.verify import verify


def _grid(n=10, m=6, seed=0, **kw):
    rng = np.random.default_rng(seed)
    a, b = rng.uniform(0, 60, (n, 2)), rng.uniform(0, 60, (m, 2))
    d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1))
    return Problem.from_cost_matrix(d, weights=rng.integers(1, 20, n), **kw)


@pytest.mark.solver
def test_lscp_b_solves_lscp_first_and_keeps_its_count():
    problem = _grid()
    base = locate(problem, "lscp", radius_km=30)
    backup = locate(problem, "lscp-b", radius_km=30)
    assert backup.params["p"] == backup.params["lscp_count"] == len(base.open) == len(backup.open)
    assert verify(problem, backup).ok
    # with one more site than needed the backup coverage cannot get worse
    more = locate(problem, "lscp-b", radius_km=30, p=len(base.open) + 1)
    assert more.objective >= backup.objective - 1e-9


@pytest.mark.solver
def test_time_limit_is_marked_not_proven_optimal():
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 100, (150, 2))
    d = np.hypot(*(a[:, None, :] - a[None, :, :]).transpose(2, 0, 1))
    problem = Problem.from_cost_matrix(d, weights=rng.integers(1, 50, 150))
    best = locate(problem, "p-median", p=8, options=SolverOptions(threads=1))
    assert best.info.proven_optimal
    tol = 1e-6 * abs(best.objective)
    for limit in (0.001, 0.3):
        r = locate(problem, "p-median", p=8, options=SolverOptions(time_limit_s=limit, threads=1))
        if limit == 0.001:  # 1 ms cannot cover the LP over 22,500 pairs: the limit is hit on any machine
            assert not r.info.proven_optimal, r.info
        if r.info.status is SolutionStatus.OPTIMAL:  # 0.3 s may be enough on a fast machine: then it is the optimum
            assert r.info.termination is TerminationCondition.OPTIMAL
            assert r.objective == pytest.approx(best.objective, rel=1e-6)
            continue
        assert not r.info.proven_optimal
        if r.info.status is SolutionStatus.NO_SOLUTION:
            # a limit hit inside HiGHS's presolve comes back from Pyomo as "unknown"
            assert r.info.termination in (TerminationCondition.TIME_LIMIT, TerminationCondition.UNKNOWN)
            assert len(r.open) == 0 and len(r.allocation) == 0
            assert "no solution" in r.info.describe()
        else:
            assert r.info.status is SolutionStatus.FEASIBLE
            assert r.info.termination is TerminationCondition.TIME_LIMIT
            assert "not proven optimal" in r.info.describe()
            assert verify(problem, r).ok
            # the incumbent is no better than the optimum, and the bound no worse
            assert r.objective >= best.objective - tol and r.info.bound <= best.objective + tol
            assert r.info.gap >= 0


@pytest.mark.solver
def test_p_center_bisection_is_exact_and_honest_under_a_time_limit():
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 100, (120, 2))
    d = np.hypot(*(a[:, None, :] - a[None, :, :]).transpose(2, 0, 1))
    problem = Problem.from_cost_matrix(d)
    full = locate(problem, "p-center", p=8, options=SolverOptions(threads=1))
    assert full.info.proven_optimal and full.info.bound == full.objective
    # the optimum is a pair distance, and no 8 sites reach everyone within the next smaller distance
    levels = np.unique(problem.distance_km)
    assert full.objective in levels
    below = float(levels[np.searchsorted(levels, full.objective) - 1])
    with pytest.raises(InfeasibleError):
        locate(problem, "lscp-b", radius_km=below, p=8)
    cut = locate(problem, "p-center", p=8, options=SolverOptions(time_limit_s=0.05, threads=1))
    if cut.info.proven_optimal:  # a fast machine: then it is the optimum
        assert cut.objective == full.objective
    else:
        assert cut.info.termination is TerminationCondition.TIME_LIMIT
        if cut.info.has_solution:
            assert cut.info.bound <= full.objective <= cut.objective
            assert verify(problem, cut).ok


@pytest.mark.solver
def test_thread_count_can_change_between_solves():
    # HiGHS has one thread scheduler per process; siting.solvers.pyomo resets it when `threads` is given
    problem = _grid(seed=8)
    for threads in (None, 1, None, 2, 1):
        r = locate(problem, "p-median", p=2, options=SolverOptions(threads=threads))
        assert r.info.proven_optimal, (threads, r.info)


@pytest.mark.solver
def test_a_wrong_readback_is_refused(monkeypatch):
    problem = _grid()
    spec = MODELS["p-median"]

    def bad_extract(prob, model):
        open_, x = spec.extract(prob, model)
        return open_, x * 0.5

    monkeypatch.setitem(MODELS, "p-median", dataclasses.replace(spec, extract=bad_extract))
    # a cutoff (here one that removes no pair) keeps p-median on the Pyomo formulation and its read-back
    assert locate(problem, "p-median", p=2, max_distance_km=1e4, check=False).info.options.get("algorithm") is None
    with pytest.raises(SolverError, match="verification"):
        locate(problem, "p-median", p=2, max_distance_km=1e4)


@pytest.mark.solver
@pytest.mark.parametrize(("model", "module", "name", "kw", "algorithm"), [
    ("p-median", "siting.algorithms.pmedian", "solve_pmedian", {"p": 2},
     "p-median Benders decomposition (branch-and-Benders-cut)"),
    ("uflp", "siting.algorithms.warehouse", "solve_uflp", {}, "UFLP Lagrangian fixing + reduced strong model"),
])
def test_a_wrong_fast_answer_is_refused(monkeypatch, model, module, name, kw, algorithm):
    # plain p-median and plain UFLP go through their fast exact paths; their answers are verified the same way
    import importlib

    fast = importlib.import_module(module)
    problem = _grid(fixed_cost_cny=np.full(6, 50.0)) if model == "uflp" else _grid()
    good = locate(problem, model, **kw)
    assert good.info.options["algorithm"] == algorithm and good.info.proven_optimal
    real = getattr(fast, name)

    def bad_solve(prob, **kw):
        res = real(prob, **kw)
        return dataclasses.replace(res, allocation=res.allocation * 0.5)

    monkeypatch.setattr(fast, name, bad_solve)
    with pytest.raises(SolverError, match="verification"):
        locate(problem, model, **kw)


def _pyomo_uflp(monkeypatch, problem, **kw):
    """The same run on the Pyomo formulation (the spec without its algorithm), for comparison."""
    spec = MODELS["uflp"]
    with monkeypatch.context() as mp:
        mp.setitem(MODELS, "uflp", dataclasses.replace(spec, algorithm=None))
        return locate(problem, "uflp", **kw)


@pytest.mark.solver
@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("kw", [{}, {"cost_per_unit_km": 2.5}, {"cost_per_unit_km": 0.0},
                                {"cost_per_unit_km": 0.3, "max_distance_km": 40.0}])
def test_uflp_fast_route_matches_the_formulation(monkeypatch, seed, kw):
    # plain UFLP (a cost rate and a cutoff allowed) goes through siting.algorithms.warehouse.solve_uflp on the
    # problem with distance x rate as cost: the same optimum as the Pyomo model, verified, rate kept in params
    rng = np.random.default_rng(seed)
    problem = _grid(n=40, m=12, seed=seed, fixed_cost_cny=rng.uniform(50, 400, 12), required=np.arange(12) == 0)
    fast = locate(problem, "uflp", **kw)
    assert fast.info.options["algorithm"] == "UFLP Lagrangian fixing + reduced strong model"
    assert fast.info.proven_optimal and verify(problem, fast).ok
    assert fast.params["cost_per_unit_km"] == kw.get("cost_per_unit_km", 1.0)
    assert len(fast.allocation) == problem.n_pairs
    ref = _pyomo_uflp(monkeypatch, problem, **kw)
    assert ref.info.options.get("algorithm") is None and ref.info.proven_optimal
    assert fast.objective == pytest.approx(ref.objective, rel=1e-7)


@pytest.mark.solver
def test_uflp_takes_the_sparse_route_when_the_dense_arrays_would_not_fit(monkeypatch):
    # with (pretended) little memory the guard and solve_uflp both choose the sparse route; its answer is
    # verified on the original pairs (cutoff and rate mapped back) and brackets the formulation's optimum
    from siting.algorithms import sparse_memory

    rng = np.random.default_rng(4)
    problem = _grid(n=60, m=15, seed=4, fixed_cost_cny=rng.uniform(50, 400, 15))
    kw = {"cost_per_unit_km": 1.7, "max_distance_km": 45.0}
    ref = _pyomo_uflp(monkeypatch, problem, **kw)
    monkeypatch.setattr(sparse_memory, "available_bytes", lambda: 1000)
    r = locate(problem, "uflp", options=SolverOptions(mip_rel_gap=1e-4), max_memory_bytes=2**40, **kw)
    assert r.info.options["algorithm"] == "UFLP sparse Lagrangian + local search"
    assert verify(problem, r).ok and len(r.allocation) == problem.n_pairs
    assert r.info.bound <= ref.objective * (1 + 1e-9) <= r.objective * (1 + 1e-9)


@pytest.mark.solver
def test_uflp_with_a_budget_or_decay_keeps_the_formulation():
    problem = _grid(n=20, m=6, seed=2, fixed_cost_cny=np.full(6, 100.0))
    for kw in ({"budget_cny": 300.0}, {"decay": "power:1.5"}):
        r = locate(problem, "uflp", **kw)
        assert r.info.options.get("algorithm") is None and verify(problem, r).ok, kw


@pytest.mark.solver
def test_uflp_memory_guard_estimates_the_fast_route():
    # 200 x 30: the Pyomo model is estimated at ~69 MB, the dense fast path at ~35 MB; a 50 MB limit lets the
    # run through on the route it takes, and still refuses the Pyomo formulation (a budget)
    from siting.provenance.memory import MemoryRefused

    rng = np.random.default_rng(9)
    problem = _grid(n=200, m=30, seed=9, fixed_cost_cny=rng.uniform(100, 500, 30))
    r = locate(problem, "uflp", max_memory_bytes=50 * 2**20)
    assert r.info.has_solution and r.info.options["algorithm"].startswith("UFLP")
    with pytest.raises(MemoryRefused):
        locate(problem, "uflp", budget_cny=1e9, max_memory_bytes=50 * 2**20)


def _new_pair_bytes(problem, work, kept) -> int:
    """Bytes of the arrays ``uflp_route_problem`` made: those of ``work`` not shared with ``problem``, and
    ``kept``."""
    fields = ("pair_demand", "pair_candidate", "distance_km", "time_min")
    made = [getattr(work, f) for f in fields if getattr(work, f) is not None and not any(
        getattr(problem, g) is not None and np.shares_memory(getattr(work, f), getattr(problem, g)) for g in fields)]
    return sum(a.nbytes for a in made) + (0 if kept is None else kept.nbytes)


@pytest.mark.parametrize("with_time", [False, True])
@pytest.mark.parametrize(("params", "copied"), [
    ({"cost_per_unit_km": 1.0}, False),
    ({"cost_per_unit_km": 1.0, "max_distance_km": 1e9}, False),  # the cutoff keeps every pair
    ({"cost_per_unit_km": 2.5}, True),
    ({"cost_per_unit_km": 1.0, "max_distance_km": 30.0}, True),
    ({"cost_per_unit_km": 2.5, "max_distance_km": 30.0}, True),
])
def test_uflp_memory_guard_counts_the_copy_of_the_pairs(params, copied, with_time):
    """The UFLP route's estimate grows by exactly the bytes of the pair arrays ``uflp_route_problem`` makes
    when a cost rate or a cutoff changes the pairs (8 B per pair for a rate, 32 B -- 40 B with travel times
    -- per kept pair for a cutoff), and not at all when it makes none."""
    from siting.model import get_model
    from siting.pipeline.locate import uflp_route_problem
    from siting.provenance.memory import check_route_memory, route_bytes

    problem = _grid(n=200, m=30, seed=9)
    if with_time:
        problem = problem.with_options(time_min=problem.distance_km * 1.5)
    work, kept = uflp_route_problem(problem, params)
    made = _new_pair_bytes(problem, work, kept)
    assert (made > 0) == copied and (work is problem) == (not copied)
    route = route_bytes(problem, "uflp", n_pairs=work.n_pairs).bytes
    assert check_route_memory(problem, get_model("uflp"), params, limit_bytes=2**40) - route == made


@pytest.mark.solver
def test_attendance_and_decay_change_the_answer_sensibly():
    problem = _grid(n=12, m=6, seed=4)
    near = locate(problem, "attendance", p=2, decay="exponential:0.5")
    flat = locate(problem, "attendance", p=2, decay="exponential:0.001")
    # a gentle decay attends almost everyone; a steep one much less
    assert flat.objective > 0.9 * problem.weight.sum()
    assert near.objective < flat.objective
    lin = locate(problem, "attendance", p=2, decay="linear", max_distance_km=25)
    assert lin.params["decay"]["cutoff_km"] == 25
    assert verify(problem, lin).ok


def test_scenario_errors_before_any_work():
    problem = _grid()
    with pytest.raises(ScenarioError) as e:
        locate(problem, "p-median", radius_km=3)
    assert len(e.value.lines()) == 2
    with pytest.raises(ScenarioError, match="unknown model"):
        locate(problem, "median")


def _gdfs(crs="EPSG:4326"):
    rng = np.random.default_rng(5)
    lon, lat = 106.3 + rng.uniform(0, 0.6, 9), 29.3 + rng.uniform(0, 0.5, 9)
    demand = gpd.GeoDataFrame(
        {"code": [f"t{i}" for i in range(9)], "pop": rng.integers(100, 1000, 9), "name": [f"镇{i}" for i in range(9)]},
        geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326",
    )
    cand = gpd.GeoDataFrame(
        {"code": ["A", "B", "C", "D"], "cost": [1e6, 2e6, 1.5e6, 1e6], "cap": [3000, None, 2500, 2000],
         "existing": ["yes", "no", "no", "0"], "region": ["主城", "主城", "渝东北", None]},
        geometry=gpd.points_from_xy(lon[:4] + 0.01, lat[:4]), crs="EPSG:4326",
    )
    return demand.to_crs(crs), cand.to_crs(crs)


def test_geo_adapter_checks_once_and_converts():
    demand, cand = _gdfs(crs="EPSG:32648")  # projected input is converted to WGS84
    problem = problem_from_geodataframes(
        demand, cand, demand_id="code", candidate_id="code", weight="pop", fixed_cost="cost", capacity="cap",
        required="existing", circuity=1.3, max_distance_km=40,
    )
    assert problem.n_demand == 9 and list(problem.candidate_ids) == ["A", "B", "C", "D"]
    assert problem.capacity[1] == np.inf and problem.required.tolist() == [True, False, False, False]
    assert problem.distance_km.max() <= 40 and problem.n_pairs < 9 * 4  # the cutoff dropped pairs
    from siting.geo.distance import haversine_km

    d4326, c4326 = _gdfs()
    k = 0
    i, j = problem.pair_demand[k], problem.pair_candidate[k]
    expect = haversine_km(d4326.geometry.x[i], d4326.geometry.y[i], c4326.geometry.x[j], c4326.geometry.y[j]) * 1.3
    assert problem.distance_km[k] == pytest.approx(float(expect), rel=1e-6)


def test_geo_adapter_reports_every_problem():
    demand, cand = _gdfs()
    demand = demand.astype({"pop": object})
    demand.loc[2, "pop"] = -5
    demand.loc[4, "pop"] = "many"
    demand.loc[6, "code"] = "t1"
    cand = cand.copy()
    cand.loc[1, "existing"] = "perhaps"
    with pytest.raises(DataError) as e:
        problem_from_geodataframes(demand, cand, demand_id="code", candidate_id="code", weight="pop",
                                  required="existing", fixed_cost="nope")
    lines = e.value.lines()
    assert any("row 3, column 'pop'" in s for s in lines)
    assert any("row 5, column 'pop'" in s for s in lines)
    assert any("row 7, column 'code'" in s and "duplicate" in s for s in lines)
    assert any("row 2, column 'existing'" in s for s in lines)
    assert any("column 'nope'" in s for s in lines)
    no_crs = demand.set_crs(None, allow_override=True)
    with pytest.raises(DataError, match="coordinate reference system"):
        problem_from_geodataframes(no_crs, cand)
    poly = cand.copy()
    poly.loc[0, "geometry"] = Polygon([(106, 29), (106.1, 29), (106.1, 29.1)])
    with pytest.raises(DataError, match="must be a Point"):
        problem_from_geodataframes(demand, poly)


@pytest.mark.solver
def test_result_tables_follow_the_outputs_contract():
    demand, cand = _gdfs()
    problem = problem_from_geodataframes(demand, cand, demand_id="code", candidate_id="code", weight="pop",
                                        fixed_cost="cost", capacity="cap")
    result = locate(problem, "cflp", cost_per_unit_km=2.0)
    verdict = verify(problem, result)
    summary, fac, asg, dem = result_tables(problem, result, demand, cand, verdict=verdict)
    from siting.outputs import validate_frames
    from siting.outputs.tables import validate_summary

    frames = validate_frames(fac, asg, dem)
    validate_summary(summary, frames)
    assert summary["facility_ids"] == list(fac.facility_id)
    assert fac.volume.sum() == pytest.approx(problem.weight.sum())
    total = summary["cost_cny"]["facility"]["total"]
    assert total == pytest.approx(result.objective)
    assert fac.transport_cost_cny.sum() == pytest.approx(asg.cost_cny.sum())
    assert dem.covered.all() and dem.assigned_to.notna().all()
    assert (fac.utilisation[fac.capacity.notna()] <= 1 + 1e-9).all()
    assert summary["verification"]["ok"]
