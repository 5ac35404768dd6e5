"""`siting run` on a road network: flows along roads, the network layer, times; bad road input exits 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from roads_cases import HUB, river_case, road_lines, write_roads

from siting.cli import main


@pytest.mark.solver
def test_run_on_roads_writes_road_paths_times_and_sources(tmp_path, capsys):
    case = river_case(tmp_path, network=True, hub=True)
    out = tmp_path / "out"
    assert main(["run", str(case), "--out", str(out), "--quiet"]) == 0
    import geopandas as gpd

    asg = gpd.read_file(out / "solution.gpkg", layer="assignments")
    dem = gpd.read_file(out / "solution.gpkg", layer="demand")
    up = asg[asg["tier"] == "hub"]
    assert len(up) == 2  # one collection point per bank, both served by the hub
    for g, d in zip(up.geometry, up["distance_km"]):
        assert len(g.coords) > 2  # drawn along the road, not as a straight line
        km = sum(float(np.hypot((x2 - x1) * 96.3, (y2 - y1) * 111.2)) for (x1, y1), (x2, y2) in zip(g.coords[:-1], g.coords[1:]))
        assert km == pytest.approx(d, rel=0.02)
    # the south collection point reaches the hub over the bridge: its road path passes the bridge
    south = up[up["from_id"].str.startswith("collection:S")].geometry.iloc[0]
    assert min(x for x, _ in south.coords) <= 110.0 + 1e-9 < HUB[1]
    assert set(asg["distance_source"]) == {"network"} and np.isfinite(asg["time_min"]).all()
    # every township: its chain and road times to its collection point and to the hub
    assert {"collection_id", "collection_name", "hub_id", "hub_name", "time_to_hub_min", "distance_to_hub_km"} <= set(dem.columns)
    assert (dem["time_to_hub_min"] >= dem["time_min"]).all() and (dem["hub_id"] == "H").all()
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["distance_sources"]["assignments"] == {"network": len(asg)}
    html = (out / "map.html").read_text(encoding="utf-8")
    assert "Road network" in html
    # the road file is an input of the run, hashed in the manifest like the point files
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    roads = [r for r in m["inputs"] if r["role"] == "roads"]
    assert [r["path"] for r in roads] == [str(tmp_path / "roads.geojson")]
    assert roads[0]["bytes"] == (tmp_path / "roads.geojson").stat().st_size and len(roads[0]["sha256"]) == 64


@pytest.mark.solver
def test_max_road_hours_and_gateway_minutes_limit_the_links(tmp_path):
    from siting.pipeline.run import run_scenario

    case = river_case(tmp_path, network=True, hub=True, extra="max_road_hours = 0.05\n")  # 3 min
    o = run_scenario(case, write=False)
    lk = o.problem.links[1]
    assert len(lk) and (lk.time_min <= 3.0 + 1e-9).all()
    # hub -> gateway time as a constraint: a gateway far east, ~30 road km from the hub over the bridge
    (tmp_path / "gw.csv").write_text("id,name,lon,lat,category\nG,Port,110.20,29.93,river_port\n", encoding="utf-8")
    from siting.scenario import build_problem, load_scenario

    base = case.read_text(encoding="utf-8")
    for minutes, kept in ((30, 0), (600, 1)):
        case.write_text(base.replace(
            'fixed_cost_cny_per_year = 1\n',
            'fixed_cost_cny_per_year = 1\ngateway = { source = { path = "gw.csv", id_col = "id", category_col = "category" }, '
            f'radius_min = {minutes} }}\n'), encoding="utf-8")
        p = build_problem(load_scenario(case))
        assert p.tiers[0].size == kept
        if not kept:
            assert p.meta["dropped"]["hub"] == [("H", "farther than 30 min from every gateway", {"unit": None, "region": None})]


@pytest.mark.parametrize("what", ["od", "far"])
def test_bad_road_input_exit_2_nothing_written(tmp_path, capsys, what):
    case = river_case(tmp_path, network=(what == "far"))
    if what == "far":
        write_roads(tmp_path / "roads.geojson", [[(x + 5.0, y) for x, y in ln] for ln in road_lines()])
    else:
        (tmp_path / "od.csv").write_text("from_id,to_id,distance_km\nS1,S2,-1\n", encoding="utf-8")
        case.write_text(case.read_text(encoding="utf-8").replace("circuity = 1.0", 'od_matrix = "od.csv"'), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(case), "--out", str(out), "--quiet"]) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
    assert len(err) == 1 and err[0].startswith("error: ")
    assert not out.exists()
