"""Sweeps of the real pipeline on ``models/example.toml``: executors agree, failures are recorded, runs resume,
and optimal costs move the way they must (a looser rule never costs more)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from siting.cli import main
from siting.scenario.load import load_scenario
from siting.sweep.runner import MARKER, run_sweep, sweep_grid

pytestmark = pytest.mark.solver

EXAMPLE = Path(__file__).resolve().parents[2] / "models" / "example.toml"
EXACT = {"mip_rel_gap": 1e-9, "time_limit_s": 60.0}  # proven optima, so monotonicity must hold exactly


@pytest.fixture(scope="module")
def example() -> Path:
    if not EXAMPLE.exists():
        pytest.skip("models/example.toml is not there")
    return EXAMPLE


@pytest.fixture(scope="module")
def tiers(example: Path) -> tuple[str, str]:
    """Names of the tier that serves demand (the last one) and of the tier above it."""
    names = [t.name for t in load_scenario(example).tiers]
    return names[-1], names[-2]


def _table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "sweep.csv")


def _sets(example: Path, tiers: tuple[str, str]) -> list[str]:
    """Bottom-tier radius at half and twice the scenario's, times the radius of the links into the tier above:
    unlimited, or 1 m (no network can link the tiers: each such run must fail with a clear reason)."""
    radius = load_scenario(example).tiers[-1].radius_km
    base = radius if math.isfinite(radius) else 20.0
    values = [round(base * 0.5, 3), round(base * 2, 3)]
    return [f"tiers.{tiers[0]}.radius_km={','.join(map(str, values))}", f"tiers.{tiers[1]}.radius_km=1e9,0.001"]


@pytest.fixture(scope="module")
def radius_sweep(example: Path, tiers: tuple[str, str], tmp_path_factory) -> Path:
    """The sweep on 2 local processes."""
    out = tmp_path_factory.mktemp("sweep") / "local"
    res = run_sweep(example, sweep_grid(example, _sets(example, tiers)), out_dir=out, executor="local", workers=2,
                    solver=EXACT)
    assert res.solved == 4
    return out


def test_failures_are_recorded_and_the_rest_solved(radius_sweep: Path, tiers: tuple[str, str]):
    table = _table(radius_sweep)
    assert list(table["run"]) == [1, 2, 3, 4]
    linked = table[f"tiers.{tiers[1]}.radius_km"] > 1
    bad = table[~linked]
    assert len(bad) == 2 and (bad["status"] == "error").all()
    assert bad["error"].str.startswith("InfeasibleError:").all()
    ok = table[linked]
    assert (ok["status"] == "optimal").all() and ok["error"].isna().all()
    assert ok["verified"].astype(bool).all()
    for rid in ok["run_id"]:
        run = radius_sweep / "runs" / rid
        assert {"summary.json", "solution.gpkg", "map.html", MARKER} <= {p.name for p in run.iterdir()}
        summary = json.loads((run / "summary.json").read_text())
        assert summary["solver_options"]["threads"] == 1
    assert (radius_sweep / "tradeoff.png").exists() and (radius_sweep / "tradeoff.html").exists()


def test_larger_radius_never_costs_more(radius_sweep: Path, tiers: tuple[str, str]):
    table = _table(radius_sweep)
    ok = table[table["status"] == "optimal"].sort_values(f"tiers.{tiers[0]}.radius_km")
    obj = ok["objective"].to_numpy(float)
    assert len(obj) == 2
    assert all(b <= a * (1 + 1e-7) for a, b in zip(obj, obj[1:])), obj
    assert obj[-1] < obj[0]  # and the example is not degenerate: the radius matters


@pytest.mark.slow  # a Dask cluster
def test_dask_and_serial_give_the_same_rows_and_resume(radius_sweep: Path, example: Path, tiers, tmp_path: Path):
    pytest.importorskip("distributed")
    grid = sweep_grid(example, _sets(example, tiers))
    ref = _table(radius_sweep).drop(columns="seconds")
    dask = run_sweep(example, grid, out_dir=tmp_path / "dask", executor="dask", workers=2, solver=EXACT, plots=False)
    pd.testing.assert_frame_equal(_table(tmp_path / "dask").drop(columns="seconds"), ref)
    assert dask.solved == 4
    # a second invocation, here serial, solves nothing and writes the same table
    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "dask" / "runs").glob("*/summary.json")}
    again = run_sweep(example, grid, out_dir=tmp_path / "dask", executor="serial", solver=EXACT, plots=False)
    assert (again.solved, again.resumed) == (0, 4)
    assert stamps == {p: p.stat().st_mtime_ns for p in (tmp_path / "dask" / "runs").glob("*/summary.json")}
    pd.testing.assert_frame_equal(_table(tmp_path / "dask").drop(columns="seconds"), ref)


def test_cli_sweep_resumes_and_reports_failures(example: Path, tiers, tmp_path: Path, capsys):
    out = tmp_path / "cli"
    args = ["sweep", str(example), "--set", f"tiers.{tiers[1]}.radius_km=0.001,1e9", "--executor", "serial",
            "--out", str(out)]
    assert main(args) == 1  # one run failed
    first = capsys.readouterr().out
    assert "1 of 2 runs failed" in first and "InfeasibleError" in first
    assert main(args) == 1
    second = capsys.readouterr().out
    assert second.count("finished earlier") == 2
    assert main(["sweep", str(example), "--set", "tiers.nosuchtier.radius_km=1", "--out", str(tmp_path / "x")]) == 2
    assert "tiers.nosuchtier" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
