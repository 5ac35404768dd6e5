"""The budget–coverage frontier (epsilon-constraint) on a stand-in run, and its grid validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sweep_fake import calls, fake_coverage_run
from siting.core.errors import ScenarioError
from siting.sweep.frontier import frontier_violations, budget_grid, run_frontier


def test_budget_grid():
    assert budget_grid(0, 1000, 5) == (0.0, 250.0, 500.0, 750.0, 1000.0)
    assert budget_grid(300, 300, 1) == (300.0,)
    for bad in [(0, 100, 0), (100, 0, 3), (-1, 5, 3), (0, float("inf"), 3), (0, 10, 1)]:
        with pytest.raises(ScenarioError):
            budget_grid(*bad)


def test_frontier_is_monotone_and_written(tmp_path: Path):
    scenario = tmp_path / "s.toml"
    scenario.write_text('name = "s"\n', encoding="utf-8")
    out = tmp_path / "f"
    res = run_frontier(scenario, budget_from=0, budget_to=1200, steps=7, out_dir=out, executor="serial",
                       run_fn=fake_coverage_run)
    table = pd.read_csv(out / "frontier.csv")
    assert list(table["budget_cny"]) == [0, 200, 400, 600, 800, 1000, 1200]
    np.testing.assert_allclose(table["covered"], [0, 19, 34, 45, 52, 55, 55])
    assert (np.diff(table["covered"]) >= 0).all() and res.violations == ()
    assert (table["cost_cny"] <= table["budget_cny"]).all()
    assert list(table["count.point"]) == [0, 2, 4, 6, 8, 10, 10]
    assert (out / "frontier.png").exists() and "<svg" in (out / "frontier.html").read_text()
    assert (out / "sweep.csv").exists() and len(calls(out)) == 7
    # resumes like any sweep
    run_frontier(scenario, budget_from=0, budget_to=1200, steps=7, out_dir=out, executor="serial",
                 run_fn=fake_coverage_run)
    assert len(calls(out)) == 7


def test_violations_flag_a_drop_between_optimal_points():
    table = pd.DataFrame({"budget_cny": [0.0, 1.0, 2.0], "status": ["optimal"] * 3, "covered": [1.0, 3.0, 2.0]})
    assert frontier_violations(table) == ((1.0, 2.0),)
    table.loc[2, "status"] = "feasible"  # not proven optimal: no claim
    assert frontier_violations(table) == ()


EXAMPLE = Path(__file__).resolve().parents[2] / "models" / "example.toml"


@pytest.mark.solver
def test_frontier_of_the_example_reaches_full_coverage_at_the_min_cost(tmp_path: Path):
    """Covered demand never falls as the budget grows, and the budget of the cheapest network serving all
    demand (the cost-mode optimum C*) covers everything."""
    if not EXAMPLE.exists():
        pytest.skip("models/example.toml is not there")
    from siting.pipeline.run import run_scenario
    from siting.core.options import SolverOptions

    exact = {"mip_rel_gap": 1e-9, "time_limit_s": 60.0}
    best = run_scenario(EXAMPLE, out_dir=tmp_path / "cost", options=SolverOptions(threads=1, **exact))
    c_star = best.summary["cost_cny"]["total"]
    res = run_frontier(EXAMPLE, budget_from=0.8 * c_star, budget_to=1.3 * c_star, steps=3,
                       out_dir=tmp_path / "frontier", executor="serial", solver=exact)
    table = res.table
    assert (table["status"] == "optimal").all(), table["error"].tolist()
    assert res.violations == ()
    assert (np.diff(table["covered"]) >= -1e-9).all()
    assert (table["cost_cny"] <= table["budget_cny"] * (1 + 1e-9) + 1e-6).all()
    assert table["covered_share"].iloc[-1] == pytest.approx(1.0)
    assert table["covered_share"].iloc[0] < 1.0
    assert "<svg" in (tmp_path / "frontier" / "frontier.html").read_text()
