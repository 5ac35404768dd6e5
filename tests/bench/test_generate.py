"""Seeded instance generator: determinism, Beasley's recipe, and round trips through the OR-Library readers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components
import scipy.sparse as sp

from siting.bench.generate import cap_text, generate_pmed_edges, pmed_edge_count, pmed_text, write_cap, write_pmed
from siting.bench.orlib import read_cap, read_pmed


def test_pmed_same_seed_same_text_other_seed_other_text() -> None:
    assert pmed_text(150, 15, seed=7) == pmed_text(150, 15, seed=7)
    assert pmed_text(150, 15, seed=7) != pmed_text(150, 15, seed=8)
    assert cap_text(10, 40, seed=1) == cap_text(10, 40, seed=1)
    assert cap_text(10, 40, seed=1) != cap_text(10, 40, seed=2)


@pytest.mark.parametrize("n", [100, 400, 1000])
def test_pmed_edges_follow_beasley(n: int) -> None:
    i, j, c = generate_pmed_edges(n, seed=n)
    assert len(i) == pmed_edge_count(n) == n * n // 50  # the density of the published files
    assert i.min() >= 1 and j.min() >= 1 and max(i.max(), j.max()) <= n and np.all(i != j)
    assert c.min() >= 1 and c.max() <= 100 and np.issubdtype(c.dtype, np.integer)
    g = sp.coo_matrix((np.ones(len(i)), (i - 1, j - 1)), shape=(n, n))
    assert connected_components(g, directed=False)[0] == 1
    # the first n-1 lines alone form a spanning tree
    t = sp.coo_matrix((np.ones(n - 1), (i[: n - 1] - 1, j[: n - 1] - 1)), shape=(n, n))
    assert connected_components(t, directed=False)[0] == 1


def test_generated_pmed_reads_back(tmp_path: Path) -> None:
    f = write_pmed(tmp_path / "pmed_g.txt", 200, 20, seed=3)
    prob = read_pmed(f)
    assert prob.n_demand == 200 and prob.meta["p"] == 20 and prob.meta["n_edges"] == 800
    d = prob.matrix().toarray()
    assert np.all(np.isfinite(d)) and np.all(np.diag(d) == 0) and np.array_equal(d, d.T)
    # the reader counts lines that repeat an earlier undirected edge (the last cost wins)
    i, j, _ = generate_pmed_edges(200, seed=3)
    assert prob.meta["repeated_edges"] == len(i) - len({(min(a, b), max(a, b)) for a, b in zip(i, j)})
    with pytest.raises(ValueError):
        pmed_text(10, 11, seed=0)
    with pytest.raises(ValueError):
        generate_pmed_edges(10, seed=0, n_edges=5)


def test_generated_cap_reads_back(tmp_path: Path) -> None:
    f = write_cap(tmp_path / "capg.txt", 12, 60, seed=4, capacity_ratio=2.5)
    prob = read_cap(f)
    assert prob.n_candidates == 12 and prob.n_demand == 60 and prob.n_pairs == 720
    assert prob.capacity.sum() == pytest.approx(2.5 * prob.weight.sum(), rel=0.02)
    assert np.all((prob.weight >= 5) & (prob.weight <= 35))
    assert np.all(prob.fixed_cost_cny > 0)
    assert not list(tmp_path.glob(".*"))  # the atomic write left no temporary file
