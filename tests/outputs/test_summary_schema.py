"""One summary.json schema for `siting locate` and `siting run`, and old (version 1) summaries still read."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from fake_run import fake_run

from siting.outputs import FrameContractError, validate_frames
from siting.outputs.report import render_report
from siting.outputs.summary import COVERAGE_KEYS, SUMMARY_VERSION, normalise_summary
from siting.outputs.tables import validate_summary

REPO = Path(__file__).resolve().parents[2]


def _locate_summary(model: str, **params):
    from siting.geo.adapt import problem_from_geodataframes
    from siting.pipeline.locate import locate, result_tables
    from siting.single.verify import verify

    rng = np.random.default_rng(5)
    lon, lat = 106.3 + rng.uniform(0, 0.6, 12), 29.3 + rng.uniform(0, 0.5, 12)
    demand = gpd.GeoDataFrame({"code": [f"t{i}" for i in range(12)], "pop": rng.integers(100, 1000, 12)},
                              geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    cand = gpd.GeoDataFrame({"code": list("ABCDE"), "cost": [1e6, 2e6, 1.5e6, 1e6, 3e6]},
                            geometry=gpd.points_from_xy(lon[:5] + 0.01, lat[:5]), crs="EPSG:4326")
    problem = problem_from_geodataframes(demand, cand, demand_id="code", candidate_id="code", weight="pop", fixed_cost="cost")
    result = locate(problem, model, **params)
    summary, fac, asg, dem = result_tables(problem, result, demand, cand, verdict=verify(problem, result))
    validate_summary(summary, validate_frames(fac, asg, dem))
    return summary, float(problem.weight.sum())


@pytest.mark.solver
def test_locate_and_run_write_the_same_layout():
    from siting.pipeline.run import run_scenario

    run = run_scenario(REPO / "models" / "example.toml", write=False).summary
    validate_summary(run, validate_frames(*run_scenario(REPO / "models" / "example.toml", write=False).tables))
    pm, pm_total = _locate_summary("p-median", p=2)
    mclp, mclp_total = _locate_summary("mclp", p=1, radius_km=10.0)
    uflp, _ = _locate_summary("uflp")
    for s in (run, pm, mclp, uflp):
        assert s["summary_version"] == SUMMARY_VERSION
        assert set(COVERAGE_KEYS) <= set(s["coverage"]), s["model"]
        assert {"model", "scenario", "objective_kind", "weight_unit", "solver_options", "cost_cny", "verified"} <= set(s)
        cov = s["coverage"]
        assert cov["share_covered"] == pytest.approx(cov["demand_covered"] / cov["demand_total"])
        assert cov["share_served"] == pytest.approx(cov["demand_served"] / cov["demand_total"])
    assert pm["coverage"]["demand_total"] == pytest.approx(pm_total)
    assert pm["coverage"]["share_served"] == pytest.approx(1.0) and pm["cost_cny"] == {}
    assert mclp["coverage"]["radius_km"] == 10.0
    assert mclp["coverage"]["demand_covered"] == pytest.approx(mclp["objective"])  # MCLP's objective is the covered weight
    assert mclp["coverage"]["share_covered"] < 1.0 and mclp_total > mclp["coverage"]["demand_covered"]
    # one cost layout: tier -> {fixed, handling, transport, total}, total, by_type
    for s in (run, uflp):
        tiers = [k for k in s["cost_cny"] if k not in ("total", "by_type")]
        assert tiers and all(set(s["cost_cny"][t]) == {"fixed", "handling", "transport", "total"} for t in tiers)
        assert s["cost_cny"]["total"] == pytest.approx(sum(s["cost_cny"][t]["total"] for t in tiers))
        assert s["cost_cny"]["total"] == pytest.approx(sum(s["cost_cny"]["by_type"].values()))
    assert uflp["cost_cny"]["total"] == pytest.approx(uflp["objective"])
    assert run["solver_options"].get("mip_rel_gap") is not None and "options" not in run


def test_version_2_summary_needs_every_coverage_key():
    s, f, a, d, _ = fake_run(n_demand=50, seed=1)
    frames = validate_frames(f, a, d)
    bad = dict(s, summary_version=2, coverage={"demand_total": 1.0})
    with pytest.raises(FrameContractError, match="summary.coverage: missing key"):
        validate_summary(bad, frames)


V1_LOCATE = {
    "model": "mclp", "status": "optimal", "objective": 80.0, "params": {"p": 1, "radius_km": 5.0},
    "coverage": {"demand_points": 10, "covered_points": 8, "total_weight": 100.0, "covered_weight": 80.0,
                 "covered_share": 0.8, "served_weight": 100.0, "mean_distance_km": 3.0, "max_distance_km": 9.0},
    "solver_options": {"mip_rel_gap": 1e-6},
}
V1_RUN = {
    "scenario": "example", "model": "multitier", "status": "optimal", "options": {"mip_rel_gap": 1e-4},
    "coverage": {"demand_points": 10, "demand_points_served": 10, "demand_total": 50.0, "demand_served": 50.0,
                 "share_served": 1.0, "mean_distance_km": 1.0, "max_distance_km": 2.0, "radius_km": {"hub": None}},
}


def test_old_summaries_are_read_in_the_new_layout():
    loc = normalise_summary(V1_LOCATE)
    assert set(COVERAGE_KEYS) <= set(loc["coverage"])
    assert loc["coverage"]["demand_total"] == 100.0 and loc["coverage"]["demand_covered"] == 80.0
    assert loc["coverage"]["share_covered"] == 0.8 and loc["coverage"]["share_served"] == 1.0
    assert loc["coverage"]["demand_points_covered"] == 8 and loc["coverage"]["radius_km"] == 5.0
    assert loc["scenario"] is None and "total_weight" not in loc["coverage"]
    run = normalise_summary(V1_RUN)
    assert set(COVERAGE_KEYS) <= set(run["coverage"])
    assert run["coverage"]["demand_points_covered"] == 10 and run["coverage"]["share_covered"] == 1.0
    assert run["solver_options"] == {"mip_rel_gap": 1e-4}
    assert V1_LOCATE["coverage"].get("total_weight") == 100.0  # the input is not changed


def test_report_renders_an_old_summary():
    s, f, a, d, _ = fake_run(n_demand=60, seed=2)
    old = dict(s, coverage=V1_LOCATE["coverage"])
    old.pop("summary_version", None)
    text = render_report(summary=old, facilities=f, assignments=a, demand=d, pngs={})
    assert "demand_total" in text and "total_weight" not in text
