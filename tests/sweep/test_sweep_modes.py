"""Sweep outputs respect the umask (a colleague on a shared server can read them), like run directories."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from sweep_fake import RADIUS, fake_run
from siting.sweep.runner import run_sweep, sweep_grid
from siting.sweep.table import write_csv_atomic, write_json_atomic

SCENARIO = 'name = "tiny"\n[[tiers]]\nname = "collection"\nradius_km = 10\n'


@pytest.fixture(params=[0o022, 0o002], ids=["umask022", "umask002"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _modes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode) for p in [root, *root.rglob("*")]}


def test_sweep_outputs_follow_the_umask(tmp_path: Path, umask: int):
    scenario = tmp_path / "tiny.toml"
    scenario.write_text(SCENARIO, encoding="utf-8")
    out = tmp_path / "out"
    run_sweep(scenario, sweep_grid(scenario, [f"{RADIUS}=5,10"]), out_dir=out, run_fn=fake_run, executor="serial")
    modes = _modes(out)
    assert {"sweep.csv", "sweep.json", "tradeoff.png", "tradeoff.html"} <= set(modes)
    for name, mode in modes.items():
        want = 0o777 & ~umask if (out / name).is_dir() or name == "." else 0o666 & ~umask
        assert mode == want, f"{name}: {oct(mode)}, expected {oct(want)} with umask {oct(umask)}"
    assert not any(name.endswith(".tmp") for name in modes)


def test_atomic_writers_follow_the_umask(tmp_path: Path, umask: int):
    import pandas as pd

    write_csv_atomic(pd.DataFrame({"a": [1]}), tmp_path / "t.csv")
    write_json_atomic({"a": 1}, tmp_path / "t.json")
    for name in ("t.csv", "t.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o666 & ~umask


def test_run_directory_follows_the_umask(tmp_path: Path, umask: int):
    from fake_run import fake_run as fake_network_run

    from siting.outputs import write_run

    s, f, a, d, _ = fake_network_run(n_demand=40, seed=3)
    out = write_run(tmp_path / "run", summary=s, facilities=f, assignments=a, demand=d)
    for name, mode in _modes(out).items():
        want = 0o777 & ~umask if name == "." else 0o666 & ~umask
        assert mode == want, f"{name}: {oct(mode)} with umask {oct(umask)}"
