"""Distances and times of the pairs a scenario may use: OD matrix, road network, or circuity.

One :class:`PairMeasure` per scenario build answers "which (child, parent) pairs lie within this radius, how
far and how long are they, and where did the figure come from". The order of precedence per pair is:

1. the user's OD matrix, for the pairs it lists (source ``"od"``);
2. the road network (``[network] roads``), shortest path in km and its time (source ``"network"``);
3. great-circle km x circuity (source ``"circuity"``): always when the scenario has neither an OD matrix
   nor a road network; otherwise only with ``[network] fallback = "circuity"``, for the pairs the OD matrix
   does not list (and, with a network, for the points that did not snap to it). With ``circuity =
   "measured"`` each pair has its own factor (:mod:`siting.geo.circuity`). A circuity pair has a time only
   when ``[network] speed_kmh`` is given (distance / speed).

A pair without a known time never passes a minutes radius.
"""

from __future__ import annotations

import math
from typing import Any
import numpy as np
from siting.core.errors import DefectCollector
from siting.scenario.sources import Points
from siting.scenario.pairs import SOURCES, SRC_CIRCUITY, SRC_NETWORK, SRC_OD, PairSet
from siting.scenario.spec import Scenario

__all__ = ["SOURCES", "SRC_CIRCUITY", "SRC_NETWORK", "SRC_OD", "PairMeasure", "PairSet"]

class PairMeasure:
    """Measures pairs for one scenario (see the module docstring). Problems go to ``found``.

    Parameters
    ----------
    scen
        The scenario.
    found
        Collector for data problems (OD file, network file, points off the network).
    """

    def __init__(self, scen: Scenario, found: DefectCollector):
        self.scen = scen
        self.found = found
        net = scen.network
        # an OD matrix without a [network] table gives only its pairs (no fallback unless the scenario says so)
        self.fallback = (net.fallback == "circuity") if net is not None else scen.od_matrix is None
        self.speed_kmh = net.speed_kmh if net is not None else None
        self.od = None
        if scen.od_matrix is not None:
            from siting.geo.od import read_od_matrix
            from siting.core.errors import DataError

            try:
                self.od = read_od_matrix(scen.od_matrix)
            except DataError as exc:
                found.extend(exc.defects)
        self.roads: Any = None
        if net is not None and net.roads is not None:
            from siting.scenario.roads import load_road_network

            self.roads = load_road_network(scen, found)
        # with neither an OD matrix nor roads, circuity is not a fallback but the measure itself
        if self.od is None and self.roads is None:
            self.fallback = True
        self.table = None
        if scen.circuity_mode == "measured":
            from siting.geo.circuity import load_measured_circuity

            self.table = load_measured_circuity(data_dir=scen.data_dir, rule=scen.circuity_rule, path=scen.circuity_path)
        self._factors: dict[int, np.ndarray] = {}

    # ---- circuity
    def factors(self, pts: Points) -> np.ndarray:
        """Detour factor per point (the constant circuity unless ``circuity = "measured"``)."""
        key = id(pts)
        if key not in self._factors:
            if self.table is None:
                self._factors[key] = np.full(len(pts), float(self.scen.circuity))
            else:
                self._factors[key] = self.table.point_factors(pts.lon, pts.lat)[0]
            self._keep = getattr(self, "_keep", []) + [pts]  # keep pts alive so that id() stays unique
        return self._factors[key]

    def _circuity(self, a: Points, b: Points, radius_km: float, radius_min: float) -> PairSet:
        from siting.geo.circuity import pairs_within_factors

        ia, ib, d, _ = pairs_within_factors(a.lon, a.lat, self.factors(a), b.lon, b.lat, self.factors(b), radius_km,
                                            rule=self.scen.circuity_rule)
        t = d / self.speed_kmh * 60.0 if self.speed_kmh else np.full(d.size, np.nan)
        ok = _within_min(t, radius_min)
        return PairSet(ia[ok], ib[ok], d[ok], t[ok], np.full(int(ok.sum()), SRC_CIRCUITY, np.int8))

    # ---- all sources
    def pairs(self, a: Points, a_ids: np.ndarray, b: Points, b_ids: np.ndarray, radius_km: float = math.inf,
              radius_min: float = math.inf) -> PairSet:
        """Pairs (child in ``a``, parent in ``b``) within ``radius_km`` and ``radius_min``."""
        parts: list[PairSet] = []
        listed = None
        if self.od is not None:
            from siting.geo.od import od_pairs

            every = od_pairs(self.od, a_ids, b_ids)
            listed = every.ia * max(len(b), 1) + every.ib
            t = every.time_min if every.time_min is not None else np.full(len(every), np.nan)
            ok = (every.distance_km <= radius_km) & _within_min(t, radius_min)
            parts.append(PairSet(every.ia[ok], every.ib[ok], every.distance_km[ok], t[ok],
                                 np.full(int(ok.sum()), SRC_OD, np.int8)))
        off_net = None
        if self.roads is not None:
            net_pairs, off_net = self.roads.pairs(a, b, radius_km, radius_min)
            parts.append(_without(net_pairs, listed, len(b)))
        if self.fallback:
            circ = self._circuity(a, b, radius_km, radius_min)
            if self.roads is not None:  # the network answers for every pair whose both ends snapped
                assert off_net is not None
                circ = circ.take(off_net[0][circ.ia] | off_net[1][circ.ib])
            parts.append(_without(circ, listed, len(b)))
        return PairSet.concat(parts)

    def timed(self) -> bool:
        """Whether pairs can have times (OD times, a network, or a fallback speed)."""
        return (self.od is not None and self.od.time_min is not None) or self.roads is not None or bool(self.speed_kmh)


def _within_min(t: np.ndarray, radius_min: float) -> np.ndarray:
    if math.isinf(radius_min):
        return np.ones(t.size, bool)
    return np.isfinite(t) & (t <= radius_min)


def _without(ps: PairSet, listed: np.ndarray | None, nb: int) -> PairSet:
    """``ps`` minus the pairs the OD matrix lists (the OD overrides them)."""
    if listed is None or not len(ps):
        return ps
    return ps.take(~np.isin(ps.ia * max(nb, 1) + ps.ib, listed))
