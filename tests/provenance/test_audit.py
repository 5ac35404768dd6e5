"""``siting verify RUN_DIR``: every run passes; any edit of its GeoPackage, summary or inputs fails it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from siting.provenance.audit import audit
from siting.cli import main

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"

# model -> extra CLI options on the corpus' valid files (10 demand points, 5 sites with cost and capacity)
RUNS = {
    "p-median": ["--p", "2", "--weight", "pop"],
    "p-median-od": ["--p", "2", "--od-matrix", str(BAD / "od.csv")],
    "p-center": ["--p", "2"],
    "lscp": ["--radius-km", "45"],
    "lscp-b": ["--radius-km", "45"],
    "mclp": ["--p", "1", "--radius-km", "15", "--weight", "pop"],
    "attendance": ["--p", "2", "--decay", "power:1"],
    "uflp": ["--fixed-cost", "cost", "--weight", "pop", "--cost-per-unit-km", "50"],
    "cflp": ["--fixed-cost", "cost", "--capacity", "cap", "--weight", "pop", "--max-distance-km", "60"],
    "cflp-ss": ["--fixed-cost", "cost", "--capacity", "cap", "--weight", "pop", "--required", "existing"],
}


def _run(out: Path, name: str, capfd=None) -> Path:
    model = name.removesuffix("-od")
    rc = main(["locate", model, "--demand", str(BAD / "demand.csv"), "--candidates", str(BAD / "sites.csv"),
               *RUNS[name], "--out", str(out)])
    assert rc == 0, capfd.readouterr().err if capfd else rc
    return out


@pytest.fixture(scope="module")
def pmedian_run(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("audit") / "run", "p-median")


@pytest.mark.solver
@pytest.mark.parametrize("name", list(RUNS))
def test_every_model_run_passes_verify(name, tmp_path, capfd):
    out = _run(tmp_path / name, name, capfd)
    capfd.readouterr()
    assert main(["verify", str(out)]) == 0, capfd.readouterr().err
    text = capfd.readouterr().out.strip().splitlines()
    assert text[-1].endswith("checks passed") and not any(line.startswith("FAIL") for line in text)
    report = audit(out)
    names = [c.name for c in report.checks]
    assert report.ok and len(names) >= 25
    assert any(n.startswith("verifier: recomputed objective") for n in names)
    assert "assignment distances match the distances recomputed from the inputs" in names


def _edit_layer(run: Path, layer: str, edit) -> None:
    path = run / "solution.gpkg"
    df = pyogrio.read_dataframe(path, layer=layer)
    df = edit(df)
    pyogrio.write_dataframe(df, path, layer=layer, driver="GPKG")


def _tamper_distance(run):
    def edit(a):
        a.loc[0, "distance_km"] = a.loc[0, "distance_km"] * 0.5
        return a
    _edit_layer(run, "assignments", edit)


def _tamper_reassign_to_open(run):
    fac = pyogrio.read_dataframe(run / "solution.gpkg", layer="facilities")

    def edit(a):
        other = next(f for f in fac.facility_id if f != a.loc[0, "to_id"])
        a.loc[0, "to_id"] = other
        return a
    _edit_layer(run, "assignments", edit)


def _tamper_reassign_to_closed(run):
    fac = set(pyogrio.read_dataframe(run / "solution.gpkg", layer="facilities").facility_id)
    closed = next(s for s in ("s0", "s1", "s2", "s3", "s4") if s not in fac)

    def edit(a):
        a.loc[0, "to_id"] = closed
        return a
    _edit_layer(run, "assignments", edit)


def _tamper_drop_assignment(run):
    _edit_layer(run, "assignments", lambda a: a.iloc[1:].reset_index(drop=True))


def _tamper_drop_facility(run):
    _edit_layer(run, "facilities", lambda f: f.iloc[1:].reset_index(drop=True))


def _tamper_volume(run):
    def edit(a):
        a.loc[2, "volume"] = a.loc[2, "volume"] * 2
        return a
    _edit_layer(run, "assignments", edit)


def _tamper_summary_objective(run):
    p = run / "summary.json"
    s = json.loads(p.read_text(encoding="utf-8"))
    s["objective"] = s["objective"] * 0.9
    p.write_text(json.dumps(s), encoding="utf-8")


def _tamper_input(run):
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    rec = next(r for r in m["inputs"] if r["role"] == "demand")
    copy = Path(rec["path"])
    df = pd.read_csv(copy)
    df.loc[0, "pop"] = df.loc[0, "pop"] + 1
    df.to_csv(copy, index=False)


TAMPER = {
    "distance edited": (_tamper_distance, ["assignment distances match"]),
    "assignment moved to another open site": (_tamper_reassign_to_open,
                                              ["assignment distances match", "verifier: recomputed objective"]),
    "assignment moved to a closed site": (_tamper_reassign_to_closed, ["verifier: demand served only by open sites"]),
    "assignment deleted": (_tamper_drop_assignment, ["verifier: every demand is served exactly once"]),
    "facility deleted": (_tamper_drop_facility, ["verifier: number of open sites equals p"]),
    "volume edited": (_tamper_volume, ["verifier: every demand is served exactly once"]),
    "summary objective edited": (_tamper_summary_objective, ["summary.json agrees with the manifest",
                                                              "objective recomputed from solution.gpkg"]),
    "input file edited": (_tamper_input, ["input demand"]),
}


@pytest.mark.no_audit  # tampers with or fakes a run on purpose
@pytest.mark.solver
@pytest.mark.parametrize("case", list(TAMPER))
def test_tampered_run_fails_verify(case, pmedian_run, tmp_path, capfd):
    tamper, expected = TAMPER[case]
    run = tmp_path / "run"
    shutil.copytree(pmedian_run, run)
    if case == "input file edited":  # edit a copy of the input, named in the copied manifest
        m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
        for rec in m["inputs"]:
            dst = tmp_path / Path(rec["path"]).name
            shutil.copy(rec["path"], dst)
            rec["path"] = str(dst)
        (run / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
        m["outputs"] = {}
    assert audit(run).ok or case == "input file edited"  # the copy itself verifies (outputs unchanged)
    tamper(run)
    capfd.readouterr()
    rc = main(["verify", str(run)])
    err = capfd.readouterr().err
    assert rc == 1, err
    failed = [line for line in err.splitlines() if line.startswith("FAIL")]
    for fragment in expected:
        assert any(fragment in line for line in failed), f"{fragment!r} not among:\n{err}"
    assert "FAILED:" in err.splitlines()[-1]
    if case == "input file edited":
        assert "has changed" in err and "skipped" in err


@pytest.mark.no_audit  # tampers with or fakes a run on purpose
@pytest.mark.solver
def test_verify_without_output_hashes_still_catches_a_tampered_gpkg(pmedian_run, tmp_path):
    """The recomputation, not just the file hash, catches the edit."""
    run = tmp_path / "run"
    shutil.copytree(pmedian_run, run)
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    m.pop("outputs")
    (run / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    assert audit(run).ok
    _tamper_distance(run)
    report = audit(run)
    assert not report.ok
    assert [c.name for c in report.failed] == ["assignment distances match the distances recomputed from the inputs"]


@pytest.mark.no_audit  # tampers with or fakes a run on purpose
@pytest.mark.solver  # its fixture pmedian_run solves
def test_missing_input_and_not_a_run_dir(pmedian_run, tmp_path, capfd):
    assert main(["verify", str(tmp_path)]) == 2
    assert "no manifest.json" in capfd.readouterr().err
    assert main(["verify", str(tmp_path / "absent")]) == 2
    capfd.readouterr()
    run = tmp_path / "run"
    shutil.copytree(pmedian_run, run)
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    m["inputs"][0]["path"] = str(tmp_path / "gone.csv")
    (run / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    assert main(["verify", str(run)]) == 1
    assert "gone.csv is missing" in capfd.readouterr().err


# --- scenario runs (siting run) ------------------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "models" / "example.toml"


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory):
    import siting.pipeline.run  # noqa: F401
    out = tmp_path_factory.mktemp("audit-run") / "example"
    assert main(["run", str(EXAMPLE), "--out", str(out), "--quiet"]) == 0
    return out


@pytest.mark.solver
def test_scenario_run_passes_verify(scenario_run, capfd):
    capfd.readouterr()
    assert main(["verify", str(scenario_run)]) == 0, capfd.readouterr().err
    report = audit(scenario_run)
    names = [c.name for c in report.checks]
    assert report.kind == "run" and report.ok
    assert any(n.startswith("verifier (siting.network.verify)") for n in names)
    assert any(n.startswith("input scenario example.toml") for n in names)
    assert sum(n.startswith("input data") for n in names) == 3


def _tamper_network_volume(run):
    def edit(a):
        k = int(np.flatnonzero(a["from_id"].str.startswith("demand:"))[0])
        a.loc[k, "volume"] = a.loc[k, "volume"] * 0.5
        return a
    _edit_layer(run, "assignments", edit)


def _tamper_network_parent(run):
    fac = pyogrio.read_dataframe(run / "solution.gpkg", layer="facilities")
    hubs = list(fac.loc[fac.tier == "hub", "facility_id"])

    def edit(a):
        k = int(np.flatnonzero(a["tier"] == "hub")[0])
        a.loc[k, "to_id"] = next(h for h in hubs if h != a.loc[k, "to_id"])
        return a
    _edit_layer(run, "assignments", edit)


def _tamper_network_drop_facility(run):
    def edit(f):
        k = int(np.flatnonzero(f["tier"] == "point")[0])
        return f.drop(index=k).reset_index(drop=True)
    _edit_layer(run, "facilities", edit)


@pytest.mark.solver
@pytest.mark.parametrize("tamper,expected", [
    (_tamper_network_volume, "verifier (siting.network.verify)"),
    (_tamper_network_parent, "allowed link"),
    (_tamper_network_drop_facility, "verifier (siting.network.verify)"),
], ids=["volume", "parent", "drop-facility"])
@pytest.mark.no_audit  # tampers with or fakes a run on purpose
def test_tampered_scenario_run_fails_verify(tamper, expected, scenario_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(scenario_run, run)
    m = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    m.pop("outputs")  # the recomputation, not the file hash, must catch it
    (run / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    assert audit(run).ok
    tamper(run)
    report = audit(run)
    assert not report.ok
    assert any(c.name.startswith(expected) or expected in c.name for c in report.failed), report.lines()
