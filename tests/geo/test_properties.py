"""Property-based tests (hypothesis): random small instances of every single-level model agree with
brute-force enumeration and pass the verifier; random edits of valid input files are either accepted or
rejected with a clean :class:`~siting.core.errors.InputError`, never another exception.

Budgets: ``max_examples`` is small and ``deadline=None``; the whole file runs in well under a minute.
"""

from __future__ import annotations

import importlib
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from siting.core.errors import InfeasibleError, InputError
from siting.pipeline.locate import locate
from siting.core.problem import Problem
from siting.core.results import SolutionStatus
from siting.core.options import SolverOptions
from siting.single.verify import verify

OPTIONS = SolverOptions(mip_rel_gap=1e-9, threads=1)
FAST = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


@st.composite
def instances(draw, *, max_n=6, max_m=5, capacities=False):
    n = draw(st.integers(2, max_n))
    m = draw(st.integers(2, max_m))
    pts = st.tuples(st.integers(0, 40), st.integers(0, 40))
    a = np.array(draw(st.lists(pts, min_size=n, max_size=n)), float)
    b = np.array(draw(st.lists(pts, min_size=m, max_size=m)), float)
    d = np.hypot(*(a[:, None, :] - b[None, :, :]).transpose(2, 0, 1)).round(3)
    holes = np.array(draw(st.lists(st.booleans(), min_size=n * m, max_size=n * m))).reshape(n, m)
    if draw(st.booleans()):
        d[holes & (d > 10)] = np.inf  # some pairs not allowed (as beyond an OD matrix)
    w = np.array(draw(st.lists(st.integers(1, 9), min_size=n, max_size=n)), float)
    f = np.array(draw(st.lists(st.integers(10, 90), min_size=m, max_size=m)), float)
    cap = np.array(draw(st.lists(st.integers(5, 25), min_size=m, max_size=m)), float) if capacities else None
    req = np.zeros(m, bool)
    forb = np.zeros(m, bool)
    role = draw(st.sampled_from(["none", "required", "forbidden"]))
    if role != "none":
        (req if role == "required" else forb)[draw(st.integers(0, m - 1))] = True
    return Problem.from_cost_matrix(d, weights=w, fixed_cost_cny=f, capacity=cap, required=req, forbidden=forb)


def _subsets(pr: Problem, size: int | None = None):
    m = pr.n_candidates
    sizes = range(1, m + 1) if size is None else [size]
    for k in sizes:
        for s in itertools.combinations(range(m), k):
            s = np.array(s)
            if pr.forbidden[s].any() or not pr.required[np.setdiff1d(np.arange(m), s)].sum() == 0:
                continue
            yield s


def _dense(pr: Problem) -> np.ndarray:
    d = np.full((pr.n_demand, pr.n_candidates), np.inf)
    d[pr.pair_demand, pr.pair_candidate] = pr.distance_km
    return d


def brute(pr: Problem, model: str, **prm) -> float | None:
    """The optimum by enumeration (``None``: infeasible); shares no code with siting."""
    d, w, f = _dense(pr), pr.weight, pr.fixed_cost_cny
    best = None
    sense = max if model in ("mclp", "attendance", "lscp-b") else min

    def keep(v):
        nonlocal best
        if v is not None and math.isfinite(v):
            best = v if best is None else sense(best, v)

    p = prm.get("p")
    if model == "lscp-b":
        p = brute(pr, "lscp", radius_km=prm["radius_km"])
        if p is None:
            return None
        p = int(round(p))
    for s in _subsets(pr, p if model in ("p-median", "p-center", "mclp", "attendance", "lscp-b") else None):
        near = d[:, s].min(axis=1)
        if model == "p-median":
            keep(float(w @ near) if np.isfinite(near).all() else None)
        elif model == "p-center":
            keep(float(near.max()) if np.isfinite(near).all() else None)
        elif model == "lscp":
            keep(float(len(s)) if (d[:, s] <= prm["radius_km"]).any(axis=1).all() else None)
        elif model == "lscp-b":
            cov = (d[:, s] <= prm["radius_km"]).sum(axis=1)
            keep(float(w[cov >= 2].sum()) if (cov >= 1).all() else None)
        elif model == "mclp":
            keep(float(w[(d[:, s] <= prm["radius_km"]).any(axis=1)].sum()))
        elif model == "attendance":
            g = np.where(np.isfinite(d[:, s]), 1.0 / np.maximum(d[:, s], 1.0), 0.0)  # power decay, beta 1
            keep(float(w @ g.max(axis=1)))
        elif model == "uflp":
            keep(float(f[s].sum() + w @ near) if np.isfinite(near).all() else None)
        elif model == "cflp":  # transportation LP on the open set
            ds = d[:, s]
            ok = np.isfinite(ds)
            if not ok.any(axis=1).all() or pr.capacity[s].sum() < w.sum():
                continue
            cost = np.where(ok, ds, 0.0) * w[:, None]
            n, k = ds.shape
            a_eq = np.kron(np.eye(n), np.ones(k))
            a_ub = np.kron(np.ones(n), np.eye(k)) * np.repeat(w, k)[None, :]
            bounds = [(0, 1 if o else 0) for o in ok.ravel()]
            r = linprog(cost.ravel(), A_ub=a_ub, b_ub=pr.capacity[s], A_eq=a_eq, b_eq=np.ones(n), bounds=bounds)
            keep(float(f[s].sum() + r.fun) if r.status == 0 else None)
        elif model == "cflp-ss":
            ds = d[:, s]
            for choice in itertools.product(range(len(s)), repeat=pr.n_demand):
                c = np.array(choice)
                dd = ds[np.arange(pr.n_demand), c]
                if np.isfinite(dd).all() and (np.bincount(c, weights=w, minlength=len(s)) <= pr.capacity[s]).all():
                    keep(float(f[s].sum() + w @ dd))
    return best


def _check(pr: Problem, model: str, **prm) -> None:
    want = brute(pr, model, **prm)
    try:
        res = locate(pr, model, options=OPTIONS, **prm)
    except InfeasibleError:
        assert want is None, f"siting says infeasible, brute force finds {want}"
        return
    assert want is not None, f"siting found {res.objective}, brute force says infeasible"
    assert res.info.status is SolutionStatus.OPTIMAL
    assert res.objective == pytest.approx(want, rel=1e-6, abs=1e-6)
    v = verify(pr, res)
    assert v.ok, v.problems
    assert v.objective == pytest.approx(want, rel=1e-6, abs=1e-6)


pytestmark = pytest.mark.solver


@FAST
@given(pr=instances(), p=st.integers(1, 3))
def test_p_median(pr, p):
    _check(pr, "p-median", p=min(p, pr.n_candidates))


@FAST
@given(pr=instances(), p=st.integers(1, 3))
def test_p_center(pr, p):
    _check(pr, "p-center", p=min(p, pr.n_candidates))


@FAST
@given(pr=instances(), r=st.integers(8, 40))
def test_lscp(pr, r):
    _check(pr, "lscp", radius_km=float(r))


@FAST
@given(pr=instances(), r=st.integers(10, 40))
def test_lscp_b(pr, r):
    _check(pr, "lscp-b", radius_km=float(r))


@FAST
@given(pr=instances(), p=st.integers(1, 3), r=st.integers(5, 30))
def test_mclp(pr, p, r):
    _check(pr, "mclp", p=min(p, pr.n_candidates), radius_km=float(r))


@FAST
@given(pr=instances(), p=st.integers(1, 3))
def test_attendance(pr, p):
    _check(pr, "attendance", p=min(p, pr.n_candidates), decay="power:1")


@FAST
@given(pr=instances())
def test_uflp(pr):
    _check(pr, "uflp")


@FAST
@given(pr=instances(capacities=True))
def test_cflp(pr):
    _check(pr, "cflp")


@FAST
@given(pr=instances(max_n=5, max_m=4, capacities=True))
def test_cflp_single_source(pr):
    _check(pr, "cflp-ss")


# --- random edits of valid files ------------------------------------------------------------------------------

VALID = pd.DataFrame({"id": ["a", "b", "c", "d"], "name": ["甲", "乙", "丙", "丁"],
                      "lon": [106.5, 106.6, 106.7, 106.8], "lat": [29.5, 29.6, 29.4, 29.7], "pop": [10, 20, 30, 40]})
CELL = st.one_of(st.text(max_size=8), st.sampled_from(["", "NaN", "inf", "-1", "1e400", "181", "-91", "0x1F", "北纬"]),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr))


@st.composite
def edited_csv(draw):
    df = VALID.astype(str).copy()
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["cell", "drop", "dup", "rename", "swap"]))
        if what == "cell" and len(df):
            df.iat[draw(st.integers(0, len(df) - 1)), draw(st.integers(0, df.shape[1] - 1))] = draw(CELL)
        elif what == "drop" and df.shape[1] > 1:
            df = df.drop(columns=draw(st.sampled_from(list(df.columns))))
        elif what == "dup" and len(df):
            df = pd.concat([df, df.iloc[[draw(st.integers(0, len(df) - 1))]]], ignore_index=True)
        elif what == "rename" and df.shape[1]:
            df = df.rename(columns={draw(st.sampled_from(list(df.columns))): draw(st.text(max_size=6))})
        elif what == "swap" and {"lon", "lat"} <= set(df.columns):
            df = df.rename(columns={"lon": "lat", "lat": "lon"})
    text = df.to_csv(index=False)
    if draw(st.booleans()):
        lines = text.splitlines()
        k = draw(st.integers(0, len(lines)))
        lines.insert(k, draw(st.text(max_size=20)).replace("\r", " ").replace("\n", " "))
        text = "\n".join(lines)
    encoding = draw(st.sampled_from(["utf-8", "gb18030", "utf-8-sig"]))
    return text, encoding


@settings(max_examples=60, deadline=None, derandomize=True)
@given(case=edited_csv())
def test_edited_points_file_is_accepted_or_rejected_cleanly(case, tmp_path_factory):
    from siting.geo.points import read_points

    text, encoding = case
    path = tmp_path_factory.mktemp("edit") / "points.csv"
    try:
        path.write_bytes(text.encode(encoding))
    except UnicodeEncodeError:
        path.write_bytes(text.encode("utf-8"))
    try:
        pts = read_points(path)
    except InputError as exc:
        assert exc.lines() and all(line.strip() and "\n" not in line for line in exc.lines())
        assert all(str(path) in line for line in exc.lines())
        return
    assert len(pts) >= 1 and np.isfinite(pts[["lon", "lat", "weight"]].to_numpy(float)).all()
    assert pts["id"].is_unique and (pts["weight"] >= 0).all()
    assert pts["lon"].between(-180, 180).all() and pts["lat"].between(-90, 90).all()


@st.composite
def edited_od(draw):
    rows = [[f"d{i}", f"s{j}", f"{(i + 1) * (j + 2) * 1.5:.3f}", f"{(i + j) * 3}"] for i in range(3) for j in range(2)]
    df = pd.DataFrame(rows, columns=["from_id", "to_id", "distance_km", "time_min"])
    for _ in range(draw(st.integers(1, 3))):
        what = draw(st.sampled_from(["cell", "drop", "dup", "delete"]))
        if what == "cell" and len(df):
            df.iat[draw(st.integers(0, len(df) - 1)), draw(st.integers(0, 3 if df.shape[1] > 3 else df.shape[1] - 1))] = \
                draw(CELL)
        elif what == "drop" and df.shape[1] > 1:
            df = df.drop(columns=draw(st.sampled_from(list(df.columns))))
        elif what == "dup" and len(df):
            df = pd.concat([df, df.iloc[[draw(st.integers(0, len(df) - 1))]]], ignore_index=True)
        elif what == "delete" and len(df):
            df = df.drop(index=df.index[draw(st.integers(0, len(df) - 1))])
    return df.to_csv(index=False)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(text=edited_od())
def test_edited_od_matrix_is_accepted_or_rejected_cleanly(text, tmp_path_factory):
    from siting.geo.od import read_od_matrix

    path = tmp_path_factory.mktemp("od") / "od.csv"
    path.write_text(text, encoding="utf-8")
    try:
        od = read_od_matrix(path)
    except InputError as exc:
        assert exc.lines() and all(str(path) in line for line in exc.lines())
        return
    assert np.isfinite(od.distance_km).all() and (od.distance_km >= 0).all()
    pairs = list(zip(od.from_id, od.to_id))
    assert len(set(pairs)) == len(pairs)


# --- random edits of a valid scenario -----------------------------------------------------------------------

EXAMPLE = __import__("pathlib").Path(__file__).resolve().parents[2] / "models" / "example.toml"
TOML_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                        st.text(max_size=10), st.lists(st.integers(-5, 50), max_size=3),
                        st.dictionaries(st.sampled_from(["by", "exactly", "at_least", "path", "x"]),
                                        st.one_of(st.integers(-3, 9), st.text(max_size=5)), max_size=2))


def _paths(d, prefix=()):
    for k, v in d.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from _paths(v, prefix + (k,))


@st.composite
def edited_scenario(draw):
    import copy
    import tomllib

    raw = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    raw = copy.deepcopy(raw)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(raw))
        path = draw(st.sampled_from(paths))
        parent = raw
        for k in path[:-1]:
            parent = parent[k]
        what = draw(st.sampled_from(["set", "delete", "add", "rename"]))
        if what == "delete":
            del parent[path[-1]]
        elif what == "set":
            value = draw(TOML_VALUES)
            if value is None:
                del parent[path[-1]]
            else:
                parent[path[-1]] = value
        elif what == "add":
            parent[draw(st.text(min_size=1, max_size=8))] = draw(TOML_VALUES.filter(lambda v: v is not None))
        else:
            parent[path[-1] + draw(st.sampled_from(["s", "_x", "2"]))] = parent.pop(path[-1])
    return raw


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(raw=edited_scenario())
def test_edited_scenario_is_accepted_or_rejected_cleanly(raw):
    scenario = importlib.import_module("siting.scenario")
    try:
        scen = scenario.parse_scenario(raw, path=EXAMPLE, base_dir=EXAMPLE.parent)
        problem = scenario.build_problem(scen)
    except InputError as exc:
        assert exc.lines() and all(line.strip() and "\n" not in line for line in exc.lines())
        return
    assert problem.n_demand >= 1 and problem.n_tiers >= 1
