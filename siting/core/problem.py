"""The frozen :class:`Problem`: arrays plus labels, the only thing single-level formulations see.

Demand points ``i = 0..n-1`` with weights, candidate sites ``j = 0..m-1`` with fixed costs and capacities,
and the sparse set of *allowed* pairs ``(i, j)`` with their distance (and, optionally, travel time).
A pair that is not listed cannot be used: formulations index their assignment variables only over the
listed pairs, so an impedance cutoff or radius is applied once, here, and never as a big-M.
"""

from __future__ import annotations

import copy

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from siting.core.errors import DataError, DefectCollector

__all__ = ["Problem"]


def _labels(ids: Sequence[Any] | np.ndarray | None, n: int, prefix: str) -> np.ndarray:
    if ids is None:
        return np.array([f"{prefix}{k}" for k in range(n)], dtype=object)
    out = np.asarray([str(x) for x in ids], dtype=object)
    return out


def _vector(x: Any, n: int, default: float, dtype: Any = np.float64) -> np.ndarray:
    if x is None:
        return np.full(n, default, dtype=dtype)
    arr = np.asarray(x, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr.item(), dtype=dtype)
    return arr.copy()


@dataclass(frozen=True, eq=False)
class Problem:
    """A single-level facility-location instance.

    Attributes
    ----------
    demand_ids : (n,) object array of str
    weight : (n,) float64, demand weight (units per period; 1 for unweighted)
    candidate_ids : (m,) object array of str
    pair_demand, pair_candidate : (k,) int64, the allowed pairs, sorted by demand then candidate
    distance_km : (k,) float64, distance of each allowed pair (or a generic cost for OR-Library data)
    time_min : (k,) float64 or None, travel time of each pair when an OD matrix gives it
    fixed_cost_cny : (m,) float64, cost of opening each candidate
    capacity : (m,) float64, ``inf`` where uncapacitated
    required : (m,) bool, candidates that must open (existing facilities)
    forbidden : (m,) bool, candidates that must stay closed
    source : str, where the instance came from (for messages)
    meta : dict, free-form labels (names, units) carried to outputs
    """

    demand_ids: np.ndarray
    weight: np.ndarray
    candidate_ids: np.ndarray
    pair_demand: np.ndarray
    pair_candidate: np.ndarray
    distance_km: np.ndarray
    time_min: np.ndarray | None = None
    fixed_cost_cny: np.ndarray | None = None
    capacity: np.ndarray | None = None
    required: np.ndarray | None = None
    forbidden: np.ndarray | None = None
    source: str = "problem"
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, m = len(self.demand_ids), len(self.candidate_ids)
        set_ = object.__setattr__
        set_(self, "demand_ids", _labels(self.demand_ids, n, "d"))
        set_(self, "candidate_ids", _labels(self.candidate_ids, m, "c"))
        set_(self, "weight", _vector(self.weight, n, 1.0))
        set_(self, "fixed_cost_cny", _vector(self.fixed_cost_cny, m, 0.0))
        set_(self, "capacity", _vector(self.capacity, m, np.inf))
        set_(self, "required", _vector(self.required, m, False, bool))
        set_(self, "forbidden", _vector(self.forbidden, m, False, bool))
        pi = np.asarray(self.pair_demand, dtype=np.int64)
        pj = np.asarray(self.pair_candidate, dtype=np.int64)
        d = np.asarray(self.distance_km, dtype=np.float64)
        t = None if self.time_min is None else np.asarray(self.time_min, dtype=np.float64)
        self._validate(pi, pj, d, t)
        key = pi * max(m, 1) + pj
        if len(key) > 1 and not bool(np.all(key[1:] > key[:-1])):  # not already in (demand, candidate) order
            order = np.argsort(key, kind="stable")
            pi, pj, d = pi[order], pj[order], d[order]
            t = None if t is None else t[order]
        for name, arr in (("pair_demand", pi), ("pair_candidate", pj), ("distance_km", d), ("time_min", t)):
            if arr is not None:
                arr.setflags(write=False)
            set_(self, name, arr)
        for name in ("weight", "fixed_cost_cny", "capacity", "required", "forbidden"):
            getattr(self, name).setflags(write=False)

    def with_closed(self, closed: np.ndarray) -> Problem:
        """This problem with the candidates in ``closed`` (bool mask) forbidden as well.

        Pairs, ids and the other arrays are shared, not re-validated (they were checked when this problem
        was built); only the new mask is checked against ``required``.
        """
        mask = np.asarray(closed, dtype=bool)
        if mask.shape != self.forbidden.shape:
            raise DataError(f"{self.source}: closed mask has shape {mask.shape}, expected {self.forbidden.shape}")
        clash = np.flatnonzero(mask & self.required)
        if len(clash):
            found = DefectCollector(self.source)
            for b in clash[:20]:
                found.add("candidate is both required and closed", row=str(self.candidate_ids[b]))
            found.raise_if_any(DataError)
        out = copy.copy(self)
        forbidden = self.forbidden | mask
        forbidden.setflags(write=False)
        object.__setattr__(out, "forbidden", forbidden)
        return out

    # ------------------------------------------------------------------ validation
    def _validate(self, pi: np.ndarray, pj: np.ndarray, d: np.ndarray, t: np.ndarray | None) -> None:
        n, m = self.n_demand, self.n_candidates
        found = DefectCollector(self.source)
        k = len(pi)
        if not (len(pj) == k and len(d) == k and (t is None or len(t) == k)):
            found.add(f"pair arrays differ in length ({k}, {len(pj)}, {len(d)})")
            found.raise_if_any(DataError)
        for name, arr, size in (
            ("weight", self.weight, n),
            ("fixed_cost_cny", self.fixed_cost_cny, m),
            ("capacity", self.capacity, m),
            ("required", self.required, m),
            ("forbidden", self.forbidden, m),
        ):
            if len(arr) != size:
                found.add(f"has {len(arr)} values for {size} rows", column=name)
        found.raise_if_any(DataError)
        if k and (pi.min() < 0 or pi.max() >= n or pj.min() < 0 or pj.max() >= m):
            found.add("a pair refers to a demand or candidate index out of range", column="pairs")
        for name, arr, ids in (
            ("weight", self.weight, self.demand_ids),
            ("fixed_cost_cny", self.fixed_cost_cny, self.candidate_ids),
            ("capacity", self.capacity, self.candidate_ids),
        ):
            bad = np.flatnonzero(np.isnan(arr) | (arr < 0) | ((arr == np.inf) & (name != "capacity")))
            for b in bad[:20]:
                found.add(f"must be a finite number >= 0, got {arr[b]}", row=str(ids[b]), column=name)
            if len(bad) > 20:
                found.add(f"... and {len(bad) - 20} more rows", column=name)
        for name, arr in (("distance_km", d), ("time_min", t)):
            if arr is None:
                continue
            bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
            for b in bad[:20]:
                found.add(
                    f"pair ({self.demand_ids[pi[b]]}, {self.candidate_ids[pj[b]]}) has {name} {arr[b]}; "
                    "must be finite and >= 0",
                    column=name,
                )
        both = np.flatnonzero(self.required & self.forbidden)
        for b in both:
            found.add("candidate is both required and forbidden", row=str(self.candidate_ids[b]))
        for name, ids in (("demand id", self.demand_ids), ("candidate id", self.candidate_ids)):
            uniq, counts = np.unique(ids.astype(str), return_counts=True)
            for dup in uniq[counts > 1][:20]:
                found.add(f"duplicate {name} {dup!r}", row=str(dup))
        if k > 1:
            key = pi * max(m, 1) + pj
            # pairs from a matrix come sorted: one pass; else a sort (np.unique's hash path took 5.8 s for
            # 2 M pairs with numpy 2.3, the sort 0.15 s)
            if not bool(np.all(key[1:] > key[:-1])):
                key = np.sort(key)
                if bool(np.any(key[1:] == key[:-1])):
                    found.add("the same (demand, candidate) pair is listed twice", column="pairs")
        found.raise_if_any(DataError)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_cost_matrix(
        cls,
        cost: np.ndarray,
        *,
        weights: Any = None,
        demand_ids: Sequence[Any] | None = None,
        candidate_ids: Sequence[Any] | None = None,
        fixed_cost_cny: Any = None,
        capacity: Any = None,
        required: Any = None,
        forbidden: Any = None,
        max_distance_km: float | None = None,
        time_min: np.ndarray | None = None,
        source: str = "cost matrix",
        meta: dict[str, Any] | None = None,
    ) -> Problem:
        """Build from a dense ``(n, m)`` distance/cost matrix.

        Entries that are ``inf`` or ``nan``, or above ``max_distance_km`` (the impedance cutoff), are not
        allowed pairs.
        """
        c = np.asarray(cost, dtype=np.float64)
        if c.ndim != 2:
            raise DataError(f"{source}: cost matrix must be 2-D, got shape {c.shape}")
        keep = np.isfinite(c)
        if max_distance_km is not None:
            keep &= c <= max_distance_km
        pi, pj = np.nonzero(keep)
        t = None if time_min is None else np.asarray(time_min, dtype=np.float64)[pi, pj]
        return cls(
            demand_ids=_labels(demand_ids, c.shape[0], "d"),
            weight=weights,
            candidate_ids=_labels(candidate_ids, c.shape[1], "c"),
            pair_demand=pi,
            pair_candidate=pj,
            distance_km=c[pi, pj],
            time_min=t,
            fixed_cost_cny=fixed_cost_cny,
            capacity=capacity,
            required=required,
            forbidden=forbidden,
            source=source,
            meta=dict(meta or {}),
        )

    # ------------------------------------------------------------------ views
    @property
    def n_demand(self) -> int:
        return len(self.demand_ids)

    @property
    def n_candidates(self) -> int:
        return len(self.candidate_ids)

    @property
    def n_pairs(self) -> int:
        return len(self.pair_demand)

    def impedance(self, *, use_time: bool = False) -> np.ndarray:
        """Pair impedance: ``time_min`` when asked and available, else ``distance_km``."""
        if use_time:
            if self.time_min is None:
                raise DataError(f"{self.source}: travel times were asked for but no OD matrix gave them")
            return self.time_min
        return self.distance_km

    def matrix(self, values: np.ndarray | None = None) -> sp.csr_matrix:
        """The pairs as a sparse ``(n, m)`` CSR matrix of ``values`` (default: distance_km)."""
        v = self.distance_km if values is None else values
        return sp.csr_matrix(
            (v, (self.pair_demand, self.pair_candidate)), shape=(self.n_demand, self.n_candidates)
        )

    def within(self, max_impedance: float, *, use_time: bool = False) -> Problem:
        """A copy keeping only the pairs with impedance ``<= max_impedance``."""
        keep = self.impedance(use_time=use_time) <= max_impedance
        return replace(
            self,
            pair_demand=self.pair_demand[keep],
            pair_candidate=self.pair_candidate[keep],
            distance_km=self.distance_km[keep],
            time_min=None if self.time_min is None else self.time_min[keep],
        )

    def with_options(self, **changes: Any) -> Problem:
        """A copy with some attributes replaced (e.g. ``required=...``)."""
        return replace(self, **changes)
