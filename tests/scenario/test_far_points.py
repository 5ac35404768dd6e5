"""``siting run`` refuses points far from all the others (probably a wrong coordinate), like ``siting locate``:
a demand point farther than FAR_KM from every candidate of every tier, a candidate that far from every demand
point; each named with its file (or shipped layer), row and id, unless ``[scenario] allow_far = true``."""

from __future__ import annotations

from pathlib import Path

import pytest

from siting.core.errors import DataError, ScenarioError
from siting.scenario.build import build_problem
from siting.scenario.load import load_scenario

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "data" / "example"
EXAMPLE = REPO / "models" / "example.toml"
PARIS = "2.3522,48.8566"


def _example_text() -> str:
    # absolute data paths, so that a copy in tmp_path still finds the example data
    return EXAMPLE.read_text(encoding="utf-8").replace("../data/example/", f"{DATA.as_posix()}/")


def _villages_with_paris(tmp_path: Path, village: str = "VN107") -> Path:
    """The example's villages with one of them moved to Paris (a wrong coordinate)."""
    lines = (DATA / "villages.csv").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        cells = line.split(",")
        if cells[0] == village:
            cells[2:4] = PARIS.split(",")
        out.append(",".join(cells))
    path = tmp_path / "villages_paris.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def _scenario(tmp_path: Path, *, demand: Path | None = None, point: Path | None = None, hubs: Path | None = None,
              extra: str = "") -> Path:
    """The example scenario with its demand, village-point or hub file replaced; ``extra`` goes under [scenario]."""
    text = _example_text()
    if demand is not None:  # only the demand's source: the point tier keeps the true villages
        text = text.replace(f'source = {{ path = "{DATA.as_posix()}/villages.csv"',
                            f'source = {{ path = "{demand.as_posix()}"')
    if point is not None:
        text = text.replace(f'candidates = {{ path = "{DATA.as_posix()}/villages.csv"',
                            f'candidates = {{ path = "{point.as_posix()}"')
    if hubs is not None:
        text = text.replace(f"{DATA.as_posix()}/hubs.csv", hubs.as_posix())
    if extra:
        text = text.replace("[scenario]\n", f"[scenario]\n{extra}\n", 1)
    path = tmp_path / "far.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demand_point_in_paris_is_refused_with_file_row_and_id(tmp_path):
    villages = _villages_with_paris(tmp_path)
    with pytest.raises(DataError) as exc:
        build_problem(load_scenario(_scenario(tmp_path, demand=villages)))
    lines = exc.value.lines()
    assert len(lines) == 1, lines  # the village in Paris, nothing else
    assert lines[0].startswith(f"{villages}, row 8, column 'lon,lat': demand point 'VN107' at (2.3522, 48.8566) "
                               "is ")
    assert "km from the nearest candidate" in lines[0] and "(siting.core.limits.FAR_KM)" in lines[0]
    assert lines[0].endswith("set allow_far = true under [scenario] (siting run --allow-far)")
    assert exc.value.defects[0].cause == "far demand point"


def test_a_file_that_is_both_demand_and_candidates_is_not_its_own_neighbour(tmp_path):
    # the example reads villages.csv as the demand and as the point tier's candidates: the village in Paris is a
    # candidate 0 km from itself, yet still refused, once as a demand point and once as a point candidate
    villages = _villages_with_paris(tmp_path)
    with pytest.raises(DataError) as exc:
        build_problem(load_scenario(_scenario(tmp_path, demand=villages, point=villages)))
    got = [(d.file, d.row, d.cause) for d in exc.value.defects]
    assert got == [(str(villages), 8, "far demand point"), (str(villages), 8, "far point candidate")]
    assert "point candidate 'VN107' at (2.3522, 48.8566) is " in exc.value.lines()[1]
    assert "km from the nearest demand point" in exc.value.lines()[1]


def test_candidate_far_from_all_demand_is_refused(tmp_path):
    hubs = tmp_path / "hubs_paris.csv"
    hubs.write_text((DATA / "hubs.csv").read_text(encoding="utf-8") + f"HP0,Hub site Paris,{PARIS},N1,North\n",
                    encoding="utf-8")
    with pytest.raises(DataError) as exc:
        build_problem(load_scenario(_scenario(tmp_path, hubs=hubs)))
    lines = exc.value.lines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{hubs}, row 5, column 'lon,lat': hub candidate 'HP0' at (2.3522, 48.8566) is ")
    assert "km from the nearest demand point ('VN" in lines[0]
    # accepted on request
    problem = build_problem(load_scenario(_scenario(tmp_path, hubs=hubs, extra="allow_far = true")))
    assert "HP0" in set(problem.tiers[0].ids)


def test_allow_far_lets_the_point_through(tmp_path):
    villages = _villages_with_paris(tmp_path)
    problem = build_problem(load_scenario(_scenario(tmp_path, demand=villages, extra="allow_far = true")))
    k = list(problem.demand_ids).index("VN107")
    assert (problem.demand_lon[k], problem.demand_lat[k]) == (2.3522, 48.8566)
    # the same as an override (what `siting run --allow-far` sets)
    scen = load_scenario(_scenario(tmp_path, demand=villages), overrides={"scenario.allow_far": True})
    assert scen.allow_far and build_problem(scen).n_demand == 40


def test_gateway_point_far_from_every_candidate_of_its_tier_is_refused(tmp_path):
    # only the gateway points of the listed ids are checked: G3 in Paris is not one of them
    gw = tmp_path / "gateways.csv"
    gw.write_text(f"id,name,lon,lat\nG1,Port,110.2,30.17\nG2,Port in Paris,{PARIS}\nG3,Unused,{PARIS}\n",
                  encoding="utf-8")
    text = _scenario(tmp_path).read_text(encoding="utf-8").replace(
        "[tiers.depot]", f'[tiers.hub.gateway]\nsource = "{gw.as_posix()}"\nids = ["G1", "G2"]\nradius_km = 300\n\n'
        "[tiers.depot]", 1)
    path = tmp_path / "gw.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as exc:
        build_problem(load_scenario(path))
    assert [(d.file, d.row, d.column, d.cause) for d in exc.value.defects] == [
        (str(gw), 2, "lon,lat", "far hub gateway point")]
    line = exc.value.lines()[0]
    assert line.startswith(f"{gw}, row 2, column 'lon,lat': hub gateway point 'G2' at (2.3522, 48.8566) is ")
    assert "km from the nearest hub candidate ('H" in line and line.endswith("(siting run --allow-far)")
    # accepted on request; the gateway rule then keeps the hubs near G1
    problem = build_problem(load_scenario(path, overrides={"scenario.allow_far": True}))
    assert list(problem.tiers[0].gateway.ids) == ["G1", "G2"] and problem.tiers[0].size == 4


def test_allow_far_must_be_a_boolean(tmp_path):
    with pytest.raises(ScenarioError) as exc:
        load_scenario(_scenario(tmp_path, extra='allow_far = "yes"'))
    assert exc.value.lines() == [f"{tmp_path / 'far.toml'}, scenario.allow_far: must be true or false, got string 'yes'"]


def test_shipped_layer_points_are_named_by_layer(tmp_path):
    # every candidate near Paris: each township is a far demand point of "chongqing:townships" (no row: a shipped
    # layer), and both candidates are far from every township; a long report groups them by cause
    sites = tmp_path / "sites.csv"
    sites.write_text(f"id,name,lon,lat\nP1,Paris 1,{PARIS}\nP2,Paris 2,2.40,48.90\n", encoding="utf-8")
    path = tmp_path / "cq.toml"
    path.write_text(f"""
[scenario]
name = "cq"
volume_unit = "parcel"
[demand.towns]
source = "chongqing:townships"
parcels_per_person_per_year = 1.0
[tiers.site]
candidates = "{sites.as_posix()}"
""", encoding="utf-8")
    with pytest.raises(DataError) as exc:
        build_problem(load_scenario(path))
    defects = exc.value.defects
    towns = [d for d in defects if d.file == "chongqing:townships"]
    assert len(towns) == len(defects) - 2 > 1000
    assert all(d.row is None and d.column is None and d.cause == "far demand point" for d in towns)
    assert str(towns[0]).startswith("chongqing:townships: demand point '")
    assert [(d.file, d.row) for d in defects if d.file != "chongqing:townships"] == [(str(sites), 1), (str(sites), 2)]
    summary = exc.value.summary_lines()
    assert len(summary) == 2 and "more like it" in summary[0] and "site candidate 'P1'" in summary[1]
