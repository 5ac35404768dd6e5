"""``siting locate`` on a user's GeoPackage and CSV files, and its handling of bad input."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest

from siting.geo.adapt import problem_from_geodataframes
from siting.cli import main
from siting.pipeline.locate import locate

import siting.geo  # noqa: F401


def _tables(seed=2, n=14, m=6):
    rng = np.random.default_rng(seed)
    demand = pd.DataFrame({
        "code": [f"t{i:02d}" for i in range(n)],
        "name": [f"镇{i}" for i in range(n)],
        "lon": (106.2 + rng.uniform(0, 0.8, n)).round(5),
        "lat": (29.2 + rng.uniform(0, 0.6, n)).round(5),
        "pop": rng.integers(200, 3000, n),
    })
    cand = pd.DataFrame({
        "code": [f"S{j}" for j in range(m)],
        "name": [f"园区{j}" for j in range(m)],
        "lon": (106.2 + rng.uniform(0, 0.8, m)).round(5),
        "lat": (29.2 + rng.uniform(0, 0.6, m)).round(5),
        "cost": rng.uniform(1e6, 3e6, m).round(),
        "cap": rng.uniform(6000, 12000, m).round(),
        "existing": [True] + [False] * (m - 1),
    })
    return demand, cand


def _gdf(df):
    return gpd.GeoDataFrame(df.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326)


@pytest.mark.solver
def test_geopackage_p_median(tmp_path, capfd):
    demand, cand = _tables()
    _gdf(demand).to_file(tmp_path / "demand.gpkg", layer="demand")
    _gdf(cand).to_crs(32648).to_file(tmp_path / "sites.gpkg", layer="sites")  # projected: converted on read
    out = tmp_path / "run"
    rc = main(["locate", "p-median", "--demand", str(tmp_path / "demand.gpkg"), "--candidates",
               str(tmp_path / "sites.gpkg"), "--p", "2", "--weight", "pop", "--id", "code", "--circuity", "1.3",
               "--out", str(out)])
    text = capfd.readouterr()
    assert rc == 0, text.err
    assert "p-median: optimal" in text.out and "verified" in text.out
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["model"] == "p-median" and summary["status"] == "optimal" and summary["gap"] <= 1e-6
    layers = {name for name, _ in pyogrio.list_layers(out / "solution.gpkg")}
    assert {"facilities", "assignments", "demand"} <= layers
    fac = gpd.read_file(out / "solution.gpkg", layer="facilities")
    asg = gpd.read_file(out / "solution.gpkg", layer="assignments")
    assert sorted(fac.facility_id) == sorted(summary["facility_ids"]) and len(fac) == 2
    assert len(asg) == len(demand) and set(asg.to_id) <= set(fac.facility_id)
    assert (out / "map.html").is_file()
    # the same answer as the library on the same data
    problem = problem_from_geodataframes(_gdf(demand), _gdf(cand), demand_id="code", candidate_id="code",
                                        weight="pop", circuity=1.3)
    direct = locate(problem, "p-median", p=2)
    assert summary["objective"] == pytest.approx(direct.objective, rel=1e-6)
    assert asg.volume.sum() == pytest.approx(demand["pop"].sum())


@pytest.mark.solver
def test_csv_cflp_with_required_budget_and_od_matrix(tmp_path, capfd):
    demand, cand = _tables(seed=3)
    demand.to_csv(tmp_path / "demand.csv", index=False)
    cand.to_csv(tmp_path / "sites.csv", index=False)
    out = tmp_path / "cflp"
    args = ["locate", "cflp-ss", "--demand", str(tmp_path / "demand.csv"), "--candidates", str(tmp_path / "sites.csv"),
            "--weight", "pop", "--id", "code", "--fixed-cost", "cost", "--capacity", "cap", "--required", "existing",
            "--budget-cny", "9e6", "--cost-per-unit-km", "2", "--out", str(out)]
    rc = main(args)
    err = capfd.readouterr().err
    assert rc == 0, err
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert "S0" in summary["facility_ids"]
    assert summary["cost_cny"]["facility"]["fixed"] <= 9e6
    assert summary["verification"]["ok"]
    fac = gpd.read_file(out / "solution.gpkg", layer="facilities")
    assert (fac.volume <= fac.capacity + 1e-6).all()
    # an OD matrix replaces the great-circle distances; unlisted pairs are not allowed
    rows = [(d, s, 10.0 + k) for k, (d, s) in enumerate((d, s) for d in demand.code for s in cand.code)
            if not (d == "t00" and s != "S1")]
    pd.DataFrame(rows, columns=["from_id", "to_id", "distance_km"]).to_csv(tmp_path / "od.csv", index=False)
    out2 = tmp_path / "uflp"
    rc = main(["locate", "uflp", "--demand", str(tmp_path / "demand.csv"), "--candidates", str(tmp_path / "sites.csv"),
               "--weight", "pop", "--id", "code", "--fixed-cost", "cost", "--od-matrix", str(tmp_path / "od.csv"),
               "--out", str(out2)])
    assert rc == 0, capfd.readouterr().err
    asg = gpd.read_file(out2 / "solution.gpkg", layer="assignments")
    od = {(a, b): c for a, b, c in rows}
    assert all(od[(a, b)] == pytest.approx(c) for a, b, c in zip(asg.from_id, asg.to_id, asg.distance_km))
    assert set(asg.loc[asg.from_id == "t00", "to_id"]) == {"S1"}


def test_bad_input_one_line_each_and_nothing_written(tmp_path, capfd):
    demand, cand = _tables()
    demand = demand.astype({"lon": object, "pop": object})
    demand.loc[3, "lon"] = "east"
    demand.loc[5, "pop"] = -7
    demand.to_csv(tmp_path / "demand.csv", index=False)
    cand.to_csv(tmp_path / "sites.csv", index=False)
    out = tmp_path / "never"
    rc = main(["locate", "mclp", "--demand", str(tmp_path / "demand.csv"), "--candidates", str(tmp_path / "sites.csv"),
               "--weight", "pop", "--p", "2", "--out", str(out)])
    err = capfd.readouterr().err.strip().splitlines()
    assert rc == 2
    assert any("--radius-km" in line for line in err)
    assert any("demand.csv" in line and "row 4" in line and "lon" in line for line in err)
    assert any("demand.csv" in line and "row 6" in line and "pop" in line for line in err)
    assert all(line.startswith("error: ") for line in err) and "Traceback" not in "".join(err)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]


@pytest.mark.solver
def test_infeasible_and_option_errors_exit_2(tmp_path, capfd):
    demand, cand = _tables()
    demand.to_csv(tmp_path / "demand.csv", index=False)
    cand.to_csv(tmp_path / "sites.csv", index=False)
    base = ["locate", "--demand", str(tmp_path / "demand.csv"), "--candidates", str(tmp_path / "sites.csv"),
            "--id", "code", "--weight", "pop"]
    out = tmp_path / "out"
    # p-median without --p, cflp without --capacity, budget without fixed cost: one line each
    assert main(base[:1] + ["p-median"] + base[1:] + ["--budget-cny", "5", "--out", str(out)]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 2 and any("needs --p" in e for e in err) and any("--fixed-cost" in e for e in err)
    # demand beyond the cutoff of every site: the precheck names it
    assert main(base[:1] + ["p-median"] + base[1:] + ["--p", "2", "--max-distance-km", "3", "--out", str(out)]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no allowed candidate site within the cutoff 3 km" in err[0] and "t0" in err[0]
    # p above the number of sites
    assert main(base[:1] + ["p-center"] + base[1:] + ["--p", "9", "--out", str(out)]) == 2
    assert "p = 9 but only 6 candidate sites can open" in capfd.readouterr().err
    assert not out.exists()
    # an existing, non-empty output directory is refused before solving
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(base[:1] + ["p-median"] + base[1:] + ["--p", "2", "--out", str(out)]) == 2
    assert (out / "keep.txt").read_text() == "mine" and len(list(out.iterdir())) == 1


@pytest.mark.solver
def test_time_limit_without_incumbent_writes_nothing(tmp_path, capfd):
    rng = np.random.default_rng(3)
    pts = pd.DataFrame({"id": [f"p{i}" for i in range(120)], "lon": 106 + rng.uniform(0, 1, 120),
                        "lat": 29 + rng.uniform(0, 1, 120)})
    pts.to_csv(tmp_path / "pts.csv", index=False)
    out = tmp_path / "tl"
    rc = main(["locate", "p-center", "--demand", str(tmp_path / "pts.csv"), "--candidates", str(tmp_path / "pts.csv"),
               "--p", "8", "--time-limit", "0.001", "--threads", "1", "--out", str(out)])
    text = capfd.readouterr()
    if rc == 3:  # no incumbent within the limit
        assert "no solution" in text.err and "nothing was written" in text.err
        assert not out.exists()
    else:  # a machine fast enough to find an incumbent: it is reported as such and verified
        assert rc == 0, text.err
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert summary["status"] in ("feasible", "optimal") and summary["verification"]["ok"]
