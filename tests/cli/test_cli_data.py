"""`siting data check`: JSON summary, table, and exit code 2 with one line per problem."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd

from siting.cli import main

DATA = Path(__file__).resolve().parents[2] / "data" / "geo"


def test_check_json(capsys):
    assert main(["data", "check", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["districts"] == 38
    assert out["units"] == 41
    assert out["townships"] == 1031
    assert out["population"] == 32_054_159
    assert out["townships_estimated_coords"] == 245
    assert out["structure"] == "2024"
    assert sum(r["population"] for r in out["regions"].values()) == 32_054_159
    assert sum(r["units"] for r in out["regions"].values()) == 41


def test_check_json_2025_and_explicit_dir(capsys):
    assert main(["data", "check", "--json", "--structure", "2025", "--data-dir", str(DATA)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["districts"], out["units"], out["townships"], out["population"]) == (37, 39, 1031, 32_054_159)
    assert out["units_by_kind"]["zone"] == 2


def test_check_table(capsys):
    assert main(["data", "check"]) == 0
    out = capsys.readouterr().out
    assert "planning units" in out and "41" in out and "32,054,159" in out


def test_bad_data_dir_exits_2(capsys, tmp_path):
    assert main(["data", "check", "--data-dir", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [f"error: {tmp_path / 'nowhere'}: data directory not found"]
    assert main(["data", "check", "--data-dir", str(tmp_path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 8 and all(line.startswith("error: ") and "is missing" in line for line in lines)


def test_corrupt_data_one_line_per_problem(capsys, tmp_path):
    d = tmp_path / "geo"
    shutil.copytree(DATA, d)
    der = pd.read_csv(d / "townships_derived.csv", dtype=str)
    der.loc[5, "population_2020_est"] = "-1"
    der.loc[7, "lat_wgs84"] = "95.5"
    der.to_csv(d / "townships_derived.csv", index=False)
    assert main(["data", "check", "--json", "--data-dir", str(d)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert "Traceback" not in captured.err
    f = d / "townships_derived.csv"
    assert f"error: {f}, row 6, column 'population_2020_est': population is negative (-1)" in lines
    assert f"error: {f}, row 8, column 'lat_wgs84': latitude 95.5 is out of range [-90, 90]" in lines
    assert all(line.startswith("error: ") for line in lines)


def test_bad_structure_exits_2(capsys):
    assert main(["data", "check", "--structure", "1999"]) == 2
    assert "1999" in capsys.readouterr().err
