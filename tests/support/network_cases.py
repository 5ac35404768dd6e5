"""Random multi-tier networks for the network tests (tests/network/)."""

from __future__ import annotations

import math

import numpy as np

from siting.core.network import Links, NetworkProblem, Tier
from siting.core.options import SolverOptions

OPTS = SolverOptions(mip_rel_gap=1e-9, threads=1)


def _dist(lon1, lat1, lon2, lat2):
    return np.hypot(lon1[:, None] - lon2[None, :], lat1[:, None] - lat2[None, :]) * 100.0


def random_network(seed: int, sizes=(2, 3, 4), n_demand=7, radius=(200.0, 90.0, 60.0), capacity=None,
                   counts=(), groups=2, objective="cost", budget=math.inf, colocation=True) -> NetworkProblem:
    rng = np.random.default_rng(seed)
    dl, dt = rng.uniform(0, 1, n_demand), rng.uniform(0, 1, n_demand)
    tiers, pts = [], []
    pts = [(rng.uniform(0, 1, m), rng.uniform(0, 1, m)) for m in sizes]
    radius = list(radius) + [radius[-1]] * (len(sizes) - len(radius))
    for t in range(len(sizes)):
        # widen a radius just enough that every child has a candidate (keeps instances feasible and varied)
        clo, cla = (dl, dt) if t == len(sizes) - 1 else pts[t + 1]
        radius[t] = max(radius[t], float(_dist(clo, cla, *pts[t]).min(axis=1).max()) + 1e-6)
    for t, m in enumerate(sizes):
        lo, la = pts[t]
        cap = None if capacity is None or capacity[t] is None else np.full(m, capacity[t])
        tiers.append(Tier(
            name=f"t{t}", ids=[f"c{t}{j}" for j in range(m)], lon=lo, lat=la,
            fixed_cost_cny=np.round(rng.uniform(10, 100, m), 2),
            handling_cost_cny_per_unit=np.round(rng.uniform(0, 1, m), 3),
            transport_cost_cny_per_unit_km=0.05 * (t + 1), capacity=cap, radius_km=radius[t],
            groups={"g": [f"G{j % groups}" for j in range(m)]},
            site=[f"s{j}" for j in range(m)],
        ))
    links = []
    for t in range(len(sizes)):
        plo, pla = pts[t]
        clo, cla = (dl, dt) if t == len(sizes) - 1 else pts[t + 1]
        d = _dist(clo, cla, plo, pla)
        ci, pj = np.nonzero(d <= radius[t])
        links.append(Links(ci, pj, d[ci, pj]))
    return NetworkProblem(
        name=f"rand{seed}", demand_ids=[f"d{i}" for i in range(n_demand)], weight=np.round(rng.uniform(1, 10, n_demand), 1),
        tiers=tuple(tiers), links=tuple(links), counts=tuple(counts), demand_lon=dl, demand_lat=dt,
        objective=objective, budget_cny=budget, colocation=colocation,
    )
