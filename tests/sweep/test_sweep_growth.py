"""The growth dimension: demand volumes compound from each component's base year to ``scenario.year``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siting.core.errors import ScenarioError
from siting.scenario.build import build_problem
from siting.scenario.load import load_scenario

SCENARIO = """\
[scenario]
name = "growth"
{year}
[demand.express]
source = "demand.csv"
units_per_weight_unit = 1.0
{growth}
[demand.postal]
source = "demand.csv"
units_per_weight_unit = 0.5
growth_rate_per_year = 0.09
base_year = 2024

[tiers.depot]
candidates = "sites.csv"
fixed_cost_cny_per_year = 100
handling_cost_cny_per_unit = 1.0
transport_cost_cny_per_unit_km = 0.1
radius_km = 500
"""


def _write(tmp_path: Path, *, year: str = "", growth: str = "growth_rate_per_year = 0.12\nbase_year = 2024") -> Path:
    (tmp_path / "demand.csv").write_text("id,name,lon,lat,weight\na,A,106.5,29.5,100\nb,B,106.6,29.6,40\n")
    (tmp_path / "sites.csv").write_text("id,name,lon,lat\ns,S,106.55,29.55\n")
    path = tmp_path / "growth.toml"
    path.write_text(SCENARIO.format(year=year, growth=growth), encoding="utf-8")
    return path


def test_volumes_compound_to_the_planning_year(tmp_path: Path):
    path = _write(tmp_path)
    base = build_problem(load_scenario(path)).weight
    np.testing.assert_allclose(base, [100, 40, 50, 20])
    same = build_problem(load_scenario(path, overrides={"scenario.year": 2024})).weight
    np.testing.assert_allclose(same, base)
    grown = build_problem(load_scenario(path, overrides={"scenario.year": 2027})).weight
    np.testing.assert_allclose(grown, [100 * 1.12**3, 40 * 1.12**3, 50 * 1.09**3, 20 * 1.09**3])
    back = build_problem(load_scenario(path, overrides={"scenario.year": 2023})).weight
    np.testing.assert_allclose(back[:2], [100 / 1.12, 40 / 1.12])


def test_growth_needs_a_base_year_and_the_year_needs_growth(tmp_path: Path):
    path = _write(tmp_path, year="year = 2027", growth="growth_rate_per_year = 0.12")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert [line for line in err.value.lines() if "demand.express.base_year" in line]
    path = _write(tmp_path, year="year = 2027", growth="")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert err.value.lines() == [f"{path}, demand.express: scenario.year = 2027 but this component has no "
                                 "growth_rate_per_year and base_year (give them; 0 for no growth)"]
    path = _write(tmp_path, growth="growth_rate_per_year = -1.5\nbase_year = 2024")
    with pytest.raises(ScenarioError, match="growth_rate_per_year"):
        load_scenario(path)
    path = _write(tmp_path, year='year = "2027"')
    with pytest.raises(ScenarioError, match="scenario.year"):
        load_scenario(path)


def test_run_ids_follow_the_data_files_and_the_year(tmp_path: Path):
    """The default resolver validates each run and hashes the data files it reads into the run id."""
    from siting.sweep.runner import plan_runs, sweep_grid

    path = _write(tmp_path)
    grid = sweep_grid(path, ["scenario.year=2024,2027"])
    ids = [t.run_id for t in plan_runs(path, grid, out_dir=tmp_path / "o")]
    assert len(set(ids)) == 2
    assert ids == [t.run_id for t in plan_runs(path, grid, out_dir=tmp_path / "o")]
    (tmp_path / "demand.csv").write_text("id,name,lon,lat,weight\na,A,106.5,29.5,100\nb,B,106.6,29.6,41\n")
    assert not set(ids) & {t.run_id for t in plan_runs(path, grid, out_dir=tmp_path / "o")}
    with pytest.raises(ScenarioError, match="scenario.year"):
        plan_runs(path, sweep_grid(path, ["scenario.year=2027,x"]), out_dir=tmp_path / "o")
