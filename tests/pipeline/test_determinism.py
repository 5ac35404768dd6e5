"""Determinism: equal inputs and options give the same facilities, allocation and objective, run after run.

The rule (documented in :mod:`siting.provenance.manifest`): HiGHS runs with a fixed ``random_seed`` (0) and every
index set reaches Pyomo in one canonical order (allowed pairs sorted by demand, then candidate), so
HiGHS's deterministic branch-and-bound returns the same solution; ties between equally good solutions are
broken by the solver under that fixed seed and order. Outputs list facilities in candidate order and
assignments by demand, then facility.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest

from siting.cli import main
from siting.pipeline.locate import locate
from siting.core.problem import Problem
from siting.core.options import SolverOptions

pytestmark = pytest.mark.solver

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def _tied_instance(seed: int = 11) -> Problem:
    """A grid with many equal distances: lots of equally good solutions, the hard case for determinism."""
    rng = np.random.default_rng(seed)
    g = np.array([(x, y) for x in range(6) for y in range(5)], float)
    cand = g[rng.choice(len(g), 12, replace=False)]
    d = np.abs(g[:, None, :] - cand[None, :, :]).sum(axis=2)  # Manhattan: ties everywhere
    return Problem.from_cost_matrix(d, weights=np.ones(len(g)), fixed_cost_cny=np.full(12, 3.0),
                                    capacity=np.full(12, 8.0))


@pytest.mark.parametrize("model,params", [("p-median", {"p": 4}), ("p-center", {"p": 3}),
                                          ("mclp", {"p": 3, "radius_km": 2.0}), ("cflp-ss", {})])
def test_same_problem_same_answer(model, params):
    problem = _tied_instance()
    first = locate(problem, model, options=SolverOptions(threads=1), **params)
    for _ in range(2):
        again = locate(problem, model, options=SolverOptions(threads=1), **params)
        assert again.objective == first.objective
        assert np.array_equal(again.open, first.open)
        assert np.array_equal(again.allocation, first.allocation)


def test_default_threads_and_explicit_seed_agree():
    problem = _tied_instance(5)
    a = locate(problem, "p-median", p=5, options=SolverOptions())  # HiGHS picks the thread count
    b = locate(problem, "p-median", p=5, options=SolverOptions(threads=1, seed=0))
    c = locate(problem, "p-median", p=5, options=SolverOptions(threads=2, seed=0))
    assert a.objective == b.objective == c.objective
    assert np.array_equal(a.open, b.open) and np.array_equal(b.open, c.open)


def _layers(run: Path) -> dict:
    return {name: pyogrio.read_dataframe(run / "solution.gpkg", layer=name)
            for name in ("facilities", "assignments", "demand")}


def test_cli_runs_are_identical_apart_from_timings(tmp_path, capfd):
    args = ["locate", "cflp", "--demand", str(BAD / "demand.csv"), "--candidates", str(BAD / "sites.csv"),
            "--weight", "pop", "--fixed-cost", "cost", "--capacity", "cap"]
    runs = [tmp_path / "a", tmp_path / "b"]
    for out in runs:
        assert main(args + ["--out", str(out)]) == 0, capfd.readouterr().err
    la, lb = (_layers(r) for r in runs)
    for name in la:
        assert la[name].equals(lb[name]), name
    sa, sb = (json.loads((r / "summary.json").read_text(encoding="utf-8")) for r in runs)
    timing = {"build_seconds", "solve_seconds", "seconds"}
    assert {k: v for k, v in sa.items() if k not in timing} == {k: v for k, v in sb.items() if k not in timing}
    ma, mb = (json.loads((r / "manifest.json").read_text(encoding="utf-8")) for r in runs)
    for key in ("parameters", "inputs", "software", "solver"):
        assert ma[key] == mb[key], key
    cert = {k: v for k, v in ma["certificate"].items()}
    assert cert == mb["certificate"]
    assert ma["solver"]["seed"] == 0
    # facilities in candidate order, assignments by demand then facility
    fac = la["facilities"].facility_id.tolist()
    assert fac == sorted(fac, key=lambda s: int(s[1:]))
    asg = list(zip(la["assignments"].from_id.str[1:].astype(int), la["assignments"].to_id.str[1:].astype(int)))
    assert asg == sorted(asg)


# --- across sweep executors ----------------------------------------------------------------------------------


@pytest.mark.slow  # process pools and a Dask cluster
@pytest.mark.parametrize("executor", ["local", "dask"])
def test_sweep_executors_agree_with_serial(executor, tmp_path):
    """The same scenario run in-process, in a worker process (``local``) and on a Dask worker gives the same
    facilities, objective and GeoPackage; only the timings differ."""
    sweep = importlib.import_module("siting.sweep")
    if executor == "dask":
        pytest.importorskip("dask.distributed")
    example = Path(__file__).resolve().parents[2] / "models" / "example.toml"
    grid = sweep.sweep_grid(example, ["tiers.point.radius_km=8"])
    results = {}
    for ex in ("serial", executor):
        results[ex] = sweep.run_sweep(example, grid, out_dir=tmp_path / ex, executor=ex, workers=1, plots=False)
        assert results[ex].failed == 0 and results[ex].solved == 1
    a, b = (results[ex].table.drop(columns=[c for c in results[ex].table.columns if "seconds" in c])
            for ex in ("serial", executor))
    assert a.equals(b)
    (ra,), (rb,) = ([p for p in (tmp_path / ex / "runs").iterdir()] for ex in ("serial", executor))
    assert ra.name == rb.name  # same content hash
    la, lb = _layers(ra), _layers(rb)
    for name in la:
        assert la[name].equals(lb[name]), name
    if (ra / "manifest.json").exists():
        ma, mb = (json.loads((r / "manifest.json").read_text(encoding="utf-8")) for r in (ra, rb))
        assert ma["certificate"] == mb["certificate"] and ma["inputs"] == mb["inputs"]
