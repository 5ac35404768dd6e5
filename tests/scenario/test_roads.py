"""Scenarios on road networks, partial OD matrices with fallback, and bad road/OD input (issue 15)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from roads_cases import BRIDGE_LON, TOWNS, river_case, road_lines, write_roads

from siting.core.errors import DataError, InputError, ScenarioError
from siting.geo.distance import haversine_km
from siting.pipeline.run import run_scenario
from siting.scenario import build_problem, load_scenario


def _nx_distances() -> dict[tuple[str, str], float]:
    """Independent shortest road km between the towns (networkx Dijkstra on the same segments, haversine)."""
    nx = pytest.importorskip("networkx")
    g = nx.Graph()
    for (a, b) in road_lines():
        g.add_edge(a, b, km=float(haversine_km(a[0], a[1], b[0], b[1])))
    out = {}
    for i, lo, la, _ in TOWNS:
        d = nx.single_source_dijkstra_path_length(g, (lo, la), weight="km")
        for j, lo2, la2, _ in TOWNS:
            out[(i, j)] = d[(lo2, la2)]
    return out


@pytest.mark.solver
def test_river_with_one_bridge_opens_a_facility_on_each_bank(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    straight = run_scenario(river_case(tmp_path / "a", network=False), write=False)
    road = run_scenario(river_case(tmp_path / "b", network=True), write=False)
    assert straight.ok and road.ok
    assert straight.summary["counts_by_tier"] == {"collection": 1}  # every town within 10 km straight
    assert road.summary["counts_by_tier"] == {"collection": 2}
    bank = {i: b for i, _, _, b in TOWNS}
    opened = road.problem.tiers[0].ids[road.result.open[0]]
    assert sorted(bank[str(x)] for x in opened) == ["north", "south"]
    # every allowed link is a same-bank pair, with the independent shortest-path distance
    nxd = _nx_distances()
    p = road.problem
    lk = p.links[0]
    for c, q, d in zip(lk.child, lk.parent, lk.distance_km):
        a, b = str(p.demand_ids[c]), str(p.tiers[0].ids[q])
        assert bank[a] == bank[b]
        assert d == pytest.approx(nxd[(a, b)], rel=5e-3, abs=1e-6)
    # a cross-river pair is longer than the radius by road, though ~2 km apart on the map
    assert nxd[("S1", "N1")] > 2 * (110.17 - BRIDGE_LON) * 96 > 10
    assert road.summary["distance_sources"]["pairs"] == {"circuity": 0, "od": 0, "network": len(lk)}
    assert set(road.tables[2]["distance_source"]) == {"network"}
    assert np.isfinite(road.tables[2]["time_min"]).all()


def _express_ids():
    scen = load_scenario(Path(__file__).resolve().parents[2] / "models" / "example.toml")
    return scen


def test_partial_od_overrides_listed_pairs_and_falls_back_only_when_asked(tmp_path):
    case = river_case(tmp_path, network=False)
    # an OD matrix listing only two pairs, one of them much longer than the straight line
    (tmp_path / "od.csv").write_text("from_id,to_id,distance_km,time_min\nS1,S2,7.5,12\nS1,N1,40,55\n", encoding="utf-8")
    text = case.read_text(encoding="utf-8").replace('circuity = 1.0', 'circuity = 1.0\nod_matrix = "od.csv"')
    strict = tmp_path / "strict.toml"
    strict.write_text(text, encoding="utf-8")
    p = build_problem(load_scenario(strict))  # without fallback: only the listed pairs within the radius
    lk = p.links[0]
    assert len(lk) == 1 and lk.distance_km[0] == 7.5 and lk.time_min[0] == 12
    assert p.meta["pair_sources"] == {"circuity": 0, "od": 1, "network": 0}
    loose = tmp_path / "loose.toml"
    loose.write_text(text + '\n[network]\nfallback = "circuity"\n', encoding="utf-8")
    p2 = build_problem(load_scenario(loose))
    lk2 = p2.links[0]
    ids = p2.demand_ids
    cand = p2.tiers[0].ids
    pairs = {(str(ids[c]), str(cand[q])): (d, s) for c, q, d, s in zip(lk2.child, lk2.parent, lk2.distance_km,
                                                                       p2.meta["link_source"][0])}
    assert pairs[("S1", "S2")] == (7.5, "od")  # the OD overrides the circuity estimate of a listed pair
    assert ("S1", "N1") not in pairs  # listed at 40 km: beyond the radius, and not re-added by the fallback
    assert pairs[("N1", "S1")][1] == "circuity"  # unlisted pairs fall back
    assert p2.meta["pair_sources"]["circuity"] == len(lk2) - 1
    assert all(math.isnan(t) for t, s in zip(lk2.time_min, p2.meta["link_source"][0]) if s == "circuity")


def test_od_listing_no_pair_of_a_tier_is_one_line_without_fallback(tmp_path):
    case = river_case(tmp_path, network=False)
    (tmp_path / "od.csv").write_text("from_id,to_id,distance_km\nX,Y,1\n", encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(case.read_text(encoding="utf-8").replace('circuity = 1.0', 'od_matrix = "od.csv"'), encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        build_problem(load_scenario(bad))
    lines = str(e.value).splitlines()
    assert len(lines) == 1 and "tiers.collection" in lines[0] and 'fallback = "circuity"' in lines[0]


@pytest.mark.parametrize("row,what", [("S1,S2,-3", "negative"), ("S1,S2,nan", "missing"), ("S1,S2,inf", "not a finite number"),
                                       ("S1,S2,", "missing")])
def test_bad_od_values_one_line_each(tmp_path, row, what):
    case = river_case(tmp_path, network=False)
    (tmp_path / "od.csv").write_text(f"from_id,to_id,distance_km\nS1,S3,1\n{row}\n", encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(case.read_text(encoding="utf-8").replace('circuity = 1.0', 'od_matrix = "od.csv"'), encoding="utf-8")
    with pytest.raises(InputError) as e:
        build_problem(load_scenario(bad))
    lines = [ln for ln in str(e.value).splitlines() if ln.strip()]
    assert len(lines) == 1 and what in lines[0] and "od.csv" in lines[0] and "row 2" in lines[0]


def test_network_not_overlapping_the_points_is_one_line(tmp_path):
    case = river_case(tmp_path, network=True)
    far = [[(x + 5.0, y + 5.0) for x, y in ln] for ln in road_lines()]  # the same grid 500 km away
    write_roads(tmp_path / "roads.geojson", far)
    with pytest.raises(DataError) as e:
        build_problem(load_scenario(case))
    lines = [ln for ln in str(e.value).splitlines() if ln.strip()]
    assert len(lines) == 1 and "overlap" in lines[0]
