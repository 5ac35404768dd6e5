"""The drone pilot: savings per district, the pick checked against every subset, the CLI and bad input."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from siting.cli import main
from siting.pipeline.pilot import pick_districts, pilot_savings, run_pilot
from siting.scenario.pilot import load_pilot

REPO = Path(__file__).resolve().parents[2]
PILOT = REPO / "models" / "chongqing-drone-pilot.toml"


def _best_by_enumeration(net: dict[str, float], k: int, only_saving: bool) -> float:
    units = [u for u, v in net.items() if v > 0 or not only_saving]
    best = 0.0 if only_saving else -np.inf
    for r in range(0 if only_saving else min(k, len(units)), min(k, len(units)) + 1):
        for sub in itertools.combinations(units, r):
            best = max(best, sum(net[u] for u in sub))
    return best


@pytest.mark.parametrize("only_saving", [False, True])
@pytest.mark.parametrize("seed", range(5))
def test_pick_is_the_best_subset(seed, only_saving):
    rng = np.random.default_rng(seed)
    net = {f"u{i}": float(x) for i, x in enumerate(rng.normal(0, 1e5, 9))}
    for k in (1, 2, 3):
        got = pick_districts(net, k, only_saving=only_saving)
        assert len(got) <= k and len(set(got)) == len(got)
        assert sum(net[u] for u in got) == pytest.approx(_best_by_enumeration(net, k, only_saving))


def test_shipped_pilot_savings_follow_the_model():
    spec = load_pilot(PILOT)
    districts, towns = pilot_savings(spec)
    d, r = spec.drone, spec.road
    flown = towns[towns["flown"]]
    assert len(flown) and (flown["straight_km"] <= d["range_km"]).all()
    # a drone leg is never longer than the road leg over the same pair
    assert (flown["road_km"] >= flown["straight_km"] - 1e-9).all()
    # recompute one township's saving from the documented formula
    row = flown.iloc[0]
    per_flight = int(d["payload_kg"] // d["parcel_kg"])
    want = row["eligible_parcels_per_year"] * (2 * row["road_km"] * r["cost_cny_per_km"] / r["parcels_per_trip"]
                                               - 2 * row["straight_km"] * d["cost_cny_per_km"] / per_flight)
    assert row["saving_cny_per_year"] == pytest.approx(want)
    # district totals are the sums of their townships
    by = flown.groupby("unit")["saving_cny_per_year"].sum()
    for u, v in by.items():
        assert districts.loc[u, "saving_cny_per_year"] == pytest.approx(v)
        assert districts.loc[u, "net_saving_cny_per_year"] == pytest.approx(v - d["fixed_cost_cny_per_year"])
    assert set(flown["distance_source"]) == {"circuity"}


def test_cli_pilot_writes_the_answer(tmp_path, capsys):
    out = tmp_path / "pilot"
    assert main(["pilot", str(PILOT), "--out", str(out)]) == 0
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert len(s["picked"]) == 2
    text = capsys.readouterr().out
    assert s["picked"][0]["unit_name"] in text
    ranked = __import__("pandas").read_csv(out / "pilot_districts.csv", dtype={"unit": str})
    assert list(ranked["unit"][:2]) == [p["unit"] for p in s["picked"]]
    assert (out / "pilot_townships.csv").is_file()


def test_bad_pilot_file_one_line_each_nothing_written(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(PILOT.read_text(encoding="utf-8").replace("range_km = 10", "range_km = -1")
                   .replace("eligible_share = 0.05", "eligible_share = 2"), encoding="utf-8")
    out = tmp_path / "o"
    assert main(["pilot", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and any("drone.range_km" in e for e in err) and any("pilot.eligible_share" in e for e in err)
    assert not out.exists()


def test_run_pilot_without_writing_matches_cli_pick():
    o = run_pilot(PILOT, write=False)
    assert o.out_dir is None and o.picked == [p["unit"] for p in o.summary["picked"]]


def test_siting_run_on_a_pilot_file_points_to_siting_pilot(tmp_path, capsys):
    assert main(["run", str(PILOT), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "siting pilot" in err[0]
