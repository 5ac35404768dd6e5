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


# --- a point far from all the others (probably a wrong coordinate) ------------------------------------------


def _far_scenario(tmp_path):
    """A copy of the example whose demand file has village VN107 (data row 8) in Paris."""
    from pathlib import Path

    data = Path(__file__).resolve().parents[2] / "data" / "example"
    rows = (data / "villages.csv").read_text(encoding="utf-8").splitlines()
    villages = tmp_path / "villages.csv"
    villages.write_text("\n".join(r.replace("110.14348,30.18128", "2.3522,48.8566") if r.startswith("VN107,") else r
                                  for r in rows) + "\n", encoding="utf-8")
    text = (data.parents[1] / "models" / "example.toml").read_text(encoding="utf-8")
    text = text.replace("../data/example/", f"{data.as_posix()}/").replace(
        f'source = {{ path = "{data.as_posix()}/villages.csv"', f'source = {{ path = "{villages.as_posix()}"')
    scenario = tmp_path / "far.toml"
    scenario.write_text(text, encoding="utf-8")
    return scenario, villages


def test_run_refuses_a_demand_point_in_paris_naming_file_row_and_id(capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenario, villages = _far_scenario(tmp_path)
    assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    captured = capfd.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"error: {villages}, row 8, column 'lon,lat': demand point 'VN107' at (2.3522, 48.8566) is ")
    assert err[0].endswith("set allow_far = true under [scenario] (siting run --allow-far)")
    assert "Traceback" not in captured.err and not captured.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["far.toml", "villages.csv"]  # nothing written


def test_run_refuses_a_gateway_point_in_paris_with_the_other_far_points(capfd, tmp_path, monkeypatch):
    # a hub gateway file whose second point (data row 2) is in Paris: far from every hub candidate, it is
    # reported with its file, row and id in the same exit-2 report as the demand point in Paris
    monkeypatch.chdir(tmp_path)
    scenario, villages = _far_scenario(tmp_path)
    gw = tmp_path / "gateways.csv"
    gw.write_text("id,name,lon,lat\nG1,Port,110.2,30.17\nG2,Port in Paris,2.3522,48.8566\n", encoding="utf-8")
    gateway = f'tiers.hub.gateway={{source="{gw.as_posix()}", radius_km=300}}'
    assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet", "--set", gateway]) == 2
    captured = capfd.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 2, err
    assert err[0].startswith(f"error: {villages}, row 8, column 'lon,lat': demand point 'VN107' at (2.3522, 48.8566) ")
    assert err[1].startswith(f"error: {gw}, row 2, column 'lon,lat': hub gateway point 'G2' at (2.3522, 48.8566) is ")
    assert "km from the nearest hub candidate ('H" in err[1]
    assert err[1].endswith("set allow_far = true under [scenario] (siting run --allow-far)")
    assert "Traceback" not in captured.err and not captured.out
    assert not (tmp_path / "out").exists()
    # --allow-far accepts both: the run then stops at the precheck (the village in Paris has no point candidate)
    assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet", "--set", gateway, "--allow-far"]) == 2
    err = capfd.readouterr().err
    assert "FAR_KM" not in err and "demand Village N1-07" in err
    assert not (tmp_path / "out").exists()


def test_run_allow_far_flag_and_key_let_the_point_through(capfd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scenario, _ = _far_scenario(tmp_path)
    # accepted, the village in Paris is then what it is: no point candidate within 8 km (the precheck, no solve)
    for extra in (["--allow-far"], ["--set", "scenario.allow_far=true"]):
        assert main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet", *extra]) == 2
        err = capfd.readouterr().err
        assert "FAR_KM" not in err and "Traceback" not in err
        assert "demand Village N1-07" in err and "within 8 km" in err
    assert not (tmp_path / "out").exists()
