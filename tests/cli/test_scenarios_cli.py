"""``siting scenarios`` and ``siting run NAME``: shipped scenarios by name, from any directory."""

from __future__ import annotations

import pytest

from siting.cli import main


def test_scenarios_lists_name_and_description(capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["scenarios"]) == 0
    out = capfd.readouterr().out
    assert "chongqing-express" in out and "3 hubs (one per planning region)" in out
    assert "example" in out and "reference data:" in out
    assert not list(tmp_path.iterdir())


def test_scenarios_copy_then_run_the_copy(capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["scenarios", "copy", "example", "plan"]) == 0
    assert (tmp_path / "plan" / "example.toml").is_file()
    assert (tmp_path / "plan" / "data" / "example" / "villages.csv").is_file()
    assert main(["scenarios", "copy", "example", "plan"]) == 2
    assert "exists already" in capfd.readouterr().err


def test_run_unknown_name_lists_the_shipped_ones(capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "chongqing-expres", "--out", str(tmp_path / "o")]) == 2
    err = capfd.readouterr().err
    assert "scenario file not found" in err and "chongqing-express" in err and "Traceback" not in err
    assert not list(tmp_path.iterdir())


@pytest.mark.solver
def test_run_shipped_scenario_by_name_from_elsewhere(capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "example", "--out", str(tmp_path / "ex"), "--quiet"]) == 0
    assert "verified: yes" in capfd.readouterr().out
    assert (tmp_path / "ex" / "summary.json").is_file()


def test_infeasible_radius_flood_is_grouped_with_the_full_list_next_to_out(capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    hubs = '{path="../data/example/hubs.csv", unit_col="unit", region_col="region"}'
    rc = main(["run", "example", "--set", f"tiers.point.candidates={hubs}", "--set", "tiers.point.radius_km=1",
               "--out", str(tmp_path / "run"), "--quiet"])
    err = capfd.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 2, err
    assert "has no point candidate within 1 km in the same unit [and 39 more like it]" in err[0]
    assert err[1] == f"note: 40 problems in all, grouped by cause above; the full list is in {tmp_path / 'run.errors.csv'}"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.errors.csv"]
