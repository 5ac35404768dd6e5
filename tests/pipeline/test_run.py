"""The scenario pipeline and `siting run`: example end to end, both Chongqing scenarios solved and verified."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from siting.cli import main
from siting.core.errors import InfeasibleError, ScenarioError
from siting.pipeline.run import run_scenario
from siting.core.options import SolverOptions

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"


@pytest.mark.solver
def test_cli_run_example_writes_outputs(tmp_path, capsys):
    out = tmp_path / "ex"
    assert main(["run", str(MODELS / "example.toml"), "--out", str(out), "--quiet"]) == 0
    for name in ("summary.json", "solution.gpkg", "map.html"):
        assert (out / name).is_file(), name
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["scenario"] == "example" and s["status"] == "optimal" and s["verified"] is True
    assert s["counts_by_tier"]["hub"] == 2 and s["counts_by_tier"]["depot"] == 4
    assert s["coverage"]["share_served"] == pytest.approx(1.0)
    by_type = s["cost_cny"]["by_type"]
    assert s["objective"] == pytest.approx(sum(by_type.values()), rel=1e-9)
    assert set(s["cost_cny"]["hub"]) == {"fixed", "handling", "transport", "total"}
    import geopandas as gpd

    fac = gpd.read_file(out / "solution.gpkg", layer="facilities")
    asg = gpd.read_file(out / "solution.gpkg", layer="assignments")
    dem = gpd.read_file(out / "solution.gpkg", layer="demand")
    assert sorted(fac["tier"].unique()) == ["depot", "hub", "point"] and fac["unit"].notna().all()
    assert len(dem) == 40 and dem["covered"].all()
    # one assignment row per demand point and per open facility below the top
    assert len(asg) == 40 + (len(fac) - 2)
    assert set(asg.columns) >= {"from_id", "to_id", "tier", "distance_km", "volume"}
    text = capsys.readouterr().out
    assert "example: optimal" in text and "verified: yes" in text
    # a second run refuses to overwrite without --overwrite (exit 2, one line)
    assert main(["run", str(MODELS / "example.toml"), "--out", str(out), "--quiet"]) == 2


def test_cli_run_bad_options_one_line_each(tmp_path, capsys):
    code = main(["run", str(MODELS / "example.toml"), "--out", str(tmp_path / "x"), "--set", "tiers.point.radius_kn=3",
                 "--set", "novalue", "--gap", "2"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --set: expected KEY=VALUE, got 'novalue'", "error: --gap: must be in [0, 1), got 2.0"]
    code = main(["run", str(MODELS / "example.toml"), "--out", str(tmp_path / "x"), "--set", "tiers.point.radius_kn=3"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {MODELS / 'example.toml'}, tiers.point.radius_kn: unknown key; did you mean 'radius_km'?"]
    assert not (tmp_path / "x").exists()


@pytest.mark.solver
def test_coverage_objective_under_a_budget():
    o = run_scenario(MODELS / "example.toml", write=False, overrides={
        "objective.kind": "coverage", "objective.budget_cny_per_year": 25_000_000, "objective.budget_scope": "fixed"})
    assert o.ok and o.summary["objective_kind"] == "coverage"
    assert 0 < o.summary["coverage"]["share_served"] < 1
    assert o.summary["cost_cny"]["by_type"]["fixed"] <= 25_000_000 + 1e-6
    assert o.summary["objective"] == pytest.approx(o.summary["coverage"]["demand_served"])


@pytest.mark.solver
def test_run_scenario_overrides_larger_radius_never_costs_more():
    base = run_scenario(MODELS / "example.toml", write=False)
    wide = run_scenario(MODELS / "example.toml", overrides={"tiers.point.radius_km": 12}, write=False)
    assert base.ok and wide.ok
    assert wide.summary["objective"] <= base.summary["objective"] * (1 + 1e-9)
    assert wide.summary["overrides"] == {"tiers.point.radius_km": 12}


def test_gateway_rule_that_empties_a_region_is_explained():
    gw = {"ids": ["HN0"], "radius_km": 1.0, "source": "../data/example/hubs.csv"}
    with pytest.raises(ScenarioError) as exc:
        run_scenario(MODELS / "example.toml", overrides={"tiers.hub.gateway": gw}, write=False)
    assert exc.value.lines() == [f"{MODELS / 'example.toml'}, tiers.hub.count_per: region South has no hub candidate "
                                 "(needs exactly 1); 1 of 2 regions have one; 2 dropped by the gateway rule"]
    gw["ids"] = ["X"]
    with pytest.raises(ScenarioError) as exc:
        run_scenario(MODELS / "example.toml", overrides={"tiers.hub.gateway": gw}, write=False)
    assert f"{MODELS / 'example.toml'}, tiers.hub.gateway.ids: no gateway with id 'X'" in exc.value.lines()


@pytest.mark.solver
def test_solver_proven_infeasibility_names_the_family():
    # a budget below the cheapest network: the precheck's fixed-cost bound does not see transport costs,
    # the solver proves infeasibility and the diagnosis names the budget
    with pytest.raises(InfeasibleError) as exc:
        run_scenario(MODELS / "example.toml", overrides={"objective.budget_cny_per_year": 30_000_000}, write=False)
    assert any(s.endswith("check budget") for s in exc.value.lines()), exc.value.lines()


def _check_tree(outcome, counts):
    p, r = outcome.problem, outcome.result
    assert outcome.ok, outcome.check.violations if outcome.check else "no solution"
    assert outcome.summary["counts_by_tier"] == {**outcome.summary["counts_by_tier"], **counts}
    return p, r


@pytest.mark.solver
def test_chongqing_express_solves_and_verifies():
    opts = SolverOptions(time_limit_s=60, mip_rel_gap=0.005, threads=2)
    o = run_scenario(MODELS / "chongqing-express.toml", write=False, options=opts)
    p, r = _check_tree(o, {"hub": 3, "park": 41})
    assert o.summary["gap"] <= 0.005 + 1e-9
    # one hub per region and one park per unit, seen from the result itself
    hub, park, coll = p.tiers
    assert sorted(hub.groups["region"][r.open[0]]) == sorted(set(hub.groups["region"]) - {None})
    assert len(set(park.groups["unit"][r.open[1]])) == 41
    # every township within 15 km of its collection point, inside its own unit
    lk = p.links[2]
    used = r.link_used[2]
    assert np.bincount(lk.child[used], minlength=p.n_demand).tolist() == [1] * p.n_demand
    assert lk.distance_km[used].max() <= 15.0
    assert o.summary["coverage"]["share_served"] == pytest.approx(1.0)


@pytest.mark.solver
def test_chongqing_cold_chain_solves_and_verifies():
    opts = SolverOptions(time_limit_s=35, mip_rel_gap=0.005, threads=2)  # accepts the incumbent at the limit (+ polish)
    o = run_scenario(MODELS / "chongqing-cold-chain.toml", write=False, options=opts)
    p, r = _check_tree(o, {"backbone": 3, "regional": 10})
    assert o.summary["gap"] < 0.10  # the incumbent at the limit, polished by local search
    kinds = set(p.demand_groups["kind"])
    assert kinds == {"consumption", "citrus", "lemon", "zhacai", "hotpot", "beef_jerky"}
    # the farm origins are served too, within the node radius (perishability)
    lk = p.links[2]
    assert lk.distance_km[r.link_used[2]].max() <= 40.0
