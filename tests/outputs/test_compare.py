"""siting compare: table, site differences, map, and bad run directories."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fake_run import fake_run, load_districts

from siting.cli import main
from siting.core.errors import DataError
from siting.outputs import write_run
from siting.outputs.compare import compare_table, load_runs, site_differences, write_compare


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cmp")
    dirs = []
    for name, drop in (("base", 0), ("lean", 4)):
        s, f, a, d, _ = fake_run(n_demand=150, seed=2, scenario=name, drop_parks=drop)
        dirs.append(write_run(root / name, summary=s, facilities=f, assignments=a, demand=d))
    return root, dirs


def test_table_and_differences(runs):
    _, dirs = runs
    loaded = load_runs(dirs)
    table = compare_table(loaded)
    assert list(table.columns) == ["base", "lean"]
    assert table.loc["count park", "base"] == 38 and table.loc["count park", "lean"] == 34
    assert table.loc["count hub", "base"] == 3 == table.loc["count hub", "lean"]
    assert table.loc["scenario / model", "lean"] == "lean"
    assert table.loc["status", "base"] == "optimal"
    base = json.loads((dirs[0] / "summary.json").read_text(encoding="utf-8"))
    assert table.loc["objective", "base"] == pytest.approx(base["objective"])
    assert table.loc["cost total (CNY)", "base"] == pytest.approx(base["objective"])  # fake run: objective = total cost
    assert table.loc["cost park fixed (CNY)", "base"] - table.loc["cost park fixed (CNY)", "lean"] == pytest.approx(4 * 3.0e6)
    assert table.loc["share of demand covered", "base"] >= table.loc["share of demand covered", "lean"]
    diff = site_differences(loaded)
    assert len(diff["only_in"]["base"]) == 4 and diff["only_in"]["lean"] == []
    assert diff["sites_total"] == 41 and len(diff["in_all"]) == 37
    assert table.loc["sites only in this run", "base"] == 4


def test_write_compare_atomic_outputs(runs, tmp_path):
    _, dirs = runs
    out = write_compare(dirs, tmp_path / "c", boundaries=load_districts())
    assert sorted(p.name for p in out.iterdir()) == ["compare.csv", "compare.html", "compare.json", "compare_parameters.csv"]
    data = json.loads((out / "compare.json").read_text(encoding="utf-8"))
    assert data["sites_total"] == 41 and len(data["only_in"]["base"]) == 4
    assert (out / "compare.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    csv = pd.read_csv(out / "compare.csv", encoding="utf-8-sig", index_col=0)
    assert list(csv.columns) == ["base", "lean"]
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert "only in base (4)" in page and "open in all runs (37)" in page
    assert "<script src" not in page and "//cdn" not in page
    assert [p.name for p in tmp_path.iterdir()] == ["c"]


def test_bad_run_dirs_listed_one_per_line(runs, tmp_path):
    root, dirs = runs
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "summary.json").write_text("{not json")
    (broken / "solution.gpkg").write_text("not a geopackage")
    with pytest.raises(DataError) as info:
        load_runs([dirs[0], tmp_path / "missing", tmp_path / "empty", tmp_path / "file.txt", broken])
    lines = info.value.lines()
    assert len(lines) == 6, lines
    assert any("missing" in ln and "does not exist" in ln for ln in lines)
    assert sum("empty" in ln for ln in lines) == 2  # no summary.json, no solution.gpkg
    assert any("file.txt" in ln and "not a directory" in ln for ln in lines)
    assert any("summary.json" in ln and "JSON" in ln for ln in lines)
    assert any("solution.gpkg" in ln and "GeoPackage" in ln for ln in lines)
    with pytest.raises(DataError, match="at least two"):
        load_runs([dirs[0]])


def test_cli_compare(runs, tmp_path, capsys):
    _, dirs = runs
    out = tmp_path / "cmp"
    rc = main(["compare", str(dirs[0]), str(dirs[1]), "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "base" in printed and "lean" in printed and "count park" in printed and "objective" in printed
    assert "only in base" in printed
    assert (out / "compare.html").exists()
    # an existing output is refused before any work, then replaced with --overwrite
    assert main(["compare", str(dirs[0]), str(dirs[1]), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert main(["compare", str(dirs[0]), str(dirs[1]), "--out", str(out), "--overwrite", "--label", "A", "--label", "B"]) == 0
    assert "A" in json.loads((out / "compare.json").read_text())["only_in"]


def test_cli_compare_bad_dirs_exit_2(runs, tmp_path, capsys):
    _, dirs = runs
    rc = main(["compare", str(dirs[0]), str(tmp_path / "nope"), str(tmp_path / "nope2"), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(ln.startswith("error: ") and "does not exist" in ln for ln in err)
    assert not (tmp_path / "o").exists()


def test_cli_compare_bad_boundaries(runs, tmp_path, capsys):
    _, dirs = runs
    bad = tmp_path / "b.geojson"
    bad.write_text("{broken")
    rc = main(["compare", str(dirs[0]), str(dirs[1]), "--boundaries", str(bad), "--out", str(tmp_path / "o")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "b.geojson" in err[0] and "cannot be read" in err[0]
    assert not (tmp_path / "o").exists()


@pytest.mark.solver
def test_cli_compare_shows_parameters_that_differ_and_writes_next_to_the_first_run(tmp_path, monkeypatch, capsys):
    from pathlib import Path

    scenario = Path(__file__).resolve().parents[2] / "models" / "example.toml"
    runs = tmp_path / "runs"
    assert main(["run", str(scenario), "--out", str(runs / "r8"), "--quiet"]) == 0
    assert main(["run", str(scenario), "--out", str(runs / "r12"), "--quiet", "--set", "tiers.point.radius_km=12",
                 "--gap", "0.001"]) == 0
    capsys.readouterr()
    work = tmp_path / "elsewhere"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["compare", str(runs / "r8"), str(runs / "r12")]) == 0
    printed = capsys.readouterr().out
    assert "parameters that differ" in printed
    assert "--set tiers.point.radius_km" in printed and "tiers.point.radius_km" in printed
    assert "solver.mip_rel_gap" in printed
    assert list(work.iterdir()) == []  # nothing in the working directory (no ./out)
    written = [p for p in runs.iterdir() if p.name.startswith("compare-r8-")]
    assert len(written) == 1
    data = json.loads((written[0] / "compare.json").read_text(encoding="utf-8"))
    diff = data["parameters_differ"]
    assert diff["tiers.point.radius_km"] == {"r8": 8, "r12": 12}
    assert diff["--set tiers.point.radius_km"] == {"r8": None, "r12": 12}
    assert "scenario.name" not in diff  # equal parameters are not listed
    params = pd.read_csv(written[0] / "compare_parameters.csv", encoding="utf-8-sig", index_col=0)
    assert list(params.index)[0] == "--set tiers.point.radius_km"  # the --set values first
