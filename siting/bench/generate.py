"""Random benchmark instances in OR-Library format, so the same readers load them.

p-median (``pmed``-like), as Beasley (1985, EJOR 21:270-273) describes the OR-Library ``pmed`` files:
``n`` vertices; a random spanning tree first, so that the graph is connected, then further random edges
until the edge count is reached; each edge cost uniform on the integers 1..100. The default edge count
``n**2 // 50`` is the density of the published files (200 edges at n = 100, 16,200 at n = 900). As in the
published files, the extra edges are drawn without checking for repeats, so a few edges appear twice with
different costs and the reader's keep-the-last-line rule matters.

Warehouse location (``cap``-like): the published ``cap`` files give no generation recipe, so the recipe
here is an **assumption** in the spirit of Cornuéjols, Sridharan and Thizy (1991): sites and customers
uniform in a 1000 x 1000 square, demand uniform on the integers 5..35, per-unit transport cost equal to the
Euclidean distance / 10, ``c_ij`` = demand_j x per-unit cost (the cost of serving ALL of customer j from i,
as in the OR-Library files), capacities uniform on 10..160 scaled so that total capacity is
``capacity_ratio`` x total demand, fixed cost uniform on 0..90 plus uniform 100..110 x sqrt(capacity).

``capa``-like (:func:`capa_text`, :func:`write_capa`): the OR-Library ``capa/capb/capc`` files (m = 100
warehouses, n = 1,000 customers) write the literal word ``capacity`` in place of every capacity, one file
standing for four problems that differ only in that common value (capa 8000..14000, capb 5000..8000, capc
5000..7250). The published files are not used here, so these instances are generated, and their recipe is an
**assumption**, chosen so that capacities in 5,000..14,000 bind as they do in the published sets (the
uncapacitated optimum opens a handful of sites; capacity 5,000 forces roughly twice as many): sites and
customers uniform in a 1000 x 1000 square, demand uniform on the integers 10..100 (about 55,000 in all at
n = 1,000), per-unit transport cost equal to the Euclidean distance, ``c_ij`` = demand_j x per-unit cost
(5 decimals), fixed cost uniform on 500,000..1,500,000 (3 decimals), the same for every capacity. Read such a
file with ``read_cap(path, capacity=V)`` (``math.inf`` for the uncapacitated problem).

Every generator takes a ``seed`` and is deterministic for a given seed (numpy ``default_rng``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

__all__ = [
    "pmed_edge_count",
    "generate_pmed_edges",
    "pmed_text",
    "cap_text",
    "write_pmed",
    "write_cap",
    "capa_text",
    "write_capa",
]


def pmed_edge_count(n: int) -> int:
    """Edge count of the published ``pmed`` files for ``n`` vertices: ``n**2 // 50`` (at least ``n - 1``)."""
    return max(n - 1, n * n // 50)


def generate_pmed_edges(
    n: int, *, seed: int, n_edges: int | None = None, max_cost: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random connected graph as in Beasley (1985).

    Parameters
    ----------
    n
        Number of vertices (>= 2).
    seed
        Seed of the random generator.
    n_edges
        Number of edge lines; default :func:`pmed_edge_count`. Must be >= ``n - 1``.
    max_cost
        Edge costs are uniform integers in ``1..max_cost``.

    Returns
    -------
    (i, j, cost) : int64 arrays of length ``n_edges``, 1-based vertex ids; the first ``n - 1`` lines form a
    random spanning tree, the rest are random pairs (repeats possible).
    """
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    e = pmed_edge_count(n) if n_edges is None else int(n_edges)
    if e < n - 1:
        raise ValueError(f"n_edges must be >= n - 1 = {n - 1} to connect the graph, got {e}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    # spanning tree: the k-th vertex of a random order joins a random earlier one
    parent = order[(rng.random(n - 1) * np.arange(1, n)).astype(np.int64)]
    ti, tj = order[1:], parent
    extra = e - (n - 1)
    ei = rng.integers(0, n, size=extra)
    ej = (ei + rng.integers(1, n, size=extra)) % n  # never a self-loop
    i = np.concatenate([ti, ei]) + 1
    j = np.concatenate([tj, ej]) + 1
    cost = rng.integers(1, max_cost + 1, size=e)
    return i.astype(np.int64), j.astype(np.int64), cost.astype(np.int64)


def pmed_text(n: int, p: int, *, seed: int, n_edges: int | None = None) -> str:
    """A ``pmedN.txt``-format instance: header ``n n_edges p`` then one ``i j cost`` line per edge."""
    if not 1 <= p <= n:
        raise ValueError(f"p must be in 1..{n}, got {p}")
    i, j, c = generate_pmed_edges(n, seed=seed, n_edges=n_edges)
    lines = [f" {n} {len(i)} {p} "]
    lines.extend(f" {a} {b} {w} " for a, b, w in zip(i.tolist(), j.tolist(), c.tolist()))
    return "\n".join(lines) + "\n"


def cap_text(m: int, n: int, *, seed: int, capacity_ratio: float = 3.0) -> str:
    """A ``capNN.txt``-format warehouse-location instance (recipe in the module docstring: an assumption)."""
    if m < 1 or n < 1:
        raise ValueError(f"m and n must be >= 1, got m={m}, n={n}")
    rng = np.random.default_rng(seed)
    sites = rng.uniform(0, 1000, size=(m, 2))
    customers = rng.uniform(0, 1000, size=(n, 2))
    demand = rng.integers(5, 36, size=n).astype(float)
    raw_cap = rng.integers(10, 161, size=m).astype(float)
    cap = np.ceil(raw_cap * capacity_ratio * demand.sum() / raw_cap.sum())
    fixed = np.round(rng.uniform(0, 90, size=m) + rng.uniform(100, 110, size=m) * np.sqrt(cap), 3)
    dist = np.hypot(*(sites[:, None, :] - customers[None, :, :]).transpose(2, 0, 1))  # (m, n)
    c = np.round(demand[None, :] * dist / 10.0, 5)
    return _cap_lines(m, n, [str(int(a)) for a in cap], fixed, demand, c)


def _cap_lines(m: int, n: int, cap: list[str], fixed: np.ndarray, demand: np.ndarray, c: np.ndarray) -> str:
    out = [f" {m} {n} "]
    out.extend(f" {a} {b:.3f} " for a, b in zip(cap, fixed))
    for jj in range(n):
        out.append(f" {int(demand[jj])} ")
        row = c[:, jj]
        for s in range(0, m, 7):  # wrap cost lines like the published files
            out.append(" " + " ".join(f"{v:.5f}" for v in row[s : s + 7]) + " ")
    return "\n".join(out) + "\n"


def capa_text(*, seed: int, m: int = 100, n: int = 1000) -> str:
    """A ``capa.txt``-format instance: every capacity is the word ``capacity`` (recipe in the module
    docstring: an assumption). Read it with ``read_cap(path, capacity=V)``.

    Parameters
    ----------
    seed
        Seed of the random generator (the text is a deterministic function of ``seed``, ``m``, ``n``).
    m, n
        Warehouses and customers; the published ``capa/capb/capc`` have ``m = 100``, ``n = 1000``.
    """
    if m < 1 or n < 1:
        raise ValueError(f"m and n must be >= 1, got m={m}, n={n}")
    rng = np.random.default_rng(seed)
    sites = rng.uniform(0, 1000, size=(m, 2))
    customers = rng.uniform(0, 1000, size=(n, 2))
    demand = rng.integers(10, 101, size=n).astype(float)
    fixed = np.round(rng.uniform(500_000, 1_500_000, size=m), 3)
    dist = np.hypot(*(sites[:, None, :] - customers[None, :, :]).transpose(2, 0, 1))  # (m, n)
    c = np.round(demand[None, :] * dist, 5)
    return _cap_lines(m, n, ["capacity"] * m, fixed, demand, c)


def _write_atomic(path: Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_pmed(path: str | Path, n: int, p: int, *, seed: int, n_edges: int | None = None) -> Path:
    """Write :func:`pmed_text` to ``path`` (atomically); return the path."""
    return _write_atomic(Path(path), pmed_text(n, p, seed=seed, n_edges=n_edges))


def write_cap(path: str | Path, m: int, n: int, *, seed: int, capacity_ratio: float = 3.0) -> Path:
    """Write :func:`cap_text` to ``path`` (atomically); return the path."""
    return _write_atomic(Path(path), cap_text(m, n, seed=seed, capacity_ratio=capacity_ratio))


def write_capa(path: str | Path, *, seed: int, m: int = 100, n: int = 1000) -> Path:
    """Write :func:`capa_text` to ``path`` (atomically); return the path."""
    return _write_atomic(Path(path), capa_text(seed=seed, m=m, n=n))
