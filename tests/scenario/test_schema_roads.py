"""Scenario schema additions of issues 15/16: circuity modes, [network], BOM, misspelt tier names."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from siting.core.errors import ScenarioError
from siting.scenario import build_problem, load_scenario
from siting.scenario.load import ScenarioWarning
from siting.scenario.schema_roads import SHIPPED_TIER_NAMES

MODELS = Path(__file__).resolve().parents[2] / "models"


def _example(tmp_path: Path, text: str | None = None, name: str = "s.toml") -> Path:
    src = (MODELS / "example.toml").read_text(encoding="utf-8").replace("../data/", str(MODELS.parent / "data") + "/")
    p = tmp_path / name
    p.write_text(text(src) if callable(text) else src, encoding="utf-8")
    return p


def test_utf8_bom_is_accepted(tmp_path):
    p = _example(tmp_path)
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())
    assert load_scenario(p).name == "example"


def test_misspelt_tier_name_warns_with_its_line(tmp_path):
    p = _example(tmp_path, lambda s: s.replace("[tiers.point]", "[tiers.piont]"))
    with pytest.warns(ScenarioWarning, match=r"tiers\.piont: a new tier named 'piont'; did you mean 'point'\?") as rec:
        scen = load_scenario(p)
    w = rec[0]
    assert Path(w.filename) == p and p.read_text(encoding="utf-8").splitlines()[w.lineno - 1].startswith("[tiers.piont]")
    assert len(scen.warnings) == 1


def test_close_to_shipped_tier_name_warns_and_correct_names_do_not(tmp_path):
    p = _example(tmp_path, lambda s: s.replace("[tiers.point]", "[tiers.colection]"))
    with pytest.warns(ScenarioWarning, match="did you mean 'collection'"):
        load_scenario(p)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for name in ("example.toml", "chongqing-express.toml", "chongqing-cold-chain.toml"):
            assert load_scenario(MODELS / name).warnings == ()


def test_shipped_tier_names_are_the_shipped_scenarios_tiers():
    import tomllib

    names = set()
    for f in MODELS.glob("*.toml"):
        names |= set(tomllib.loads(f.read_text(encoding="utf-8")).get("tiers", {}))
    assert names <= set(SHIPPED_TIER_NAMES)


def test_measured_circuity_modes_and_errors(tmp_path):
    scen = load_scenario(_example(tmp_path, lambda s: s.replace("circuity = 1.3", 'circuity = "measured"')))
    assert scen.circuity_mode == "measured" and scen.circuity_rule == "mean"
    scen = load_scenario(_example(tmp_path, lambda s: s.replace("circuity = 1.3", 'circuity = { rule = "max" }'), "m.toml"))
    assert scen.circuity_mode == "measured" and scen.circuity_rule == "max"
    bad = _example(tmp_path, lambda s: s.replace("circuity = 1.3", 'circuity = "measurd"'), "b.toml")
    with pytest.raises(ScenarioError, match='scenario.circuity: must be a number >= 1, "measured" or a table, '
                                            "got 'measurd' \\(did you mean \"measured\"\\?\\)"):
        load_scenario(bad)


def test_network_table_errors_one_line_each(tmp_path):
    p = _example(tmp_path, lambda s: s + '\n[network]\nroads = "nowhere.pbf"\nfallback = "maybe"\nsnap_max_km = -1\n'
                 'speeds_kmh = { primary = 0 }\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    lines = str(e.value).splitlines()
    keys = ["network.roads", "network.fallback", "network.snap_max_km", "network.speeds_kmh.primary"]
    assert len(lines) == len(keys) and all(any(k in ln for ln in lines) for k in keys)


def test_minutes_need_times(tmp_path):
    p = _example(tmp_path, lambda s: s.replace("radius_km = 8 ", "radius_min = 20 "))
    with pytest.raises(ScenarioError, match="tiers.point.radius_min: needs travel times"):
        load_scenario(p)
    # an estimated speed for circuity pairs gives every pair a time
    p2 = _example(tmp_path, lambda s: s.replace("radius_km = 8 ", "radius_min = 20 ")
                  + '\n[network]\nfallback = "circuity"\nspeed_kmh = 30\n', "t.toml")
    prob = build_problem(load_scenario(p2))
    lk = prob.links[2]
    assert (lk.time_min <= 20).all() and lk.distance_km.max() == pytest.approx(10, rel=0.05)


def test_measured_factors_lengthen_the_chongqing_legs():
    base = build_problem(load_scenario(MODELS / "chongqing-express.toml", overrides={"scenario.circuity": 1.3}))
    meas = build_problem(load_scenario(MODELS / "chongqing-express.toml"))
    # fewer township legs fit the 15 km radius once the median detour is ~1.7 instead of 1.3
    assert len(meas.links[2]) < len(base.links[2])
    assert meas.meta["circuity"].startswith("measured")
