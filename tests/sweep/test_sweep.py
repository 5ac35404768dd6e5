"""Sweep machinery: grid parsing, run ids, CSV, failures, resume and executors (with a fast stand-in run)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sweep_fake import RADIUS, calls, fake_run
from siting.sweep.grid import grid_from_table, merge_grids, run_id, scenario_fingerprint
from siting.sweep.plot import pareto_front
from siting.core.errors import OutputError, ScenarioError
from siting.core.options import SolverOptions
from siting.sweep.runner import MARKER, plan_runs, run_sweep, sweep_grid
from siting.sweep.grid import SweepGrid, parse_set, parse_values

SCENARIO = """\
# a scenario file for the sweep machinery (content only matters for the hash)
name = "tiny"
[demand]
year = 2024
[[tiers]]
name = "collection"
radius_km = 10
"""


@pytest.fixture
def scenario(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(SCENARIO, encoding="utf-8")
    return path


# --- parsing -------------------------------------------------------------------------------------


def test_parse_values_toml_scalars():
    assert parse_values("10,15,20") == (10, 15, 20)
    assert parse_values("2.5, 1e3") == (2.5, 1000.0)
    assert parse_values("true,false") == (True, False)
    assert parse_values('"a,b",c') == ("a,b", "c")
    assert parse_values("max-coverage") == ("max-coverage",)
    kinds = [type(v) for v in parse_values("1,1.0,true,x")]
    assert kinds == [int, float, bool, str]


@pytest.mark.parametrize("bad", ["1,,2", "1,1", "[1,2]", ""])
def test_parse_values_rejects(bad):
    with pytest.raises(ValueError):
        parse_values(bad)


def test_parse_set_collects_every_defect():
    with pytest.raises(ScenarioError) as err:
        parse_set(["a.b=1,2", "nokey", "a.b=3", "bad key=1", "c=1,1"])
    lines = err.value.lines()
    assert len(lines) == 4
    assert any("given twice" in line for line in lines)
    assert all(line.startswith("--set, row ") for line in lines)


def test_grid_is_cartesian_in_run_order():
    grid = parse_set(["x=1,2,3", "y=a,b"])
    pts = grid.points()
    assert len(grid) == len(pts) == 6
    assert [p.index for p in pts] == [1, 2, 3, 4, 5, 6]
    assert [p.as_dict() for p in pts[:3]] == [{"x": 1, "y": "a"}, {"x": 1, "y": "b"}, {"x": 2, "y": "a"}]
    assert SweepGrid().points()[0].overrides == ()


def test_sweep_table_both_spellings_and_merge(tmp_path: Path):
    path = tmp_path / "s.toml"
    path.write_text(
        SCENARIO + '\n[sweep]\n"tiers.collection.radius_km" = [5, 10]\ndemand.year = [2024, 2027]\n', encoding="utf-8"
    )
    grid = sweep_grid(path)
    assert grid.dims == ((RADIUS, (5, 10)), ("demand.year", (2024, 2027)))
    grid = sweep_grid(path, ["demand.year=2030", "z=1,2"])
    assert grid.dims == ((RADIUS, (5, 10)), ("demand.year", (2030,)), ("z", (1, 2)))
    assert merge_grids(SweepGrid(), grid) == grid


def test_sweep_table_errors_name_the_key():
    with pytest.raises(ScenarioError) as err:
        grid_from_table({"a": 3, "b": [], "c": [[1]], "d": [1, 1]}, file="s.toml")
    lines = err.value.lines()
    assert len(lines) == 4
    assert lines[0].startswith("s.toml, sweep.a:")


# --- run ids -------------------------------------------------------------------------------------


def test_run_id_is_a_content_hash():
    fp = scenario_fingerprint({"name": "a", "sweep": {"x": [1]}})
    assert fp == scenario_fingerprint({"name": "a"})  # the [sweep] table is not part of the content
    opts = SolverOptions(threads=1).to_dict()
    rid = run_id(fp, {"x": 1, "y": 2}, opts)
    assert re.fullmatch(r"[0-9a-f]{12}", rid), rid  # 12 lowercase hex digits of the hash
    assert rid == run_id(fp, {"y": 2, "x": 1}, opts)  # order of --set does not matter
    assert rid != run_id(fp, {"x": 1.0, "y": 2}, opts)  # the TOML type does
    assert rid != run_id(fp, {"x": 1, "y": 2}, SolverOptions(threads=1, time_limit_s=5).to_dict())
    assert rid == run_id(fp, {"x": 1, "y": 2}, SolverOptions(threads=1, verbose=True).to_dict())
    assert rid != run_id(scenario_fingerprint({"name": "b"}), {"x": 1, "y": 2}, opts)


def test_plan_is_deterministic_and_ignores_comments(scenario: Path, tmp_path: Path):
    grid = parse_set([f"{RADIUS}=5,10"])
    a = plan_runs(scenario, grid, out_dir=tmp_path / "o", run_fn=fake_run)
    scenario.write_text("# another comment\n" + SCENARIO.replace("radius_km = 10", "radius_km   =   10"))
    b = plan_runs(scenario, grid, out_dir=tmp_path / "o", run_fn=fake_run)
    assert [t.run_id for t in a] == [t.run_id for t in b]
    assert len({t.run_id for t in a}) == 2
    assert all(t.options.threads == 1 for t in a)
    scenario.write_text(SCENARIO.replace("2024", "2025"))
    c = plan_runs(scenario, grid, out_dir=tmp_path / "o", run_fn=fake_run)
    assert not {t.run_id for t in a} & {t.run_id for t in c}
    # imposed solver fields change the id; an unknown one is refused
    d = plan_runs(scenario, grid, out_dir=tmp_path / "o", run_fn=fake_run, solver={"time_limit_s": 5.0})
    assert all(t.options.time_limit_s == 5.0 and t.options.threads == 1 for t in d)
    assert not {t.run_id for t in c} & {t.run_id for t in d}
    with pytest.raises(ScenarioError, match="unknown solver option"):
        plan_runs(scenario, grid, out_dir=tmp_path / "o", run_fn=fake_run, solver={"time_limit": 5})


def _strict(path, overrides):
    """A resolver that rejects negative radii and unknown keys, like the scenario loader."""
    from siting.core.errors import DefectCollector

    found = DefectCollector(path)
    for key, value in overrides.items():
        if key not in (RADIUS, "demand.year"):
            found.add("unknown key", row=key)
        elif isinstance(value, (int, float)) and value < 0:
            found.add(f"must be >= 0 (got {value})", row=key)
    found.raise_if_any(ScenarioError)
    return SolverOptions(mip_rel_gap=1e-4)


def test_invalid_input_is_reported_before_any_solve(scenario: Path, tmp_path: Path):
    out = tmp_path / "out"
    grid = parse_set([f"{RADIUS}=5,-1,-2", "demand.year=2024,2027", "tier.typo=1"])
    with pytest.raises(ScenarioError) as err:
        run_sweep(scenario, grid, out_dir=out, executor="serial", run_fn=fake_run, resolve=_strict)
    lines = err.value.lines()
    assert len(lines) == 3  # each defect once, not once per run
    assert sum("tier.typo" in line for line in lines) == 1
    assert not calls(out)
    ok = plan_runs(scenario, parse_set([f"{RADIUS}=5"]), out_dir=out, run_fn=fake_run, resolve=_strict)
    assert ok[0].options.mip_rel_gap == 1e-4 and ok[0].options.threads == 1


# --- the sweep -----------------------------------------------------------------------------------


def _sweep(scenario, out, sets, **kw):
    kw.setdefault("executor", "serial")
    return run_sweep(scenario, sweep_grid(scenario, sets), out_dir=out, run_fn=fake_run, **kw)


def test_sweep_writes_rows_in_run_order_and_records_failures(scenario: Path, tmp_path: Path):
    out = tmp_path / "out"
    res = _sweep(scenario, out, [f"{RADIUS}=20,-1,13,5", "demand.year=2024,2027"])
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["run"]) == list(range(1, 9))
    assert list(table.columns[:4]) == ["run", "run_id", RADIUS, "demand.year"]
    assert list(table.columns[-2:]) == ["seconds", "error"]
    assert {"cost_cny.hub.fixed", "cost_cny.total", "count.collection", "coverage.covered_share"} <= set(table)
    bad = table[table["status"] == "error"]
    assert list(bad[RADIUS]) == [-1, -1, 13, 13]
    assert bad["error"].str.startswith("InfeasibleError: township T1").sum() == 2
    assert (bad["error"].str.contains("RuntimeError: solver crashed; second line")).sum() == 2
    good = table[table["status"] == "optimal"]
    assert len(good) == 4 and good["error"].isna().all()
    np.testing.assert_allclose(good["objective"], [50.0, 65.0, 200.0, 260.0])
    assert (res.solved, res.resumed, res.failed) == (8, 0, 4)
    assert res.table.shape == table.shape
    # the options each run saw: one solver thread
    summary = json.loads((out / "runs" / good["run_id"].iloc[0] / "summary.json").read_text())
    assert summary["options"]["threads"] == 1
    assert (out / "tradeoff.png").stat().st_size > 1000
    page = (out / "tradeoff.html").read_text()
    assert "<svg" in page and "<title>run 1 (" in page and "http" not in page.replace("http://www.w3.org", "")
    assert "Pareto front" in page
    manifest = json.loads((out / "sweep.json").read_text())
    assert [r["run_id"] for r in manifest["runs"]] == list(table["run_id"])


@pytest.mark.slow  # four sweeps of fake runs with plots: seconds
def test_second_invocation_resumes(scenario: Path, tmp_path: Path):
    out = tmp_path / "out"
    sets = [f"{RADIUS}=20,-1,13,5"]
    first = _sweep(scenario, out, sets)
    assert len(calls(out)) == 4
    before = (out / "sweep.csv").read_text()
    second = _sweep(scenario, out, sets)
    # finished runs (and the input error, which would fail again) are skipped; the crash is retried
    assert len(calls(out)) == 5 and calls(out)[-1] == first.table.loc[2, "run_id"]
    assert (second.solved, second.resumed, second.failed) == (1, 3, 2)
    after = pd.read_csv(out / "sweep.csv")
    cols = [c for c in after.columns if c != "seconds"]
    pd.testing.assert_frame_equal(pd.read_csv(pd.io.common.StringIO(before))[cols], after[cols])
    # a bigger grid reuses the runs it shares
    third = _sweep(scenario, out, [f"{RADIUS}=20,-1,13,5,40"])
    assert (third.solved, third.resumed) == (2, 3)
    # overwrite solves everything again
    fourth = _sweep(scenario, out, sets, overwrite=True)
    assert (fourth.solved, fourth.resumed) == (4, 0)


@pytest.mark.slow  # several sweeps of fake runs with plots: seconds
def test_interrupted_run_directory_is_redone(scenario: Path, tmp_path: Path):
    out = tmp_path / "out"
    res = _sweep(scenario, out, [f"{RADIUS}=5,10"])
    rid = res.table.loc[0, "run_id"]
    (out / "runs" / rid / MARKER).unlink()  # as if killed after write_run, before the marker
    res2 = _sweep(scenario, out, [f"{RADIUS}=5,10"])
    assert (res2.solved, res2.resumed) == (1, 1)
    assert calls(out)[-1] == rid
    # a marker of another run (hash mismatch) does not count as finished
    marker = out / "runs" / rid / MARKER
    data = json.loads(marker.read_text())
    data["run_id"] = "0" * 12
    marker.write_text(json.dumps(data))
    assert _sweep(scenario, out, [f"{RADIUS}=5,10"]).solved == 1
    # a truncated summary.json is not a finished run either
    (out / "runs" / rid / "summary.json").write_text('{"status": "opt')
    assert _sweep(scenario, out, [f"{RADIUS}=5,10"]).solved == 1
    assert _sweep(scenario, out, [f"{RADIUS}=5,10"]).solved == 0


def test_out_dir_that_is_not_a_sweep_is_refused(scenario: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("x")
    with pytest.raises(OutputError, match="not empty"):
        _sweep(scenario, out, [f"{RADIUS}=5"])
    assert (out / "precious.txt").exists()
    _sweep(scenario, out, [f"{RADIUS}=5"], overwrite=True)
    assert (out / "precious.txt").exists() and (out / "sweep.csv").exists()


def test_bad_executor_options(scenario: Path, tmp_path: Path):
    with pytest.raises(ScenarioError, match="unknown executor"):
        _sweep(scenario, tmp_path / "a", [f"{RADIUS}=5"], executor="threads")
    with pytest.raises(ScenarioError, match="--scheduler"):
        _sweep(scenario, tmp_path / "b", [f"{RADIUS}=5"], executor="local", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ScenarioError, match="--workers"):
        _sweep(scenario, tmp_path / "c", [f"{RADIUS}=5"], executor="local", workers=0)
    assert not any(tmp_path.glob("[abc]"))  # refused before anything was written


@pytest.mark.slow  # a process pool: seconds of start-up
def test_local_processes_give_the_same_rows(scenario: Path, tmp_path: Path):
    sets = [f"{RADIUS}=20,-1,13,5", "demand.year=2024,2027", "delay_s=0.2"]
    serial = _sweep(scenario, tmp_path / "serial", sets, plots=False)
    local = _sweep(scenario, tmp_path / "local", sets, executor="local", workers=2, plots=False)
    a = pd.read_csv(tmp_path / "serial" / "sweep.csv").drop(columns="seconds")
    b = pd.read_csv(tmp_path / "local" / "sweep.csv").drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b)
    assert local.failed == serial.failed == 4
    pids = {line.split()[0] for line in (tmp_path / "local" / "calls.log").read_text().splitlines()}
    assert len(pids) == 2  # two worker processes shared the runs


def test_pareto_front():
    cost = [5, 1, 3, 3, 2, np.nan, 4]
    cover = [9, 1, 7, 6, 7, 10, 7]
    assert pareto_front(cost, cover).tolist() == [1, 4, 0]
    assert pareto_front([], []).tolist() == []
