"""Shipped data and scenarios: lookup order, scenario names, copying, and the built wheel outside the repo."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from siting.core.errors import DataError, ScenarioError
from siting.geo import load_districts
from siting.geo.shipped import (
    copy_scenario,
    default_data_dir,
    find_scenario,
    shipped_scenarios,
)

REPO = Path(__file__).resolve().parents[2]


def test_default_data_dir_is_the_checkout_without_override(monkeypatch):
    monkeypatch.delenv("SITING_DATA_DIR", raising=False)
    assert default_data_dir().resolve() == (REPO / "data" / "geo").resolve()


def test_siting_data_dir_overrides_and_a_missing_one_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("SITING_DATA_DIR", str(tmp_path / "nowhere"))
    assert default_data_dir() == tmp_path / "nowhere"
    with pytest.raises(DataError, match=r"data directory not found \(\$SITING_DATA_DIR points here\)"):
        load_districts()


def test_shipped_scenarios_are_the_models_folder():
    names = {s.name for s in shipped_scenarios()}
    assert names == {p.stem for p in (REPO / "models").glob("*.toml")}
    express = next(s for s in shipped_scenarios() if s.name == "chongqing-express")
    assert express.description.startswith("3 hubs")


def test_find_scenario_by_name_by_file_and_unknown(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no models/ folder here
    assert find_scenario("chongqing-express") == find_scenario("chongqing-express.toml")
    assert find_scenario("models/example.toml").name == "example.toml"  # README spelling works anywhere
    own = tmp_path / "mine.toml"
    own.write_text("[scenario]\nname = 'x'\n", encoding="utf-8")
    assert find_scenario(own) == own
    with pytest.raises(ScenarioError, match="scenario file not found.*chongqing-express"):
        find_scenario("chongqing-expres")
    with pytest.raises(ScenarioError, match="is a folder"):
        find_scenario(tmp_path)


def test_copy_scenario_rewrites_relative_paths_and_refuses_to_overwrite(tmp_path):
    written = copy_scenario("example", tmp_path / "plan")
    toml = tmp_path / "plan" / "example.toml"
    assert written[0] == toml
    raw = tomllib.loads(toml.read_text(encoding="utf-8"))
    path = raw["demand"]["villages"]["source"]["path"]
    assert path == "data/example/villages.csv" and (toml.parent / path).is_file()
    assert "# A small three-tier example" in toml.read_text(encoding="utf-8")  # comments kept
    pd.testing.assert_frame_equal(pd.read_csv(toml.parent / path), pd.read_csv(REPO / "data/example/villages.csv"))
    with pytest.raises(ScenarioError, match="exists already"):
        copy_scenario("example", tmp_path / "plan")
    assert copy_scenario("example", tmp_path / "plan", overwrite=True) == written
    with pytest.raises(ScenarioError, match="not a shipped scenario"):
        copy_scenario("nope", tmp_path / "other")
    assert not (tmp_path / "other").exists()


def test_copied_scenario_loads_from_its_new_folder(tmp_path):
    from siting.scenario.load import load_scenario

    copy_scenario("example", tmp_path)
    copy_scenario("chongqing-express", tmp_path)
    scen = load_scenario(tmp_path / "example.toml")
    assert all(str(s.path).startswith(str(tmp_path)) for t in scen.tiers for s in t.sources)
    assert load_scenario(tmp_path / "chongqing-express.toml").name == "chongqing-express"


# --- the built wheel, installed away from the checkout --------------------------------------------------------


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, timeout=600)
    (whl,) = out.glob("siting-*.whl")
    return whl


@pytest.mark.solver  # slow lane: builds the wheel (about 20 s)
def test_wheel_holds_the_data_and_scenarios(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for p in (REPO / "data" / "geo").iterdir():
        if p.is_file():
            assert f"siting/_shipped/data/geo/{p.name}" in names
    for p in (REPO / "models").glob("*.toml"):
        assert f"siting/_shipped/models/{p.name}" in names
    for p in (REPO / "data" / "example").glob("*.csv"):
        assert f"siting/_shipped/data/example/{p.name}" in names


@pytest.mark.solver  # slow lane: installs the wheel and runs the CLI from a temporary directory
def test_installed_wheel_works_from_another_directory(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "SITING_DATA_DIR"}
    env["PYTHONPATH"] = str(target)  # the installed copy, ahead of the checkout's editable install
    script = (
        "import sys, siting, siting.geo.shipped as s; from siting.cli import main\n"
        "print('FROM', siting.__file__); print('DATA', s.default_data_dir())\n"
        "rc = main(['data', 'check', '--json'])\n"
        "import pandas as pd; from siting.geo import read_points\n"
        "try:\n"
        f"    read_points({str(REPO / 'tests/data/bad/demand_gcj02_as_wgs84.csv')!r}); print('GCJ accepted')\n"
        "except Exception as e:\n"
        "    print('GCJ refused', 'GCJ-02' in str(e))\n"
        "sys.exit(rc)\n"
    )
    res = subprocess.run([sys.executable, "-c", script], check=False, cwd=work, env=env, capture_output=True, text=True,
                         timeout=600)
    assert res.returncode == 0, res.stderr
    assert f"FROM {target}" in res.stdout
    assert f"DATA {target}/siting/_shipped/data/geo" in res.stdout
    assert '"townships": 1031' in res.stdout
    assert "GCJ refused True" in res.stdout  # detection works from the package data too
    assert not list(work.iterdir())
