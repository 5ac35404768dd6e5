"""Multi-tier model on tiny hierarchies, checked against brute-force enumeration."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from siting.core.errors import DataError, InfeasibleError
from siting.core.network import CountRule, Links, NetworkProblem, Tier
from siting.pipeline.run import solve_network
from siting.network.verify import verify_network

from network_cases import OPTS, random_network

def _count_ok(p: NetworkProblem, opened: list[np.ndarray]) -> bool:
    for rule in p.counts:
        o = opened[rule.tier]
        if rule.by is None:
            vals = [int(o.sum())]
        else:
            lab = p.tiers[rule.tier].groups[rule.by]
            vals = [int(np.sum(o & (lab == g))) for g in rule.groups]
        for v in vals:
            if not {"==": v == rule.value, ">=": v >= rule.value, "<=": v <= rule.value}[rule.sense]:
                return False
    return True


def brute_force_uncapacitated(p: NetworkProblem) -> float:
    """Enumerate every open set; for a fixed open set of an uncapacitated tree the best assignment is a
    top-down dynamic programme over per-unit path costs (each open facility picks its cheapest open parent,
    each demand its cheapest open bottom facility)."""
    T = p.n_tiers
    best = math.inf
    sets = [list(itertools.product([False, True], repeat=t.size)) for t in p.tiers]
    for combo in itertools.product(*sets):
        opened = [np.array(c, dtype=bool) for c in combo]
        if any(np.any(o & t.forbidden) or np.any(t.required & ~o) for o, t in zip(opened, p.tiers)):
            continue
        if not _count_ok(p, opened):
            continue
        if not p.colocation:
            keys = np.concatenate([t.site[o] for o, t in zip(opened, p.tiers)])
            if len(set(keys)) < len(keys):
                continue
        fixed = sum(float(t.fixed_cost_cny[o].sum()) for o, t in zip(opened, p.tiers))
        if fixed >= best:
            continue
        pc = np.zeros(p.tiers[0].size)  # per-unit cost from a tier-t facility to the top
        feasible = True
        for t in range(1, T):
            lk, tier = p.links[t - 1], p.tiers[t - 1]
            child = p.tiers[t]
            cost = np.full(child.size, np.inf)
            for l in range(len(lk)):
                j, k = lk.child[l], lk.parent[l]
                if opened[t - 1][k]:
                    c = tier.transport_cost_cny_per_unit_km * lk.distance_km[l] + tier.handling_cost_cny_per_unit[k] + pc[k]
                    cost[j] = min(cost[j], c)
            if np.any(opened[t] & ~np.isfinite(cost)):
                feasible = False
                break
            pc = cost
        if not feasible:
            continue
        lk, tier = p.links[T - 1], p.tiers[T - 1]
        dcost = np.full(p.n_demand, np.inf)
        for l in range(len(lk)):
            i, j = lk.child[l], lk.parent[l]
            if opened[T - 1][j]:
                c = tier.transport_cost_cny_per_unit_km * lk.distance_km[l] + tier.handling_cost_cny_per_unit[j] + pc[j]
                dcost[i] = min(dcost[i], c)
        if p.objective == "cost":
            if not np.all(np.isfinite(dcost)):
                continue
            total = fixed + float(np.sum(p.weight * dcost))
            best = min(best, total)
    return best


def brute_force_capacitated_two_tier(p: NetworkProblem) -> float:
    """Enumerate every single-sourcing assignment of demand to bottom facilities and of bottom facilities to
    top facilities (open = used; no lower count rules in these instances)."""
    assert p.n_tiers == 2 and not any(r.sense in ("==", ">=") for r in p.counts)
    top, bot = p.tiers
    l1, l0 = p.links[1], p.links[0]
    choices = [np.flatnonzero(l1.child == i) for i in range(p.n_demand)]
    best = math.inf
    for assign in itertools.product(*choices):
        assign = np.array(assign, dtype=np.int64)
        vol = np.bincount(l1.parent[assign], weights=p.weight, minlength=bot.size)
        if np.any(vol > bot.capacity + 1e-9):
            continue
        used_b = np.flatnonzero(vol > 0)
        base = float(np.sum(p.weight * (bot.transport_cost_cny_per_unit_km * l1.distance_km[assign]
                                        + bot.handling_cost_cny_per_unit[l1.parent[assign]])))
        base += float(bot.fixed_cost_cny[used_b].sum())
        pchoices = [np.flatnonzero(l0.child == j) for j in used_b]
        for par in itertools.product(*pchoices):
            par = np.array(par, dtype=np.int64)
            tvol = np.bincount(l0.parent[par], weights=vol[used_b], minlength=top.size)
            if np.any(tvol > top.capacity + 1e-9):
                continue
            opened_top = tvol > 0
            if not _count_ok(p, [opened_top, vol > 0]):
                continue
            total = base + float(top.fixed_cost_cny[opened_top].sum()) + float(np.sum(
                vol[used_b] * (top.transport_cost_cny_per_unit_km * l0.distance_km[par] + top.handling_cost_cny_per_unit[l0.parent[par]])))
            best = min(best, total)
    return best


def _solve_and_check(p: NetworkProblem):
    r = solve_network(p, options=OPTS)
    assert r.info.proven_optimal
    check = verify_network(p, r)
    assert check.ok, check.violations
    return r


@pytest.mark.solver
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("strong,relax", [("all", True), ("all", False), ("bottom", True), ("bottom", False),
                                          ("none", True), ("none", False)])
def test_three_tier_matches_brute_force(seed, strong, relax):
    """Every formulation variant (path flows or aggregated flows; continuous or binary assignments)."""
    p = random_network(seed, counts=[CountRule(1, "==", 1, by="g", groups=("G0", "G1"))])
    r = solve_network(p, options=OPTS, strong=strong, relax_assignments=relax)
    assert r.info.proven_optimal
    check = verify_network(p, r)
    assert check.ok, check.violations
    assert r.info.objective == pytest.approx(brute_force_uncapacitated(p), rel=1e-7)


@pytest.mark.solver
@pytest.mark.parametrize("seed", [12, 13])
def test_four_tier_matches_brute_force(seed):
    p = random_network(seed, sizes=(2, 2, 3, 3), n_demand=6, radius=(200.0, 90.0, 70.0, 50.0))
    r = _solve_and_check(p)
    assert r.info.objective == pytest.approx(brute_force_uncapacitated(p), rel=1e-7)


@pytest.mark.solver
@pytest.mark.parametrize("seed", [4, 5])
def test_three_tier_with_overall_counts_required_forbidden(seed):
    p = random_network(seed, counts=[CountRule(2, ">=", 2), CountRule(0, "<=", 1)])
    t2 = p.tiers[2]
    req = np.zeros(t2.size, bool)
    req[0] = True
    forb = np.zeros(t2.size, bool)
    forb[1] = True
    tiers = list(p.tiers)
    tiers[2] = Tier(**{**{k: getattr(t2, k) for k in t2.__dataclass_fields__}, "required": req, "forbidden": forb})
    p = NetworkProblem(**{**{k: getattr(p, k) for k in p.__dataclass_fields__}, "tiers": tuple(tiers)})
    r = _solve_and_check(p)
    assert r.open[2][0] and not r.open[2][1] and r.open[2].sum() >= 2 and r.open[0].sum() <= 1
    assert r.info.objective == pytest.approx(brute_force_uncapacitated(p), rel=1e-7)


@pytest.mark.solver
@pytest.mark.parametrize("seed", [6, 7])
def test_two_tier_no_colocation(seed):
    p = random_network(seed, sizes=(3, 4), radius=(90.0, 60.0), colocation=False, n_demand=6)
    r = _solve_and_check(p)
    assert r.info.objective == pytest.approx(brute_force_uncapacitated(p), rel=1e-7)


@pytest.mark.solver
@pytest.mark.parametrize("seed", [8, 9, 10])
@pytest.mark.parametrize("strong", ["all", "none"])
def test_two_tier_capacitated_matches_enumeration(seed, strong):
    p = random_network(seed, sizes=(3, 4), n_demand=6, radius=(90.0, 70.0), capacity=(30.0, 18.0),
                       counts=[CountRule(0, "<=", 2)])
    want = brute_force_capacitated_two_tier(p)
    if not math.isfinite(want):
        with pytest.raises(InfeasibleError):
            solve_network(p, options=OPTS, strong=strong)
        return
    r = solve_network(p, options=OPTS, strong=strong)
    assert r.info.proven_optimal
    check = verify_network(p, r)
    assert check.ok, check.violations
    assert r.info.objective == pytest.approx(want, rel=1e-7)


@pytest.mark.solver
def test_coverage_objective_under_budget():
    p = random_network(11, sizes=(2, 4), n_demand=7, radius=(100.0, 35.0), objective="coverage", budget=150.0)
    r = solve_network(p, options=OPTS)
    check = verify_network(p, r)
    assert check.ok, check.violations
    # brute force: every open set within the fixed-cost budget (fixed + per-unit costs of served demand)
    best = 0.0
    T = p.n_tiers
    for combo in itertools.product(*[itertools.product([False, True], repeat=t.size) for t in p.tiers]):
        opened = [np.array(c, bool) for c in combo]
        # for coverage the cheapest way to serve a set S: each served demand takes its cheapest path; try
        # every subset of the demand points that the open set can reach
        top, bot = p.tiers
        l0, l1 = p.links[0], p.links[1]
        pc = np.full(bot.size, np.inf)
        for l in range(len(l0)):
            if opened[0][l0.parent[l]]:
                pc[l0.child[l]] = min(pc[l0.child[l]], top.transport_cost_cny_per_unit_km * l0.distance_km[l] + top.handling_cost_cny_per_unit[l0.parent[l]])
        if np.any(opened[1] & ~np.isfinite(pc)):
            continue
        fixed = sum(float(t.fixed_cost_cny[o].sum()) for o, t in zip(opened, p.tiers))
        unit = np.full(p.n_demand, np.inf)
        for l in range(len(l1)):
            j = l1.parent[l]
            if opened[1][j]:
                unit[l1.child[l]] = min(unit[l1.child[l]], bot.transport_cost_cny_per_unit_km * l1.distance_km[l] + bot.handling_cost_cny_per_unit[j] + pc[j])
        reach = np.flatnonzero(np.isfinite(unit))
        for k in range(len(reach) + 1):
            for sub in itertools.combinations(reach, k):
                sub = list(sub)
                cost = fixed + float(np.sum(p.weight[sub] * unit[sub]))
                if cost <= p.budget_cny + 1e-9:
                    best = max(best, float(p.weight[sub].sum()))
    assert T == 2
    assert r.info.objective == pytest.approx(best, rel=1e-7)


def test_reachable_demand_counts_each_point_once():
    p = random_network(3)
    reach = p.reachable_demand()
    # bottom: direct sums
    lk = p.links[2]
    want = np.bincount(lk.parent, weights=p.weight[lk.child], minlength=p.tiers[2].size)
    assert np.allclose(reach[2], want)
    assert np.all(reach[0] <= p.weight.sum() + 1e-9)


def test_problem_validation_collects_defects():
    t = Tier(name="a", ids=["x", "x"], fixed_cost_cny=[-1.0, np.nan], required=[True, False], forbidden=[True, False])
    with pytest.raises(DataError) as exc:
        NetworkProblem(name="bad", demand_ids=["d", "d"], weight=[1.0, -2.0], tiers=(t,), links=(Links([0], [5], [1.0]),))
    lines = exc.value.lines()
    assert any("duplicate candidate id 'x'" in s for s in lines)
    assert any("duplicate demand id 'd'" in s for s in lines)
    assert any("fixed_cost_cny must be finite" in s for s in lines)
    assert any("both required and forbidden" in s for s in lines)
    assert any("out of range" in s for s in lines)
    assert any("demand weight must be finite" in s for s in lines)


def test_precheck_names_unservable_demand_and_empty_group():
    p = random_network(0, counts=[CountRule(1, "==", 1, by="g", groups=("G0", "G1", "G9"))])
    lk = p.links[2]
    keep = lk.child != 0  # demand d0 loses every link
    links = (p.links[0], p.links[1], Links(lk.child[keep], lk.parent[keep], lk.distance_km[keep]))
    p = NetworkProblem(**{**{k: getattr(p, k) for k in p.__dataclass_fields__}, "links": links})
    with pytest.raises(InfeasibleError) as exc:
        solve_network(p, options=OPTS)
    lines = exc.value.lines()
    assert f"network: demand d0 has no t2 candidate within {p.tiers[2].radius_km:g} km" in lines
    assert "network: g G9 has no t1 candidate (needs exactly 1)" in lines


@pytest.mark.solver
def test_solver_infeasibility_is_attributed_to_a_family():
    # two top candidates of 20 units each hold the 36.5 units of demand together, but at most one may open:
    # capacities and counts conflict (the precheck sees neither alone), and relaxing either one fixes it
    p = random_network(1, sizes=(2, 3), radius=(500.0, 500.0), capacity=(20.0, None), counts=[CountRule(0, "<=", 1)])
    assert p.weight.sum() == pytest.approx(36.5)
    with pytest.raises(InfeasibleError) as exc:
        solve_network(p, options=OPTS)
    lines = exc.value.lines()
    assert any(s.endswith("check capacity") for s in lines), lines
    assert any(s.endswith("check counts") for s in lines), lines
    assert not any(s.endswith("check budget") for s in lines), lines


def test_precheck_capacity_below_demand():
    p = random_network(1, sizes=(2, 3), radius=(500.0, 500.0), capacity=(5.0, None))
    with pytest.raises(InfeasibleError) as exc:
        solve_network(p, options=OPTS)
    assert exc.value.lines() == ["network: total t0 capacity 10 is below total demand 36.5 units/yr"]


def test_polish_never_worsens_and_keeps_the_rules():
    from siting.network.polish import polish_open_sets, tree_cost

    p = random_network(3, counts=[CountRule(1, "==", 1, by="g", groups=("G0", "G1")), CountRule(2, ">=", 2)])
    best = brute_force_uncapacitated(p)
    start = [np.zeros(t.size, bool) for t in p.tiers]
    start[0][:] = True
    start[1][[0, 1]] = True  # one per group (G0, G1)
    start[2][:] = True
    c0 = tree_cost(p, start)
    assert math.isfinite(c0)
    opened, c1 = polish_open_sets(p, tuple(start), seconds=5.0)
    assert best - 1e-6 <= c1 <= c0
    assert c1 == pytest.approx(tree_cost(p, list(opened)))
    assert _count_ok(p, list(opened))
