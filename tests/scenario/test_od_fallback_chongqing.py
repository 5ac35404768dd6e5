"""Issue 15: a township-only OD matrix with chongqing-express works once the scenario allows a fallback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from siting.core.errors import ScenarioError
from siting.geo.distance import pairs_within
from siting.scenario import build_problem, load_scenario

MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.fixture(scope="module")
def od_file(tmp_path_factory):
    import siting.geo as geo

    t = geo.load_townships()
    ia, ib, d = pairs_within(t.lon, t.lat, t.lon, t.lat, 20.0, circuity=1.6)
    ids = t["code9"].astype(str).to_numpy()
    path = tmp_path_factory.mktemp("od") / "townships_od.csv"
    lines = ["from_id,to_id,distance_km,time_min"] + [f"{ids[a]},{ids[b]},{x:.3f},{x / 0.5:.2f}" for a, b, x in zip(ia, ib, d)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_township_only_od_without_fallback_is_a_few_lines(od_file):
    with pytest.raises(ScenarioError) as e:
        build_problem(load_scenario(MODELS / "chongqing-express.toml", overrides={"scenario.od_matrix": str(od_file)}))
    lines = str(e.value).splitlines()
    assert lines == [ln for ln in lines if "tiers.hub" in ln]  # only the hub tier has no OD pair at all
    assert len(lines) == 1 and 'fallback = "circuity"' in lines[0]


def test_township_only_od_with_fallback_builds(od_file):
    scen = load_scenario(MODELS / "chongqing-express.toml", overrides={
        "scenario.od_matrix": str(od_file), "network.fallback": "circuity"})
    p = build_problem(scen)
    src = p.meta["link_source"]
    assert set(src[0]) == {"circuity"}  # hubs are district seats and gateways: not in the township OD
    assert set(src[2]) == {"od"}  # township -> collection point: all within 15 km are listed (<= 20 km x 1.6)
    assert {"od", "circuity"} <= set(src[1])  # parks: listed pairs from the OD, farther ones estimated
    counts = p.meta["pair_sources"]
    assert counts["od"] == int(sum(np.sum(s == "od") for s in src)) and counts["network"] == 0
    # the OD's times came with its pairs; circuity pairs have none (no speed given)
    lk = p.links[2]
    assert lk.time_min is not None and np.isfinite(lk.time_min).all()
