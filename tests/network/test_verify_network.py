"""The independent multi-tier verifier accepts solver solutions and rejects every kind of tampering."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from network_cases import OPTS, random_network  # noqa: E402

from siting.core.network import CountRule, Gateway, NetworkProblem, Tier  # noqa: E402
from siting.pipeline.run import solve_network  # noqa: E402
from siting.network.verify import verify_network  # noqa: E402


def _with(obj, **changes):
    return type(obj)(**{**{k: getattr(obj, k) for k in obj.__dataclass_fields__}, **changes})


@pytest.fixture(scope="module")
def solved():
    p = random_network(21, counts=[CountRule(1, "==", 1, by="g", groups=("G0", "G1"))])
    r = solve_network(p, options=OPTS)
    assert verify_network(p, r).ok
    return p, r


def _tamper(r, tier, *, open_=None, used=None, flow=None):
    o = [a.copy() for a in r.open]
    u = [a.copy() for a in r.link_used]
    f = [a.copy() for a in r.link_flow]
    if open_ is not None:
        o[tier] = open_(o[tier])
    if used is not None:
        u[tier] = used(u[tier])
    if flow is not None:
        f[tier] = flow(f[tier])
    return replace(r, open=tuple(o), link_used=tuple(u), link_flow=tuple(f))


@pytest.mark.solver
def test_accepts_solver_solution(solved):
    p, r = solved
    check = verify_network(p, r)
    assert check.ok and check.violations == []
    assert check.objective_recomputed == pytest.approx(r.info.objective, rel=1e-9)
    assert set(check.costs) == {"t0", "t1", "t2"}


@pytest.mark.solver
def test_rejects_wrong_objective(solved):
    p, r = solved
    bad = replace(r, info=replace(r.info, objective=r.info.objective * 0.99))
    assert any(v.startswith("objective") for v in verify_network(p, bad).violations)


@pytest.mark.solver
def test_rejects_unserved_and_double_served_demand(solved):
    p, r = solved
    T = p.n_tiers
    lk = p.links[T - 1]
    l = int(np.flatnonzero(r.link_used[T - 1])[0])
    i = lk.child[l]
    bad = _tamper(r, T - 1, used=lambda u: np.where(np.arange(len(u)) == l, False, u),
                  flow=lambda f: np.where(np.arange(len(f)) == l, 0.0, f))
    v = verify_network(p, bad).violations
    assert any("demand not fully served" in s for s in v)
    # a second link for the same demand point, to another open facility
    others = np.flatnonzero((lk.child == i) & ~r.link_used[T - 1] & r.open[T - 1][lk.parent])
    if len(others):
        o = int(others[0])
        bad = _tamper(r, T - 1, used=lambda u: np.where(np.arange(len(u)) == o, True, u))
        v = verify_network(p, bad).violations
        assert any("single sourcing" in s for s in v)


@pytest.mark.solver
def test_rejects_link_to_closed_facility_and_broken_conservation(solved):
    p, r = solved
    # close an open top-tier facility that has children
    used0 = r.link_used[0]
    k = int(p.links[0].parent[np.flatnonzero(used0)[0]])
    bad = _tamper(r, 0, open_=lambda o: np.where(np.arange(len(o)) == k, False, o))
    v = verify_network(p, bad).violations
    assert any("closed facility" in s for s in v)
    # send a different volume up than came in
    l = int(np.flatnonzero(used0)[0])
    bad = _tamper(r, 0, flow=lambda f: np.where(np.arange(len(f)) == l, f * 0.5, f))
    v = verify_network(p, bad).violations
    assert any("flow conservation" in s for s in v)


@pytest.mark.solver
def test_rejects_orphan_facility_and_count_violation(solved):
    p, r = solved
    # open an extra middle-tier facility with no parent: hierarchy and the per-group count both break
    closed = np.flatnonzero(~r.open[1])
    j = int(closed[0])
    bad = _tamper(r, 1, open_=lambda o: np.where(np.arange(len(o)) == j, True, o))
    v = verify_network(p, bad).violations
    assert any("without exactly one t0" in s for s in v)
    assert any(s.startswith("count (exactly 1 t1 per g)") for s in v)


@pytest.mark.solver
def test_rejects_radius_same_group_capacity_required_forbidden_budget_gateway(solved):
    p, r = solved
    T = p.n_tiers
    used_d = p.links[T - 1].distance_km[r.link_used[T - 1]]
    tiers = list(p.tiers)
    tiers[T - 1] = _with(tiers[T - 1], radius_km=float(used_d.max()) / 2, link_same="g")
    vol = np.bincount(p.links[1].parent, weights=r.link_flow[1], minlength=tiers[1].size)
    tiers[1] = _with(tiers[1], capacity=np.where(vol > 0, vol / 2, np.inf))
    closed0 = ~r.open[0]
    tiers[0] = _with(tiers[0], required=closed0, forbidden=r.open[0],
                     gateway=Gateway(ids=["gw"], lon=[50.0], lat=[50.0], radius_km=1.0))
    # demand groups for the same-group rule (all demand in one group, candidates in two)
    p2 = _with(p, tiers=tuple(tiers), budget_cny=r.info.objective / 2,
               demand_groups={"g": ["G0"] * p.n_demand})
    v = verify_network(p2, r).violations
    text = "\n".join(v)
    assert "link longer than the radius" in text
    assert "link across groups" in text
    assert "over capacity" in text
    assert "required site not open" in text
    assert "forbidden site open" in text
    assert "too far from every gateway" in text
    assert "budget:" in text


@pytest.mark.solver
def test_rejects_colocation_when_off():
    p = random_network(6, sizes=(3, 4), radius=(90.0, 60.0), colocation=True, n_demand=6)
    r = solve_network(p, options=OPTS)
    # same site keys across tiers: open s0 in both tiers
    o0 = np.zeros(3, bool)
    o0[0] = True
    o1 = r.open[1].copy()
    o1[0] = True
    p_off = _with(p, colocation=False)
    bad = replace(r, open=(o0, o1))
    v = verify_network(p_off, bad).violations
    assert any(s.startswith("co-location") for s in v)


def test_no_solution_is_not_ok():
    from siting.core.network import NetworkResult
    from siting.core.results import SolutionStatus, SolveInfo, TerminationCondition

    p = random_network(1)
    info = SolveInfo(TerminationCondition.TIME_LIMIT, SolutionStatus.NO_SOLUTION)
    check = verify_network(p, NetworkResult(name="x", info=info))
    assert not check.ok and check.violations == ["no solution to verify"]
    assert math.isnan(check.objective_recomputed)
    assert isinstance(p, NetworkProblem) and isinstance(p.tiers[0], Tier)


@pytest.mark.solver
def test_gateway_access_is_checked_on_the_measured_road_km_and_minutes(tmp_path):
    # the hub H and the gateway G are 20 km apart in a straight line but 33 road km and about 100 min apart over
    # the bridge: the verifier decides gateway access on the pairs the build measured, as the build does, so a
    # limit of 25 km (or 90 min) that the open hub breaks is flagged even though 20 km x the smallest factor
    # (1 with a road network) would pass
    from roads_cases import river_case

    from siting.scenario import build_problem, load_scenario

    case = river_case(tmp_path, network=True, hub=True)
    (tmp_path / "gw.csv").write_text("id,name,lon,lat\nG,Port,110.20,29.93\n", encoding="utf-8")
    case.write_text(case.read_text(encoding="utf-8").replace(
        "fixed_cost_cny_per_year = 1\n",
        'fixed_cost_cny_per_year = 1\ngateway = { source = "gw.csv", radius_km = 100, radius_min = 600 }\n'),
        encoding="utf-8")
    p = build_problem(load_scenario(case))
    r = solve_network(p, options=OPTS)
    assert verify_network(p, r).ok and r.open[0].tolist() == [True]
    hub = p.tiers[0]
    gw = hub.gateway
    assert gw.access is not None and gw.access.child.tolist() == [0] and gw.access.parent.tolist() == [0]
    road_km, road_min = float(gw.access.distance_km[0]), float(gw.access.time_min[0])
    straight_km = float(np.hypot((110.20 - 110.03) * 96.3, (30.03 - 29.93) * 111.2))
    assert straight_km * gw.circuity < 25.0 < road_km and road_min > 90.0

    def verdict(**limits):
        tiers = (_with(hub, gateway=_with(gw, **limits)),) + p.tiers[1:]
        return verify_network(_with(p, tiers=tiers), r).violations

    assert verdict(radius_km=25.0) == ["tier hub gateway 25 km / 600 min: open site too far from every gateway: H"]
    assert verdict(radius_min=90.0) == ["tier hub gateway 100 km / 90 min: open site too far from every gateway: H"]
    assert verdict(radius_km=road_km + 0.1, radius_min=road_min + 0.1) == []
    # without measured pairs only km from coordinates can be checked: the minutes limit is reported, not passed
    assert verdict(access=None) == ["tier hub gateway 100 km / 600 min: no measured site-gateway times, the minutes "
                                    "limit cannot be checked"]
