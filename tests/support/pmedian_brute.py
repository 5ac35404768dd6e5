"""Brute-force p-median optimum for the solve tests: every allowed p-subset, vectorised in chunks."""

from __future__ import annotations

import itertools

import numpy as np


def brute_pmedian(d: np.ndarray, w: np.ndarray, p: int, required: np.ndarray | None = None,
                  forbidden: np.ndarray | None = None, *, chunk: int = 20_000) -> float:
    """Smallest ``sum_i w_i min_{j in S} d_ij`` over the p-subsets ``S`` of the non-forbidden candidates that
    hold every required one (``inf`` in ``d`` = pair not allowed; ``inf`` when no subset serves everyone)."""
    m = d.shape[1]
    req = np.zeros(m, bool) if required is None else np.asarray(required, bool)
    allowed = np.ones(m, bool) if forbidden is None else ~np.asarray(forbidden, bool)
    fixed = np.flatnonzero(req)
    rest = np.flatnonzero(allowed & ~req)
    if len(fixed) > p:
        return np.inf
    combos = np.array([tuple(fixed) + c for c in itertools.combinations(rest.tolist(), p - len(fixed))],
                      dtype=np.int64).reshape(-1, p)
    w = np.asarray(w, dtype=np.float64)
    best = np.inf
    with np.errstate(invalid="ignore"):
        for lo in range(0, len(combos), chunk):
            best = min(best, float((w @ d[:, combos[lo:lo + chunk]].min(axis=2)).min()))
    return best
