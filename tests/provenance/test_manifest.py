"""``manifest.json``: written inside every run directory, atomically, with everything a result depends on."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from siting.cli import main
from siting.core.errors import InputError
from siting.provenance.manifest import MANIFEST_VERSION, build_manifest, certificate, file_sha256, manifest_to_json, package_versions, read_manifest
from siting.core.results import SolutionStatus, SolveInfo, TerminationCondition

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("manifest") / "run"
    rc = main(["locate", "uflp", "--demand", str(BAD / "demand.csv"), "--candidates", str(BAD / "sites.csv"),
               "--weight", "pop", "--fixed-cost", "cost", "--od-matrix", str(BAD / "od.csv"), "--time-limit", "60",
               "--out", str(out)])
    assert rc == 0
    return out


@pytest.mark.solver
def test_locate_run_writes_a_complete_manifest(run):
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    s = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    assert m["manifest_version"] == MANIFEST_VERSION and m["kind"] == "locate"
    assert dt.datetime.fromisoformat(m["created_utc"]).tzinfo is not None
    assert m["command"][:3] == ["siting", "locate", "uflp"] and "--od-matrix" in m["command"]
    # parameters: enough to rebuild the problem
    prm = m["parameters"]
    assert prm["model"] == "uflp" and prm["params"]["cost_per_unit_km"] == 1.0
    assert prm["columns"]["weight"] == "pop" and prm["columns"]["fixed_cost"] == "cost"
    assert Path(prm["files"]["od_matrix"]) == (BAD / "od.csv").absolute()
    # inputs: content hashes computed independently here
    roles = {r["role"]: r for r in m["inputs"]}
    assert set(roles) == {"demand", "candidates", "od_matrix"}
    for role, name in (("demand", "demand.csv"), ("candidates", "sites.csv"), ("od_matrix", "od.csv")):
        assert roles[role]["sha256"] == _sha(BAD / name)
        assert roles[role]["bytes"] == (BAD / name).stat().st_size
    # outputs as written
    assert m["outputs"] == {"summary.json": _sha(run / "summary.json"), "solution.gpkg": _sha(run / "solution.gpkg")}
    # software
    for pkg in ("pyomo", "highspy", "geopandas", "numpy", "pandas"):
        assert m["software"][pkg] == metadata.version(pkg)
    assert m["software"]["python"].count(".") == 2 and m["software"]["siting"]
    # solver options and seed
    assert m["solver"]["seed"] == 0 and m["solver"]["options"]["time_limit_s"] == 60
    # plain UFLP runs by the fast path: HiGHS on the reduced model, or no MIP when the Lagrangian bound proves
    # the incumbent; the name is the one the certificate gives
    assert m["solver"]["name"] == m["certificate"]["solver"]
    assert m["solver"]["name"].startswith(("highs", "Lagrangian bound"))
    # timings
    t = m["timings"]
    assert t["seconds"] == pytest.approx(t["build_seconds"] + t["solve_seconds"], abs=1e-3)
    assert t["wall_seconds"] >= t["seconds"] - 1e-3
    # certificate = summary, and the verifier's verdict with its checks
    c = m["certificate"]
    for key in ("status", "termination", "objective", "bound", "gap"):
        assert c[key] == s[key], key
    assert c["verification"]["ok"] is True and len(c["verification"]["checks"]) >= 5
    assert c["verification"]["objective"] == pytest.approx(s["objective"], rel=1e-9)
    assert c["status_text"] == "optimal"


def test_file_hash_and_versions(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x00\x01" * 700_000)
    assert file_sha256(p) == hashlib.sha256(p.read_bytes()).hexdigest()
    v = package_versions()
    assert v["numpy"] == np.__version__ and v["python"]


def test_certificate_and_json_of_a_run_without_bound():
    info = SolveInfo(TerminationCondition.TIME_LIMIT, SolutionStatus.FEASIBLE, objective=12.5, bound=math.nan,
                     gap=math.nan, options={"seed": 3})
    c = certificate(info, {"ok": True, "checks": ["a"], "problems": [], "objective": 12.5})
    assert c["bound"] is None and c["status_text"].startswith("feasible, gap unknown")
    m = build_manifest(kind="run", parameters={"x": np.float64(1.5), "nan": math.nan}, inputs={}, info=info)
    text = manifest_to_json(m)
    back = json.loads(text)
    assert back["parameters"] == {"x": 1.5, "nan": None} and back["solver"]["seed"] == 3
    with pytest.raises(ValueError):
        build_manifest(kind="other", parameters={}, inputs={}, info=info)


@pytest.mark.no_audit  # tampers with or fakes a run on purpose
def test_read_manifest_refuses_what_it_cannot_use(tmp_path):
    with pytest.raises(InputError, match="no manifest.json"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot read the manifest"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"manifest_version": 99, "kind": "locate", "parameters": {},
                                                        "inputs": [], "certificate": {}}), encoding="utf-8")
    with pytest.raises(InputError, match="newer than this siting"):
        read_manifest(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "locate"}), encoding="utf-8")
    with pytest.raises(InputError) as exc:
        read_manifest(tmp_path)
    assert len(exc.value.lines()) == 4  # every missing key, one line each


@pytest.mark.no_audit  # tampers with or fakes a run on purpose
def test_write_run_puts_the_manifest_in_the_atomic_directory(tmp_path, monkeypatch):
    """If writing the manifest fails, nothing at all is left: it is written inside the temporary directory."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    import siting.provenance.manifest as manifest_mod
    from siting.outputs import write_run

    fac = gpd.GeoDataFrame({"facility_id": ["s"], "name": ["s"], "tier": ["facility"], "tier_level": [0],
                            "unit": [None], "region": [None], "volume": [1.0], "capacity": [np.nan],
                            "utilisation": [np.nan], "fixed_cost_cny": [0.0], "handling_cost_cny": [0.0],
                            "transport_cost_cny": [0.0], "required": [False]},
                           geometry=[Point(106.5, 29.5)], crs=4326)
    asg = gpd.GeoDataFrame({"from_id": ["d"], "to_id": ["s"], "tier": ["facility"], "distance_km": [1.0],
                            "volume": [1.0], "cost_cny": [np.nan]},
                           geometry=[LineString([(106.51, 29.5), (106.5, 29.5)])], crs=4326)
    dem = gpd.GeoDataFrame({"demand_id": ["d"], "name": ["d"], "weight": [1.0], "assigned_to": ["s"],
                            "distance_km": [1.0], "covered": [True]}, geometry=[Point(106.51, 29.5)], crs=4326)
    summary = {"model": "p-median", "status": "optimal", "termination": "optimal", "objective": 1.0, "bound": 1.0,
               "gap": 0.0, "build_seconds": 0, "solve_seconds": 0, "seconds": 0, "facility_ids": ["s"],
               "counts_by_tier": {"facility": 1}, "coverage": {}}
    kw = dict(summary=summary, facilities=fac, assignments=asg, demand=dem, map_options={"osm": False})
    out = write_run(tmp_path / "ok", **kw, manifest={"kind": "locate", "note": "数据"})
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["note"] == "数据" and set(m["outputs"]) == {"summary.json", "solution.gpkg"}
    assert not (write_run(tmp_path / "none", **kw) / "manifest.json").exists()

    def broken(_m):
        raise RuntimeError("disk full")

    monkeypatch.setattr(manifest_mod, "manifest_to_json", broken)
    with pytest.raises(RuntimeError):
        write_run(tmp_path / "bad", **kw, manifest={"kind": "locate"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["none", "ok"]


@pytest.mark.solver
def test_scenario_run_manifest(tmp_path):
    import siting.pipeline.run  # noqa: F401
    example = Path(__file__).resolve().parents[2] / "models" / "example.toml"
    out = tmp_path / "ex"
    assert main(["run", str(example), "--out", str(out), "--quiet", "--set", "tiers.point.radius_km=9"]) == 0
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert m["kind"] == "run" and m["parameters"]["scenario"] == "example"
    assert m["parameters"]["overrides"] == {"tiers.point.radius_km": 9}
    assert m["parameters"]["resolved"]["tiers"]["point"]["radius_km"] == 9
    roles = [r["role"] for r in m["inputs"]]
    assert roles.count("scenario") == 1 and roles.count("data") == 3
    for r in m["inputs"]:
        assert r["sha256"] == _sha(Path(r["path"])) and ".." not in Path(r["path"]).parts
    for key in ("status", "objective", "bound", "gap"):
        assert m["certificate"][key] == s[key]
    assert m["certificate"]["verification"]["ok"] is True
    assert m["command"][:2] == ["siting", "run"]


def test_scenario_run_inputs_list_the_road_file_od_matrix_and_circuity_tables(tmp_path):
    # the distances of a run come from these files as much as from the point files: each is an input with its
    # hash, and only when the scenario reads it
    import shutil

    from roads_cases import river_case

    import siting.geo as geo
    from siting.geo.circuity import MEASURED_FILE, REGIONS_FILE
    from siting.provenance.audit_network import scenario_inputs
    from siting.scenario.load import load_scenario

    case = river_case(tmp_path, network=True)
    base = case.read_text(encoding="utf-8")
    (tmp_path / "od.csv").write_text("from_id,to_id,distance_km\nS1,S2,5\n", encoding="utf-8")
    shipped = geo.default_data_dir()
    shutil.copy(shipped / MEASURED_FILE, tmp_path / "factors.csv")
    case.write_text(base.replace("circuity = 1.0", 'circuity = { path = "factors.csv" }\nod_matrix = "od.csv"'),
                    encoding="utf-8")
    inputs = scenario_inputs(load_scenario(case))
    assert inputs["roads"] == [tmp_path / "roads.geojson"]
    assert inputs["od_matrix"] == [tmp_path / "od.csv"]
    assert inputs["circuity"] == [tmp_path / "factors.csv", shipped / REGIONS_FILE]
    assert shipped / "districts.geojson" in inputs["reference"]  # the districts place points in the factor table
    info = SolveInfo(TerminationCondition.OPTIMAL, SolutionStatus.OPTIMAL, objective=1.0, bound=1.0, gap=0.0)
    records = build_manifest(kind="run", parameters={}, inputs=inputs, info=info)["inputs"]
    by_path = {Path(r["path"]): r for r in records}
    for role, path in (("roads", tmp_path / "roads.geojson"), ("od_matrix", tmp_path / "od.csv"),
                       ("circuity", tmp_path / "factors.csv"), ("circuity", shipped / REGIONS_FILE)):
        rec = by_path[path.absolute()]
        assert rec["role"] == role and rec["sha256"] == _sha(path) and rec["bytes"] == path.stat().st_size
    # the shipped factor table with circuity = "measured"; none of these without a network, OD or measured factors
    case.write_text(base.replace("circuity = 1.0", 'circuity = "measured"'), encoding="utf-8")
    assert scenario_inputs(load_scenario(case))["circuity"] == [shipped / MEASURED_FILE, shipped / REGIONS_FILE]
    river_case(tmp_path, network=False)
    plain = scenario_inputs(load_scenario(case.parent / "river.toml"))
    assert set(plain) == {"scenario", "data"}
