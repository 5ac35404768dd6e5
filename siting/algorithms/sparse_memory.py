"""Memory of the p-median / UFLP routes, estimated before anything is built, and the choice between the dense
fast paths and the sparse route (:mod:`siting.algorithms.sparse`) by that estimate.

Coefficients measured with ``tracemalloc`` (peak of the Python and numpy heap during the solve, over the
problem already in memory; numpy 2.4, CPython 3.11, Linux x86-64):

================================ ============ ========= =============================== =================
route, instance                  pairs k      n x m     measured peak                   per unit
================================ ============ ========= =============================== =================
sparse p-median, 10k x 1k, p=50  774,306      1e7       50.4 MB                         68 B / pair
sparse UFLP, 10k x 1k            774,306      1e7       36.3 MB                         49 B / pair
sparse p-median, 20k x 2k, p=100 1,195,264    4e7       84.0 MB                         74 B / pair
sparse UFLP, 20k x 2k            1,195,264    4e7       72.3 MB                         63 B / pair
dense p-median (Benders), 3k x   900,000 /    9e5       145 MB / 120 MB                 169 / 140 B / cell
300, all pairs / 50 per demand   150,000
dense UFLP (fast path), same     900,000 /    9e5       765 MB / 128 MB                 891 / 149 B / cell
================================ ============ ========= =============================== =================

At scale the same coefficients meet the resident memory (``benchmarks/bench_scale.py``, peak RSS of the solve
over the RSS with the instance loaded): 100,000 x 5,000 (28.8 million pairs) p-median p = 50 measured
1,638 MB against 1,818 MB estimated, p = 200 1,361 MB against 1,830 MB; at 50,000 x 2,500 the solve reuses
memory the process already holds (89-210 MB measured against 628-650 MB), so the estimate errs on the safe
side there.

giving :func:`sparse_route_bytes` ``= 20 MB + 64 k + 400 n + 8 m (2q + 25)`` (``q`` open sites; the
``(m, 2q)`` gain table of the local search) and :func:`dense_route_bytes` ``= 30 MB + 140 n m`` (p-median) or
``30 MB + 150 n m + 700 k`` (UFLP: the strong model over the pairs as well). The dense routes hold several
``(n, m)`` arrays (costs, their sort order, the sorted costs), hence the ``n m`` term whatever the pairs.
"""

from __future__ import annotations

import os

__all__ = [
    "DENSE_BYTES_BASE",
    "DENSE_BYTES_PER_CELL",
    "DENSE_SHARE",
    "DENSE_UFLP_BYTES_PER_CELL",
    "DENSE_UFLP_BYTES_PER_PAIR",
    "SPARSE_BYTES_BASE",
    "SPARSE_BYTES_PER_DEMAND",
    "SPARSE_BYTES_PER_PAIR",
    "available_bytes",
    "choose_route",
    "dense_route_bytes",
    "sparse_route_bytes",
]

SPARSE_BYTES_BASE = 20 * 2**20  #: fixed part of the sparse route (measured, module docstring)
SPARSE_BYTES_PER_PAIR = 64  #: sorted pair lists, their CSC copy, the allocation, sort temporaries
SPARSE_BYTES_PER_DEMAND = 400  #: multipliers, subgradient, nearest / second-nearest state
DENSE_BYTES_BASE = 30 * 2**20  #: fixed part of the dense routes (HiGHS and the model build, as in the Pyomo guard)
DENSE_BYTES_PER_CELL = 140  #: dense p-median (Benders / radius): per (demand, candidate) cell
DENSE_UFLP_BYTES_PER_CELL = 150  #: dense UFLP fast path, per cell
DENSE_UFLP_BYTES_PER_PAIR = 700  #: dense UFLP fast path: its strong HiGHS model, per allowed pair
DENSE_SHARE = 0.5  #: the dense route is taken when its estimate is at most this share of the memory available


def sparse_route_bytes(n: int, m: int, k: int, p: int | None = None) -> int:
    """Estimated peak memory (bytes) of :func:`siting.algorithms.sparse.solve_sparse` on ``k`` pairs.

    ``p``: open sites of the p-median; for UFLP (``None``) the open count is not known before, so ``m / 4``
    is assumed for the local search's table (``8 m 2q`` bytes, small next to the pair lists).

    Examples
    --------
    >>> round(sparse_route_bytes(100_000, 5_000, 28_762_377, 200) / 2**30, 2)
    1.79
    """
    q = max(64, 2 * (p if p is not None else m // 4))
    return int(SPARSE_BYTES_BASE + SPARSE_BYTES_PER_PAIR * k + SPARSE_BYTES_PER_DEMAND * n + 8 * m * (q + 25))


def dense_route_bytes(n: int, m: int, k: int, p: int | None = None) -> int:
    """Estimated peak memory (bytes) of the dense fast path: :func:`siting.algorithms.pmedian.solve_pmedian`'s
    Benders / radius routes (``p`` given) or :func:`siting.algorithms.warehouse.solve_uflp_fast` (``None``)."""
    if p is not None:
        return int(DENSE_BYTES_BASE + DENSE_BYTES_PER_CELL * n * m)
    return int(DENSE_BYTES_BASE + DENSE_UFLP_BYTES_PER_CELL * n * m + DENSE_UFLP_BYTES_PER_PAIR * k)


def available_bytes() -> int | None:
    """Memory available to a new allocation now (``MemAvailable``), or ``None`` if it cannot be told."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def choose_route(n: int, m: int, k: int, p: int | None = None, *, limit_bytes: int | None = None) -> str:
    """``"dense"`` when the dense fast path's estimate fits in ``limit_bytes`` (default
    :data:`DENSE_SHARE` of the memory available now), else ``"sparse"``."""
    if limit_bytes is None:
        avail = available_bytes()
        if avail is None:
            return "dense"
        limit_bytes = int(DENSE_SHARE * avail)
    return "dense" if dense_route_bytes(n, m, k, p) <= limit_bytes else "sparse"
