"""Up-front estimate of the memory a Pyomo + HiGHS model needs, and the refusal of models that cannot fit.

The estimate is linear in the model's size, with coefficients measured on this code base (Pyomo 6.10,
highspy 1.16, CPython 3.11, Linux x86-64; peak resident memory of the build + solve, minus the process
before the build; single-level models of 2,000 to 150,000 allowed pairs):

========================= ============ ============ =========== ==================================
model (n x m, pairs k)    variables    constraints  nonzeros    peak over baseline
========================= ============ ============ =========== ==================================
p-median 100 x 20, 2k     2,020        2,101        6,020       31 MB
p-median 300 x 100, 30k   30,100       30,301       90,100      202 MB
p-median 600 x 100, 60k   60,100       60,601       180,100     401 MB
cflp 600 x 100, 60k       60,100       60,701       240,200     415 MB
lscp 1500 x 100, 150k     100          1,500        43,864      86 MB
p-median 1500 x 100, 150k 150,100      151,501      450,100     957 MB
========================= ============ ============ =========== ==================================

giving ``bytes ~ 30 MB + 1,000 per variable + 1,000 per constraint + 1,500 per nonzero`` (each measured
case within +16% / -22% of it; the Pyomo expression objects dominate, HiGHS's own copy is about a tenth).
:func:`check_memory` refuses a model whose estimate exceeds a share of the memory available now
(``MemAvailable`` of ``/proc/meminfo``, else ``os.sysconf``), naming the ways out.

p-median (and UFLP through :func:`siting.algorithms.warehouse.solve_uflp`) are not solved as this Pyomo model:
their own routes are estimated by :func:`route_bytes` (coefficients in
:mod:`siting.algorithms.sparse_memory`): the dense fast path (``~140 B`` per demand x candidate cell) when it
fits in half the memory available, else the sparse Lagrangian route (``~64 B`` per allowed pair, measured
within a factor 1.5 of the ``tracemalloc`` peak, see ``tests/algorithms/test_sparse.py``).
:func:`check_route_memory` is the guard of :func:`siting.pipeline.locate.locate`: the route estimate for
p-median and UFLP runs by their own algorithm (``ModelSpec.uses_algorithm``; for UFLP with the copy of the pairs
a cutoff or a cost rate makes, :func:`uflp_copy_bytes`), the Pyomo estimate for the other models and runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from siting.algorithms.sparse_memory import (
    available_bytes,
    choose_route,
    dense_route_bytes,
    sparse_route_bytes,
)
from siting.core.errors import InputError

__all__ = [
    "BYTES_BASE",
    "BYTES_PER_CON",
    "BYTES_PER_NONZERO",
    "BYTES_PER_VAR",
    "MemoryRefused",
    "RouteEstimate",
    "available_bytes",
    "check_memory",
    "check_route_memory",
    "estimate_model_bytes",
    "model_size",
    "network_size",
    "route_bytes",
    "uflp_copy_bytes",
]

BYTES_BASE = 30 * 2**20  #: fixed overhead of one build + solve (measured, see module docstring)
BYTES_PER_VAR = 1_000  #: per Pyomo variable (with its HiGHS column)
BYTES_PER_CON = 1_000  #: per Pyomo constraint (with its HiGHS row)
BYTES_PER_NONZERO = 1_500  #: per nonzero coefficient (Pyomo expression term + HiGHS matrix entry)
DEFAULT_SHARE = 0.8  #: refuse when the estimate exceeds this share of the available memory


class MemoryRefused(InputError):
    """The model would not fit in memory; the message gives the estimate and the ways out."""


def estimate_model_bytes(n_vars: int, n_cons: int, n_nonzeros: int) -> int:
    """Estimated peak memory (bytes) to build the Pyomo model and solve it with HiGHS.

    Parameters
    ----------
    n_vars, n_cons, n_nonzeros
        Number of variables, constraints and nonzero constraint coefficients.

    Returns
    -------
    int
        ``BYTES_BASE + BYTES_PER_VAR * n_vars + BYTES_PER_CON * n_cons + BYTES_PER_NONZERO * n_nonzeros``.

    Examples
    --------
    >>> estimate_model_bytes(150_100, 151_501, 450_100) // 2**20
    961
    """
    for name, v in (("n_vars", n_vars), ("n_cons", n_cons), ("n_nonzeros", n_nonzeros)):
        if int(v) < 0:
            raise ValueError(f"{name} must be >= 0, got {v}")
    return int(BYTES_BASE + BYTES_PER_VAR * int(n_vars) + BYTES_PER_CON * int(n_cons)
               + BYTES_PER_NONZERO * int(n_nonzeros))


def model_size(problem: Any, model: Any, params: dict[str, Any] | None = None) -> tuple[int, int, int]:
    """Upper estimate of ``(n_vars, n_cons, n_nonzeros)`` of a single-level model on ``problem``.

    Assignment models (p-median, attendance, UFLP, CFLP, p-center's decision steps counted as such): one
    variable per allowed pair and site, one assignment row per demand and one linking row per pair
    (``x_ij <= y_j``), three nonzeros per pair, plus a capacity row per site for CFLP. Coverage models
    (LSCP, LSCP-B, MCLP): one variable per site and demand, one row per demand, one nonzero per pair within
    the radius. ``model`` is a name in :data:`siting.model.MODELS` or its spec; the shape and the capacity
    rows come from ``ModelSpec.size_shape`` and ``ModelSpec.capacitated``.
    """
    from siting.model import get_model

    spec = get_model(model) if isinstance(model, str) else model
    params = dict(params or {})
    n, m, k = int(problem.n_demand), int(problem.n_candidates), int(problem.n_pairs)
    d = np.asarray(problem.distance_km)
    cut = params.get("max_distance_km")
    if cut is not None:
        k = int(np.count_nonzero(d <= float(cut)))
    if spec.size_shape == "cover":
        r = params.get("radius_km")
        kr = int(np.count_nonzero(d <= float(r))) if r is not None else k
        if cut is not None:
            kr = min(kr, k)
        return m + n, n + 2, kr + n + 2 * m
    n_vars, n_cons, nnz = k + m, n + k + 2, 3 * k + 2 * m
    if spec.capacitated:
        n_cons += m
        nnz += k + m
    return n_vars, n_cons, nnz


def network_size(problem: Any) -> tuple[int, int, int]:
    """Upper estimate of ``(n_vars, n_cons, n_nonzeros)`` of the multi-tier model of a
    :class:`~siting.core.network.NetworkProblem` (:func:`siting.model.multitier.build_multitier`).

    With ``L`` links, ``C`` candidates and ``H`` children (demand points and lower-tier candidates) over all
    tiers: ``4L + 2C`` variables, ``3L + C + H`` constraints, ``12L + 4C`` nonzeros. Calibrated on the
    built models of ``models/example.toml`` (920 / 814 / 3,232 actual against 1,168 / 940 / 3,392
    estimated) and ``models/chongqing-express.toml`` (53,711 / 33,306 / 177,600 against 62,904 / 48,833 /
    186,100).
    """
    n_links = sum(len(lk) for lk in problem.links)
    n_cand = sum(int(t.size) for t in problem.tiers)
    n_child = sum(int(problem.n_children(t)) for t in range(problem.n_tiers))
    return 4 * n_links + 2 * n_cand, 3 * n_links + n_cand + n_child, 12 * n_links + 4 * n_cand


def _mb(x: float) -> str:
    return f"{x / 2**20:,.0f} MB" if x < 10 * 2**30 else f"{x / 2**30:,.1f} GB"


def check_memory(
    n_vars: int,
    n_cons: int,
    n_nonzeros: int,
    *,
    limit_bytes: int | None = None,
    share: float = DEFAULT_SHARE,
    source: str | None = None,
    hint: str = "use a smaller radius or --max-distance-km (fewer allowed pairs), sparser candidates, "
                "or fewer demand points",
) -> int:
    """Raise :class:`MemoryRefused` if the model's estimated memory exceeds the limit; return the estimate.

    Parameters
    ----------
    n_vars, n_cons, n_nonzeros
        Model size (see :func:`model_size`).
    limit_bytes
        The limit; default ``share`` x :func:`available_bytes` (no check if that cannot be told).
    share
        Share of the available memory a model may use when ``limit_bytes`` is not given.
    source
        Shown as the defect's file (e.g. the input files).
    hint
        The ways out, appended to the message.
    """
    need = estimate_model_bytes(n_vars, n_cons, n_nonzeros)
    if limit_bytes is None:
        avail = available_bytes()
        if avail is None:
            return need
        limit_bytes = int(share * avail)
        what = f"{share:.0%} of the {_mb(avail)} available"
    else:
        what = f"the limit of {_mb(limit_bytes)}"
    if need > limit_bytes:
        from siting.core.errors import Defect

        raise MemoryRefused([Defect(
            f"the model would need about {_mb(need)} of memory ({n_vars:,} variables, {n_cons:,} constraints, "
            f"{n_nonzeros:,} nonzeros), more than {what}; refused before building it. Way out: {hint}",
            source,
        )])
    return need


@dataclass(frozen=True)
class RouteEstimate:
    """The route a solve takes and its estimated peak memory (bytes, over the problem already loaded)."""

    route: str
    bytes: int


def route_bytes(problem: Any, model: str, *, p: int | None = None, limit_bytes: int | None = None,
                n_pairs: int | None = None) -> RouteEstimate:
    """Route and estimated memory of :func:`siting.algorithms.pmedian.solve_pmedian` (``model="p-median"``) or
    :func:`siting.algorithms.warehouse.solve_uflp` (``"uflp"``) on ``problem``, before anything is built.

    The route is :func:`siting.algorithms.sparse_memory.choose_route`'s: ``"dense"`` when the dense fast path
    fits in ``limit_bytes`` (default half the memory available), else ``"sparse"``. ``n_pairs``: the pairs the
    route is given when that is not all of the problem's (a cutoff applied first).
    """
    n, m = int(problem.n_demand), int(problem.n_candidates)
    k = int(problem.n_pairs if n_pairs is None else n_pairs)
    q = p if model == "p-median" else None
    if model not in ("p-median", "uflp"):
        raise ValueError(f"route_bytes knows p-median and uflp, got {model!r}")
    route = choose_route(n, m, k, q, limit_bytes=limit_bytes)
    need = dense_route_bytes(n, m, k, q) if route == "dense" else sparse_route_bytes(n, m, k, q)
    return RouteEstimate(route, need)


def check_route_memory(problem: Any, spec: Any, params: dict[str, Any], *, limit_bytes: int | None = None,
                       share: float = DEFAULT_SHARE, source: str | None = None) -> int:
    """The guard of :func:`siting.pipeline.locate.locate`: estimate the route the run takes and refuse it
    (:class:`MemoryRefused`) when it exceeds ``limit_bytes`` (default ``share`` of the memory available).

    p-median and UFLP runs by their own algorithm (``spec.uses_algorithm(params)``) are estimated by
    :func:`route_bytes` on the pairs within ``max_distance_km`` (those the route is given), UFLP plus the copy
    of the pairs that a cutoff or a cost rate makes (:func:`uflp_copy_bytes`); every other run by the Pyomo
    model's size (:func:`model_size`, :func:`check_memory`). Returns the estimate in bytes.
    """
    if not (spec.name in ("p-median", "uflp") and spec.uses_algorithm(params)):
        return check_memory(*model_size(problem, spec, params), limit_bytes=limit_bytes, share=share,
                            source=source)
    if limit_bytes is None:
        avail = available_bytes()
        limit_bytes = None if avail is None else int(share * avail)
    cut = params.get("max_distance_km")
    k = int(problem.n_pairs) if cut is None else int(np.count_nonzero(np.asarray(problem.distance_km) <= float(cut)))
    # the same choice solve_pmedian / solve_uflp make on the pairs they are given
    est = route_bytes(problem, spec.name, p=params.get("p") if spec.name == "p-median" else None, n_pairs=k)
    copy = uflp_copy_bytes(problem, params, n_kept=k) if spec.name == "uflp" else 0
    need = est.bytes + copy
    if limit_bytes is not None and need > limit_bytes:
        from siting.core.errors import Defect

        raise MemoryRefused([Defect(
            f"the model would need about {_mb(need)} of memory ({est.route} {spec.name} route"
            f"{' and its copy of the pairs' if copy else ''}, {k:,} allowed pairs), more than the limit of "
            f"{_mb(limit_bytes)}; refused before building it. Way out: use a smaller radius or --max-distance-km "
            "(fewer allowed pairs), or fewer demand points", source)])
    return need


def uflp_copy_bytes(problem: Any, params: dict[str, Any], *, n_kept: int | None = None) -> int:
    """Bytes of the pair arrays :func:`siting.pipeline.locate.uflp_route_problem` makes for the UFLP fast path,
    held through the solve next to the problem's own (0 when it makes none).

    A cutoff that drops pairs copies the ``n_kept`` pairs within it: their indices (kept to map the allocation
    back), demand, candidate and per-unit cost, 8 B each, and the travel time when the problem has one (32 or
    40 B per kept pair; a cost rate then scales the copy, which replaces its distances). A cost rate other
    than 1 alone makes only the scaled distances (8 B per pair; the other arrays are shared).
    """
    cut = params.get("max_distance_km")
    k = int(problem.n_pairs)
    if cut is not None:
        kept = int(np.count_nonzero(np.asarray(problem.distance_km) <= float(cut))) if n_kept is None else n_kept
        if kept < k:
            return kept * (40 if getattr(problem, "time_min", None) is not None else 32)
    return 8 * k if float(params.get("cost_per_unit_km", 1.0)) != 1.0 else 0
