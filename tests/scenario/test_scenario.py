"""Scenario files: validation messages (one line per defect, dotted keys), overrides, comments, building."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from siting.core.errors import InfeasibleError, ScenarioError
from siting.scenario.load import apply_overrides, load_scenario, parse_value, scenario_comments, with_overrides
from siting.scenario.build import build_problem

REPO = Path(__file__).resolve().parents[2]
MODELS = REPO / "models"
EXAMPLE = MODELS / "example.toml"
DATA = REPO / "data" / "example"


def _example_text() -> str:
    # absolute data paths, so that a copy in tmp_path still finds the example data
    return EXAMPLE.read_text(encoding="utf-8").replace("../data/example/", f"{DATA.as_posix()}/")


def _write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _lines(exc: pytest.ExceptionInfo) -> list[str]:
    return exc.value.lines()


def test_example_loads_and_builds():
    scen = load_scenario(EXAMPLE)
    assert scen.name == "example" and scen.volume_unit == "parcel" and scen.units == "parcels"
    assert [t.name for t in scen.tiers] == ["hub", "depot", "point"]
    p = build_problem(scen)
    assert p.n_demand == 40 and p.tier_names == ("hub", "depot", "point")
    assert p.weight.sum() == pytest.approx(60.0 * np.loadtxt(DATA / "villages.csv", delimiter=",", skiprows=1,
                                                              usecols=4).sum())
    # per-site fixed costs from the file's column
    depot = p.tiers[1]
    assert set(depot.fixed_cost_cny) <= {x * 100_000.0 for x in range(18, 26)}
    # links respect the radius and the same-unit rule
    bottom = p.links[2]
    assert bottom.distance_km.max() <= 8.0
    assert np.all(p.demand_groups["unit"][bottom.child] == p.tiers[2].groups["unit"][bottom.parent])
    assert [r.describe(p.tiers[r.tier].name) for r in p.counts] == ["exactly 1 hub per region", "exactly 1 depot per unit"]


def test_unknown_keys_get_suggestions(tmp_path):
    text = _example_text().replace("radius_km = 8", "radius_kn = 8").replace("[objective]", "[objectve]")
    text = text.replace("handling_cost_cny_per_parcel = 0.20", "handling_cost_cny_per_t = 0.20")
    p = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    lines = _lines(exc)
    assert f"{p}, tiers.point.radius_kn: unknown key; did you mean 'radius_km'?" in lines
    assert f"{p}, objectve: unknown key; did you mean 'objective'?" in lines
    assert any(s.startswith(f"{p}, tiers.point.handling_cost_cny_per_t: unknown key (the volume unit of this scenario "
                            "spells it 'handling_cost_cny_per_parcel')") for s in lines)
    assert all("\n" not in s for s in lines)


def test_wrong_types_negative_and_nan_numbers_all_reported(tmp_path):
    text = (_example_text().replace("radius_km = 8", 'radius_km = "far"')
            .replace("fixed_cost_cny_per_year = 60_000", "fixed_cost_cny_per_year = -60_000")
            .replace("circuity = 1.3", "circuity = nan")
            .replace("single_sourcing = true", "single_sourcing = 1")
            .replace('count_per = { by = "unit", exactly = 1 }', 'count_per = { by = "unit", exactly = 1.5 }'))
    p = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    lines = _lines(exc)
    assert f"{p}, tiers.point.radius_km: must be a number, got string 'far'" in lines
    assert f"{p}, tiers.point.fixed_cost_cny_per_year: must be >= 0, got -60000" in lines
    assert f"{p}, scenario.circuity: must be a number, got nan" in lines
    assert f"{p}, scenario.single_sourcing: must be true or false, got integer 1" in lines
    assert f"{p}, tiers.depot.count_per.exactly: must be a whole number, got float 1.5" in lines


def test_missing_file_and_missing_table(tmp_path):
    text = _example_text().replace(f"{DATA.as_posix()}/hubs.csv", "nowhere/hubs.csv")
    text = text.replace("[demand.villages]", "[demand.people]")
    p = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p)
    lines = _lines(exc)
    assert any(s.startswith(f"{p}, tiers.hub.candidates.path: file not found: nowhere/hubs.csv (looked at ") for s in lines)
    p2 = _write(tmp_path, "[scenario]\nname = 'x'\n", "empty.toml")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(p2)
    assert _lines(exc) == [f"{p2}, demand: missing table", f"{p2}, tiers: missing table"]
    with pytest.raises(ScenarioError) as exc:
        load_scenario(tmp_path / "absent.toml")
    assert _lines(exc) == [f"{tmp_path / 'absent.toml'}: scenario file not found"]
    bad = _write(tmp_path, "[scenario\nname = 1", "bad.toml")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(bad)
    assert _lines(exc)[0].startswith(f"{bad}: not valid TOML")


def test_impossible_counts(tmp_path):
    # 41 depots requested, 12 candidates
    text = _example_text().replace('count_per = { by = "unit", exactly = 1 }   # one depot per unit; assumption',
                                   'count = { exactly = 41 }')
    p = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        build_problem(load_scenario(p))
    assert _lines(exc) == [f"{p}, tiers.depot.count: 41 depot sites requested but only 12 candidates exist"]
    # one unit without any depot candidate
    depots = (DATA / "depots.csv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "depots.csv").write_text("\n".join(l for l in depots if ",S2," not in l) + "\n", encoding="utf-8")
    text = _example_text().replace(f"{DATA.as_posix()}/depots.csv", "depots.csv")
    p = _write(tmp_path, text, "s2.toml")
    with pytest.raises(ScenarioError) as exc:
        build_problem(load_scenario(p))
    assert _lines(exc) == [f"{p}, tiers.depot.count_per: unit S2 has no depot candidate (needs exactly 1); "
                           "3 of 4 units have one"]
    # a total that contradicts the per-group rule
    with pytest.raises(ScenarioError) as exc:
        build_problem(load_scenario(EXAMPLE, overrides={"tiers.depot.count": {"exactly": 5}}))
    assert _lines(exc) == [f"{EXAMPLE}, tiers.depot.count: exactly 5 depot sites in total contradicts exactly 1 per "
                           "unit over 4 units"]


def test_unknown_ids_with_suggestions():
    with pytest.raises(ScenarioError) as exc:
        build_problem(load_scenario(EXAMPLE, overrides={"tiers.hub.required": ["HN9"], "tiers.depot.forbidden": ["DN10", "XX"]}))
    lines = _lines(exc)
    assert any(s.startswith(f"{EXAMPLE}, tiers.hub.required: no hub candidate with id 'HN9'; did you mean 'HN") for s in lines)
    assert any(s.startswith(f"{EXAMPLE}, tiers.depot.forbidden: no depot candidate with id 'XX'") for s in lines)


def test_precheck_reports_unservable_demand_all_at_once():
    from siting.pipeline.run import run_scenario

    with pytest.raises(InfeasibleError) as exc:
        run_scenario(EXAMPLE, overrides={"tiers.depot.radius_km": 0.5}, write=False)
    lines = _lines(exc)
    assert len(lines) == 40  # every village, one line each
    assert lines[0].startswith(f"{EXAMPLE}: demand Village ")
    assert lines[0].endswith("every point candidate within 8 km in the same unit is forbidden or has no depot "
                             "candidate within 0.5 km in the same unit")


def test_overrides_and_values():
    assert parse_value("20") == 20 and parse_value("0.5") == 0.5 and parse_value("true") is True
    assert parse_value('["a", "b"]') == ["a", "b"] and parse_value("chongqing:townships") == "chongqing:townships"
    raw = {"tiers": {"a": {"radius_km": 5}}}
    out = apply_overrides(raw, {"tiers.a.radius_km": "7.5", "tiers.b.count.exactly": 2})
    assert out == {"tiers": {"a": {"radius_km": 7.5}, "b": {"count": {"exactly": 2}}}}
    assert raw == {"tiers": {"a": {"radius_km": 5}}}  # unchanged
    scen = load_scenario(EXAMPLE, overrides={"tiers.point.radius_km": 12})
    assert scen.tiers[-1].radius_km == 12.0
    assert with_overrides(scen, {"tiers.point.radius_km": 9}).tiers[-1].radius_km == 9.0
    with pytest.raises(ScenarioError) as exc:
        load_scenario(EXAMPLE, overrides={"tiers.point.radius_kn": 3})
    assert _lines(exc) == [f"{EXAMPLE}, tiers.point.radius_kn: unknown key; did you mean 'radius_km'?"]
    with pytest.raises(ScenarioError) as exc:
        apply_overrides(raw, {"tiers.a.radius_km.x": 1})
    assert "tiers.a.radius_km is not a table" in _lines(exc)[0]


def test_comments_are_collected():
    c = scenario_comments('[a]\nx_km = 5  # assumption: five\n# source: NBS\ny = "a#b"\n\nz = 1\n')
    assert c == {"a.x_km": "assumption: five", "a.y": "source: NBS"}


def _numeric_leaves(d: dict, prefix: str = ""):
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            yield from _numeric_leaves(v, key)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield key


@pytest.mark.parametrize("name", ["example.toml", "chongqing-express.toml", "chongqing-cold-chain.toml"])
def test_every_model_parameter_has_a_source_or_assumption(name):
    path = MODELS / name
    text = path.read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    comments = scenario_comments(text)
    missing = []
    for key in _numeric_leaves(raw):
        parts = key.split(".")
        notes = [comments.get(".".join(parts[:n])) for n in range(len(parts), 0, -1)]
        note = next((x for x in notes if x), None)
        if note is None or not any(w in note.lower() for w in ("assumption", "source", "data/geo", "plan", "nbs", "bulletin")):
            missing.append(key)
    assert missing == []
    load_scenario(path)  # and the file is valid


def test_chongqing_express_problem_structure():
    scen = load_scenario(MODELS / "chongqing-express.toml")
    p = build_problem(scen)
    assert p.n_demand == 1031
    assert p.weight.sum() == pytest.approx(32_054_159 * 94.0)
    hub, park, coll = p.tiers
    regions = {r.by: r for r in p.counts}
    assert len(regions["region"].groups) == 3 and len(regions["unit"].groups) == 41
    # every unit keeps park candidates inside the unit, every hub candidate is near a gateway
    assert set(park.groups["unit"]) == set(regions["unit"].groups)
    assert hub.gateway is not None and len(hub.gateway.ids) >= 5
    # radius and same-unit rule on the bottom links
    assert coll.radius_km == 15 and p.links[2].distance_km.max() <= 15 + 1e-9
    assert np.isinf(hub.capacity).all()


def test_gateway_keeps_the_measured_site_gateway_pairs_of_the_kept_candidates():
    # the verifier re-checks gateway access on these pairs: after the gateway rule and a shortlist, each kept hub
    # candidate keeps its own pairs (re-indexed), with the distances measured before the filters
    def nearest(p):
        hub = p.tiers[0]
        a = hub.gateway.access
        assert a.child.max() < hub.size and a.parent.max() < len(hub.gateway.ids)
        return {str(hub.ids[j]): float(a.distance_km[a.child == j].min()) for j in range(hub.size)}

    every = nearest(build_problem(load_scenario(MODELS / "chongqing-express.toml")))
    short = build_problem(load_scenario(MODELS / "chongqing-express.toml",
                                        overrides={"tiers.hub.shortlist": {"per": "region", "top": 3}}))
    kept = nearest(short)
    assert 0 < len(kept) < len(every) and kept == {k: every[k] for k in kept}
    assert max(every.values()) <= 40.0 and short.tiers[0].gateway.radius_km == 40.0


@pytest.mark.solver
def test_od_matrix_with_travel_times(tmp_path):
    import pandas as pd

    from siting.geo.distance import haversine_km
    from siting.pipeline.run import run_scenario

    v = pd.read_csv(DATA / "villages.csv", dtype={"id": str})
    d = pd.read_csv(DATA / "depots.csv", dtype={"id": str})
    h = pd.read_csv(DATA / "hubs.csv", dtype={"id": str})
    rows = []
    for a, b in ((v, v), (v, d), (d, h)):
        for _, ra in a.iterrows():
            km = haversine_km(ra["lon"], ra["lat"], b["lon"].to_numpy(), b["lat"].to_numpy()) * 1.4
            rows.append(pd.DataFrame({"from_id": ra["id"], "to_id": b["id"], "distance_km": km, "time_min": km / 0.6}))
    pd.concat(rows).to_csv(tmp_path / "od.csv", index=False)
    text = _example_text().replace('circuity = 1.3', f'od_matrix = "{(tmp_path / "od.csv").as_posix()}"')
    text = text.replace("radius_km = 8 ", "radius_km = 8\nradius_min = 12 ")
    p = _write(tmp_path, text)
    o = run_scenario(p, write=False)
    assert o.ok, o.check.violations
    lk = o.problem.links[2]
    assert lk.time_min is not None and lk.time_min.max() <= 12.0 and lk.distance_km.max() <= 8.0
    used = o.result.link_used[2]
    assert np.all(lk.time_min[used] <= 12.0)


def test_solver_gap_must_be_a_fraction(tmp_path):
    """`mip_rel_gap = 2.0` (a percentage typed as a number) is refused with the key, not passed to HiGHS."""
    from siting.core.errors import ScenarioError
    from siting.scenario.load import load_scenario

    src = (REPO / "models" / "example.toml").read_text(encoding="utf-8")
    assert "mip_rel_gap = 1e-6" in src
    path = tmp_path / "example.toml"
    path.write_text(src.replace("mip_rel_gap = 1e-6", "mip_rel_gap = 2.0").replace("../data/example", str(REPO / "data" / "example")), encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert any("solver.mip_rel_gap" in line and "[0, 1)" in line for line in err.value.lines())
