"""write_run: GeoPackage, CSV, summary.json, contract validation and the atomic writer."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from fake_run import fake_run
from shapely.geometry import Point

from siting.core.errors import OutputError
from siting.outputs import FrameContractError, prepare_out_dir, write_run
from siting.outputs import tables as tables_mod


@pytest.fixture(scope="module")
def run():
    return fake_run(n_demand=200, seed=3)


@pytest.fixture(scope="module")
def written(run, tmp_path_factory):
    summary, fac, asg, dem, b = run
    return write_run(
        tmp_path_factory.mktemp("w") / "run", summary=summary, facilities=fac, assignments=asg, demand=dem, boundaries=b
    )


def _kw(run):
    summary, fac, asg, dem, b = run
    return {"summary": summary, "facilities": fac, "assignments": asg, "demand": dem, "boundaries": b}


def test_files_written(written):
    names = sorted(p.name for p in written.iterdir())
    assert names == sorted(
        [
            "summary.json",
            "solution.gpkg",
            "facilities.csv",
            "assignments.csv",
            "demand.csv",
            "map.html",
            "report.html",
            "chart_cost.png",
            "chart_distance.png",
        ]
    )
    # nothing left next to it
    assert [p.name for p in written.parent.iterdir()] == ["run"]


def test_gpkg_roundtrip(written, run):
    _, fac, asg, dem, _ = run
    path = written / "solution.gpkg"
    layers = {name: gtype for name, gtype in pyogrio.list_layers(path)}
    assert layers == {"facilities": "Point", "assignments": "LineString", "demand": "Point", "layer_styles": None}
    expected = {
        "facilities": (fac, {"facility_id": "object", "tier_level": "int32", "volume": "float64", "required": "bool"}),
        "assignments": (asg, {"from_id": "object", "distance_km": "float64", "cost_cny": "float64"}),
        "demand": (dem, {"assigned_to": "object", "weight": "float64", "covered": "bool"}),
    }
    for layer, (frame, types) in expected.items():
        info = pyogrio.read_info(path, layer=layer)
        assert info["crs"] == "EPSG:4326"
        assert info["features"] == len(frame)
        dtypes = dict(zip(info["fields"], info["dtypes"], strict=True))
        for col, dt in types.items():
            assert dtypes[col] == dt, (layer, col, dtypes[col])
    back = pyogrio.read_dataframe(path, layer="facilities")
    assert back.crs.to_epsg() == 4326
    assert back["facility_id"].tolist() == fac["facility_id"].tolist()
    assert back["name"].tolist() == fac["name"].tolist()  # Chinese survives
    assert back["required"].dtype == bool and back["required"].tolist() == fac["required"].tolist()
    np.testing.assert_allclose(back["capacity"], fac["capacity"])  # NaN stays NaN
    np.testing.assert_allclose(back.geometry.x, fac.geometry.x)
    dback = pyogrio.read_dataframe(path, layer="demand")
    assert dback["assigned_to"].isna().sum() == dem["assigned_to"].isna().sum() == 2


def test_csvs_have_bom_and_coordinates(written, run):
    _, fac, asg, _, _ = run
    raw = (written / "facilities.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    f = pd.read_csv(written / "facilities.csv", encoding="utf-8-sig")
    assert f.columns[0] == "facility_id"
    assert f["name"].tolist() == fac["name"].tolist()
    np.testing.assert_allclose(f["lon"], fac.geometry.x, atol=1e-6)
    a = pd.read_csv(written / "assignments.csv", encoding="utf-8-sig")
    assert (written / "assignments.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert len(a) == len(asg)
    first = asg.geometry.iloc[0].coords
    assert a.loc[0, "from_lon"] == pytest.approx(first[0][0], abs=1e-6)
    assert a.loc[0, "to_lat"] == pytest.approx(first[-1][1], abs=1e-6)


def test_summary_json(written, run):
    summary = run[0]
    text = (written / "summary.json").read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["facility_ids"] == summary["facility_ids"]
    assert data["objective"] == pytest.approx(summary["objective"])
    assert "NaN" not in text


def test_nan_and_numpy_values_in_summary(run, tmp_path):
    summary = dict(run[0], bound=float("nan"), gap=np.float64(math.inf), solve_seconds=np.float32(1.5))
    out = write_run(tmp_path / "r", **dict(_kw(run), summary=summary, boundaries=None))
    data = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert data["bound"] is None and data["gap"] is None and data["solve_seconds"] == 1.5


# --- destination ----------------------------------------------------------------------------------------------


def test_refuses_non_empty_dir_without_overwrite(run, tmp_path):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not empty"):
        prepare_out_dir(out, overwrite=False)
    with pytest.raises(OutputError, match="not empty"):
        write_run(out, **_kw(run))
    # overwrite refuses a directory that is not an earlier output
    with pytest.raises(OutputError, match="no earlier siting output"):
        write_run(out, **_kw(run), overwrite=True)
    assert (out / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["busy"]


def test_overwrite_replaces_earlier_run(run, tmp_path):
    out = tmp_path / "r"
    write_run(out, **dict(_kw(run), boundaries=None))
    (out / "stale.txt").write_text("old")
    write_run(out, **dict(_kw(run), boundaries=None), overwrite=True)
    assert not (out / "stale.txt").exists()
    assert (out / "summary.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no temp or old dir left


def test_empty_existing_dir_is_used(run, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    write_run(out, **dict(_kw(run), boundaries=None))
    assert (out / "map.html").exists()


def test_bad_destinations(tmp_path, monkeypatch):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(OutputError, match="not a directory"):
        prepare_out_dir(f, overwrite=True)
    with pytest.raises(OutputError, match="not a directory"):
        prepare_out_dir(f / "sub" / "run", overwrite=False)
    assert prepare_out_dir(tmp_path / "a" / "b", overwrite=False) == (tmp_path / "a" / "b").absolute()
    assert not (tmp_path / "a").exists()  # checking creates nothing
    monkeypatch.setattr(tables_mod.os, "access", lambda *a, **k: False)
    with pytest.raises(OutputError, match="not writable"):
        prepare_out_dir(tmp_path / "c", overwrite=False)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_parent(tmp_path):  # pragma: no cover - CI runs as root
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="not writable"):
            prepare_out_dir(ro / "run", overwrite=False)
    finally:
        ro.chmod(0o700)


def test_refuses_to_replace_working_directory(run, tmp_path, monkeypatch):
    out = tmp_path / "r"
    write_run(out, **dict(_kw(run), boundaries=None))
    monkeypatch.chdir(out)
    with pytest.raises(OutputError, match="working directory"):
        prepare_out_dir(".", overwrite=True)


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
@pytest.mark.parametrize("where", ["write_csvs", "write_report"])
def test_failure_mid_write_leaves_nothing(run, tmp_path, monkeypatch, exc, where):
    def boom(*args, **kwargs):
        raise exc

    if where == "write_report":
        import siting.outputs.report as report_mod

        monkeypatch.setattr(report_mod, "write_report", boom)
    else:
        monkeypatch.setattr(tables_mod, where, boom)
    with pytest.raises(type(exc)):
        write_run(tmp_path / "r", **dict(_kw(run), boundaries=None))
    assert list(tmp_path.iterdir()) == []


def test_failure_during_overwrite_keeps_old_run(run, tmp_path, monkeypatch):
    out = tmp_path / "r"
    write_run(out, **dict(_kw(run), boundaries=None))
    before = (out / "summary.json").read_bytes()

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(tables_mod, "write_gpkg", boom)
    with pytest.raises(KeyboardInterrupt):
        write_run(out, **dict(_kw(run), boundaries=None), overwrite=True)
    assert (out / "summary.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


# --- contract -------------------------------------------------------------------------------------------------


def test_contract_violations_are_all_reported(run, tmp_path):
    summary, fac, asg, dem, _ = run
    bad_fac = fac.drop(columns=["handling_cost_cny"]).assign(tier_level=fac["tier_level"] + 0.5)
    bad_asg = asg.copy()
    bad_asg.loc[0, "to_id"] = "NOPE"
    bad_dem = dem.to_crs("EPSG:3857")
    with pytest.raises(FrameContractError) as info:
        write_run(tmp_path / "r", summary=summary, facilities=bad_fac, assignments=bad_asg, demand=bad_dem)
    text = str(info.value)
    assert "handling_cost_cny" in text
    assert "tier_level" in text
    assert "NOPE" in text
    assert "EPSG:4326" in text
    assert not isinstance(info.value, ValueError)  # a bug, not user input: the CLI must not hide it
    assert list(tmp_path.iterdir()) == []


def test_contract_geometry_and_types(run):
    _, fac, asg, dem, _ = run
    lines_as_points = asg.set_geometry(gpd.GeoSeries([Point(g.coords[0]) for g in asg.geometry], crs=asg.crs))
    dem2 = dem.assign(covered=dem["covered"].astype(object).where(dem.index > 3, None), weight=dem["weight"].astype(str))
    with pytest.raises(FrameContractError) as info:
        tables_mod.validate_frames(fac, lines_as_points, dem2)
    problems = info.value.problems
    assert any("LineString" in p for p in problems)
    assert any("demand.covered" in p for p in problems)
    assert any("demand.weight" in p for p in problems)
    with pytest.raises(FrameContractError, match="expected a GeoDataFrame"):
        tables_mod.validate_frames(pd.DataFrame(fac), asg, dem)


def test_summary_must_match_frames(run, tmp_path):
    summary, fac, asg, dem, _ = run
    wrong = dict(summary, facility_ids=summary["facility_ids"][:-1])
    with pytest.raises(FrameContractError, match="facility_ids"):
        write_run(tmp_path / "r", summary=wrong, facilities=fac, assignments=asg, demand=dem)
    missing = {k: v for k, v in summary.items() if k not in ("gap", "scenario", "model")}
    with pytest.raises(FrameContractError) as info:
        write_run(tmp_path / "r", summary=missing, facilities=fac, assignments=asg, demand=dem)
    assert "gap" in str(info.value) and "'model' or 'scenario'" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_no_solution_run(run, tmp_path):
    """A run without a solution still writes every file, with empty layers."""
    summary, fac, asg, dem, b = run
    dem0 = dem.assign(assigned_to=None, distance_km=np.nan, covered=False)
    summary0 = dict(summary, status="no_solution", termination="time_limit", objective=None, bound=None, gap=None,
                    facility_ids=[], counts_by_tier={}, cost_cny={})
    out = write_run(tmp_path / "r", summary=summary0, facilities=fac.iloc[:0], assignments=asg.iloc[:0], demand=dem0, boundaries=b)
    assert pyogrio.read_info(out / "solution.gpkg", layer="facilities")["features"] == 0
    assert pyogrio.read_info(out / "solution.gpkg", layer="demand")["features"] == len(dem)
    assert gpd.read_file(out / "solution.gpkg", layer="assignments").empty
    assert "no_solution" in (out / "report.html").read_text(encoding="utf-8")


def test_extra_columns_kept_and_int_tier_level_normalised(run, tmp_path):
    summary, fac, asg, dem, _ = run
    fac2 = fac.assign(tier_level=fac["tier_level"].astype("int64"), note="x", population=np.arange(len(fac)))
    out = write_run(tmp_path / "r", summary=summary, facilities=fac2, assignments=asg, demand=dem)
    info = pyogrio.read_info(out / "solution.gpkg", layer="facilities")
    dtypes = dict(zip(info["fields"], info["dtypes"], strict=True))
    assert dtypes["tier_level"] == "int32" and dtypes["note"] == "object" and "population" in dtypes


def test_unknown_map_option_is_a_programming_error(run, tmp_path):
    with pytest.raises(TypeError, match="map_options"):
        write_run(tmp_path / "r", **dict(_kw(run), boundaries=None), map_options={"colour": "red"})
    assert list(tmp_path.iterdir()) == []


def test_path_types(run, tmp_path):
    out = write_run(str(tmp_path / "s"), **dict(_kw(run), boundaries=None))
    assert isinstance(out, Path) and out.is_absolute()


def test_empty_layers_may_omit_columns(run, tmp_path):
    """A pipeline with no solution may hand empty GeoDataFrames without columns."""
    summary, _, _, dem, _ = run
    empty = gpd.GeoDataFrame(geometry=[], crs="EPSG:4326")
    summary0 = dict(summary, status="no_solution", objective=None, facility_ids=[], counts_by_tier={})
    out = write_run(tmp_path / "r", summary=summary0, facilities=empty, assignments=empty, demand=empty)
    info = pyogrio.read_info(out / "solution.gpkg", layer="facilities")
    assert info["features"] == 0 and "facility_id" in list(info["fields"])
    assert pyogrio.read_info(out / "solution.gpkg", layer="demand")["features"] == 0
