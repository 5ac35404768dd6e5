"""Users' point files as they come: Excel, UTF-16, semicolons, DMS, far points, bounds, unreadable files."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting.core.errors import DataError
from siting.core.limits import FAR_KM, MAX_WEIGHT
from siting.geo.adapt import far_point_defects, problem_from_files
from siting.geo.points import read_points

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"


def _demand() -> pd.DataFrame:
    return pd.read_csv(BAD / "demand.csv", dtype=str)


def test_xlsx_reads_like_the_csv(tmp_path):
    _demand().to_excel(tmp_path / "d.xlsx", index=False)
    a, b = read_points(BAD / "demand.csv"), read_points(tmp_path / "d.xlsx")
    assert list(a["id"]) == list(b["id"])
    assert np.allclose(a["lon"], b["lon"]) and np.allclose(a["weight"], b["weight"])
    assert b.attrs["row_offset"] == 2


def test_xlsx_rows_are_numbered_as_excel_shows_them(tmp_path):
    d = _demand()
    d.loc[0, "lon"] = "east"  # first data row = Excel row 2
    d.to_excel(tmp_path / "d.xlsx", index=False, sheet_name="towns")
    with pytest.raises(DataError, match=r"row 2, column 'lon': coordinate is not a number \('east'\)"):
        read_points(tmp_path / "d.xlsx")
    with pytest.raises(DataError, match="no sheet 'villages'"):
        read_points(tmp_path / "d.xlsx", layer="villages")


def test_utf16_and_semicolon_files_are_read(tmp_path):
    text = (BAD / "demand.csv").read_text(encoding="utf-8")
    (tmp_path / "u16.csv").write_bytes(text.replace(",", "\t").encode("utf-16"))
    (tmp_path / "semi.csv").write_text(text.replace(",", ";"), encoding="utf-8")
    ref = read_points(BAD / "demand.csv")
    for name in ("u16.csv", "semi.csv"):
        pts = read_points(tmp_path / name)
        assert list(pts["name"]) == list(ref["name"]) and np.allclose(pts["lat"], ref["lat"])


def test_dms_is_one_message_per_column_with_the_converted_value(tmp_path):
    with pytest.raises(DataError) as exc:
        read_points(BAD / "demand_dms.csv")
    lines = exc.value.lines()
    assert len(lines) == 2
    import re

    shown = float(re.search(r"= (\d+\.\d+)\)", lines[0]).group(1))  # 106°29'46.2"E = 106.496167
    assert abs(shown - float(_demand()["lon"][0])) < 1e-4  # the file's 106.49618


def test_thousands_separators_in_a_tab_file(tmp_path):
    d = _demand()
    d["pop"] = ["12,345"] * len(d)
    d.to_csv(tmp_path / "d.tsv", sep="\t", index=False)
    with pytest.raises(DataError) as exc:
        read_points(tmp_path / "d.tsv", weight_col="pop")
    assert exc.value.lines() == [f"{tmp_path / 'd.tsv'}, column 'pop': 10 values are written with thousands "
                                 "separators (e.g. '12,345'); remove the separators (12345) or save the file "
                                 "without number formatting"]


def test_weight_bound_is_cited(tmp_path):
    d = _demand()
    d.loc[3, "pop"] = str(MAX_WEIGHT * 10)
    d.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(DataError, match=r"row 4, column 'pop': weight 1e\+13 is above the bound 1e\+12 .*MAX_WEIGHT"):
        read_points(tmp_path / "d.csv")
    d.loc[3, "pop"] = str(MAX_WEIGHT)  # the bound itself is allowed
    d.to_csv(tmp_path / "d.csv", index=False)
    assert read_points(tmp_path / "d.csv")["weight"].max() == MAX_WEIGHT


def test_far_points_rule_and_its_threshold():
    dem = read_points(BAD / "demand.csv")
    cand = read_points(BAD / "sites.csv")
    assert far_point_defects(dem, cand, demand_file="d", candidates_file="c") == []
    moved = dem.copy()
    moved.loc[2, "lat"] = moved.loc[2, "lat"] + (FAR_KM + 60) / 111.2  # ~560 km north of its place
    found = far_point_defects(moved, cand, demand_file="d", candidates_file="c")
    assert [(f.file, f.row) for f in found] == [("d", 3)]
    near = dem.copy()
    near.loc[2, "lat"] = near.loc[2, "lat"] + (FAR_KM - 100) / 111.2  # 400 km: allowed
    assert far_point_defects(near, cand, demand_file="d", candidates_file="c") == []


def test_allow_far_accepts_the_point():
    with pytest.raises(DataError, match="--allow-far"):
        problem_from_files(str(BAD / "demand_paris.csv"), str(BAD / "sites.csv"))
    problem, dem, _ = problem_from_files(str(BAD / "demand_paris.csv"), str(BAD / "sites.csv"), allow_far=True)
    assert "paris" in set(dem["id"]) and problem.n_demand == 10


def test_crs_option_converts_gcj02_and_reads_projected_columns(tmp_path):
    gcj = read_points(BAD / "demand_gcj02_as_wgs84.csv", coord_system="gcj02")
    assert len(gcj) == 20
    pts = read_points(BAD / "demand.csv")
    utm = pts.to_crs("EPSG:32648")
    pd.DataFrame({"id": pts["id"], "easting": utm.geometry.x, "northing": utm.geometry.y}).to_csv(
        tmp_path / "utm.csv", index=False)
    back = read_points(tmp_path / "utm.csv", lon_col="easting", lat_col="northing", crs="EPSG:32648")
    assert np.allclose(back["lon"], pts["lon"], atol=1e-7) and np.allclose(back["lat"], pts["lat"], atol=1e-7)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_is_one_line(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text((BAD / "demand.csv").read_text(encoding="utf-8"), encoding="utf-8")
    p.chmod(0)
    try:
        with pytest.raises(DataError, match="permission denied"):
            read_points(p)
    finally:
        p.chmod(0o600)


def test_folder_and_empty_file_are_one_line(tmp_path):
    with pytest.raises(DataError, match="is a folder, not a file"):
        read_points(tmp_path)
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"the file is empty \(0 bytes\)"):
        read_points(tmp_path / "e.csv")
