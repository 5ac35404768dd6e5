"""The bad-input corpus: every case under ``tests/data/bad/`` (indexed in ``index.csv``: case, the command line
after ``siting`` with ``{bad}`` for the corpus directory, expected message fragments separated by ``|``,
expected number of lines) exits 2 with one ``error:`` line per defect naming its file (or option, or
scenario key), no traceback, and nothing written.

Plus: GBK-encoded CSVs from Chinese sources are read correctly, and mutated valid files never escape as
anything but a clean :class:`~siting.core.errors.InputError`.
"""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from siting.cli import main
from siting.core.errors import DataError, InputError

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
CASES = list(csv.DictReader((BAD / "index.csv").open(encoding="utf-8")))


def _listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_corpus_is_large_and_readable():
    assert len(CASES) >= 110
    names = [c["case"] for c in CASES]
    assert len(set(names)) == len(names)
    for c in CASES:
        assert c["expect"].strip() and int(c["lines"]) >= 1, c["case"]
        for token in shlex.split(c["args"]):
            if token.startswith("{bad}/") and "no_such" not in token and "not_a_dir.txt/" not in token:
                assert (BAD / token.removeprefix("{bad}/")).exists(), (c["case"], token)


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_bad_input(case, tmp_path, monkeypatch, capfd):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)  # a default output directory would appear here
    out = tmp_path / "out"
    args = shlex.split(case["args"].replace("{bad}", str(BAD)))
    if "--out" not in args and args[0] in ("locate", "run"):
        args += ["--out", str(out)]
    before = _listing(BAD)
    rc = main(args)
    err = capfd.readouterr().err
    lines = [line for line in err.strip().splitlines() if line.startswith("error: ")]  # (run logs progress too)
    assert rc == 2, err
    assert "Traceback" not in err
    assert len(lines) == int(case["lines"]), err
    notes = [line for line in err.strip().splitlines() if line.startswith("note: ")]
    if args[0] == "locate":  # no progress output: every line is an error line (or the note of a long report)
        assert len(err.strip().splitlines()) == len(lines) + len(notes), err
    for fragment in case["expect"].split("|"):
        assert any(fragment in line for line in lines), f"{fragment!r} not in:\n{err}"
    files = {Path(a).name for a in args if "/" in a or a.startswith(("chongqing", "nope"))} | {"data/example"}
    for line in lines:
        assert any(f in line for f in files) or "--" in line, f"names no file or option: {line}"
    # nothing written: no output directory, no temporary directory, no default maps/, corpus untouched; a long
    # report (more than MAX_LINES problems) leaves only its full list, next to the output directory
    assert len(notes) <= 1
    for note in notes:
        listed = out.parent / "out.errors.csv"
        assert f"the full list is in {listed}" in note, note
        listed.unlink()
    assert not out.exists()
    assert not list(tmp_path.glob(".out*"))
    assert not list(work.iterdir())
    assert _listing(BAD) == before


# --- GBK ----------------------------------------------------------------------------------------------------


@pytest.mark.solver
def test_gbk_csv_from_chinese_sources_is_read(tmp_path, capfd):
    demand = pd.read_csv(BAD / "demand.csv")
    sites = pd.read_csv(BAD / "sites.csv")
    demand.to_csv(tmp_path / "demand_gbk.csv", index=False, encoding="gbk")
    sites.rename(columns={"name": "名称", "lon": "经度", "lat": "纬度"}).to_csv(
        tmp_path / "sites_gbk.csv", index=False, encoding="gb18030")
    assert "镇0".encode("gbk") in (tmp_path / "demand_gbk.csv").read_bytes()  # really GBK, not UTF-8
    out = tmp_path / "run"
    rc = main(["locate", "p-median", "--demand", str(tmp_path / "demand_gbk.csv"), "--candidates",
               str(tmp_path / "sites_gbk.csv"), "--p", "2", "--weight", "pop", "--out", str(out)])
    assert rc == 0, capfd.readouterr().err
    fac = pd.read_csv(out / "facilities.csv", encoding="utf-8-sig")
    assert all(name.startswith("园区") for name in fac["name"])
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["coverage"]["demand_total"] == pytest.approx(demand["pop"].sum())


def test_gcj02_detection_is_quiet_on_wgs84_and_on_declared_gcj02(tmp_path):
    from siting.geo.points import read_points

    gcj = pd.read_csv(BAD / "demand_gcj02_as_wgs84.csv")
    with pytest.raises(DataError, match="GCJ-02"):
        read_points(BAD / "demand_gcj02_as_wgs84.csv")
    # declared as GCJ-02 (column suffix or coord_system): converted, no complaint, now at the WGS84 seats
    gcj.rename(columns={"lon": "lon_gcj02", "lat": "lat_gcj02"}).to_csv(tmp_path / "g.csv", index=False)
    pts = read_points(tmp_path / "g.csv")
    seats = pd.read_csv(Path(__file__).resolve().parents[2] / "data" / "geo" / "districts.csv").iloc[:20]
    assert np.allclose(pts["lon"], seats["seat_lon_wgs84"], atol=2e-5)
    assert len(read_points(BAD / "demand_gcj02_as_wgs84.csv", coord_system="gcj02")) == 20
    # the same places in WGS84: accepted
    seats[["adcode", "seat_lon_wgs84", "seat_lat_wgs84"]].set_axis(["id", "lon", "lat"], axis=1).to_csv(
        tmp_path / "w.csv", index=False)
    assert len(read_points(tmp_path / "w.csv")) == 20


# --- mutations of valid files never escape as another exception ----------------------------------------------


def _mutations():
    text = (BAD / "demand.csv").read_text(encoding="utf-8").splitlines()
    header, rows = text[0], text[1:]
    cols = header.split(",")
    yield "valid", text
    for k, c in enumerate(cols):
        yield f"drop column {c}", [",".join(x for i, x in enumerate(line.split(",")) if i != k) for line in text]
        yield f"NaN in {c}", [header] + [",".join("NaN" if (i == k and r == 3) else x
                                                   for i, x in enumerate(line.split(",")))
                                          for r, line in enumerate(rows)]
    yield "swap lon/lat", [header.replace("lon", "tmp").replace("lat", "lon").replace("tmp", "lat")] + rows
    yield "duplicate id", text + [rows[0]]
    yield "garbage line", text[:4] + ["@@@ ### not,a,row,at,all,really"] + text[4:]
    yield "truncated", text[:3] + [rows[3][:7]]
    yield "only garbage", ["\x00\x01 garbage ☃"]


@pytest.mark.parametrize("name,lines", list(_mutations()), ids=[m[0] for m in _mutations()])
def test_mutated_demand_file_is_accepted_or_rejected_cleanly(name, lines, tmp_path):
    from siting.geo.points import read_points

    p = tmp_path / "demand.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        pts = read_points(p, weight_col="pop" if "pop" in lines[0] else None)
    except InputError as exc:
        assert exc.lines() and all("\n" not in line and line.strip() for line in exc.lines())
        assert all(str(p) in line for line in exc.lines()), exc.lines()
    else:
        assert len(pts) >= 1 and pts.crs.to_epsg() == 4326
        assert np.isfinite(pts["lon"]).all() and np.isfinite(pts["weight"]).all()
