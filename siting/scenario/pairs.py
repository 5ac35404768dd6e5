"""Allowed pairs of one tier link with where each distance came from (OD matrix, road network, circuity).

A leaf module shared by :mod:`siting.scenario.measure` (which fills it) and :mod:`siting.scenario.roads`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SOURCES", "SRC_CIRCUITY", "SRC_NETWORK", "SRC_OD", "PairSet"]

#: pair sources, by code (the ``source`` array of a :class:`PairSet` holds indices into this)
SOURCES = ("circuity", "od", "network")
SRC_CIRCUITY, SRC_OD, SRC_NETWORK = 0, 1, 2


@dataclass(frozen=True, eq=False)
class PairSet:
    """Allowed pairs: indices into the child and parent points, km, minutes (NaN = unknown), source code."""

    ia: np.ndarray
    ib: np.ndarray
    distance_km: np.ndarray
    time_min: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return int(self.ia.size)

    def take(self, mask: np.ndarray) -> PairSet:
        return PairSet(self.ia[mask], self.ib[mask], self.distance_km[mask], self.time_min[mask], self.source[mask])

    def counts(self) -> dict[str, int]:
        """Number of pairs per source name."""
        c = np.bincount(self.source.astype(np.int64), minlength=len(SOURCES))
        return {s: int(c[k]) for k, s in enumerate(SOURCES)}

    @staticmethod
    def concat(parts: list[PairSet]) -> PairSet:
        if not parts:
            e = np.empty(0, np.int64)
            return PairSet(e, e.copy(), np.empty(0), np.empty(0), np.empty(0, np.int8))
        ia = np.concatenate([p.ia for p in parts])
        ib = np.concatenate([p.ib for p in parts])
        order = np.lexsort((ib, ia))
        return PairSet(ia[order], ib[order], np.concatenate([p.distance_km for p in parts])[order],
                       np.concatenate([p.time_min for p in parts])[order], np.concatenate([p.source for p in parts])[order])
