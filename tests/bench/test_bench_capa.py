"""capa-style generated files: deterministic per seed, capacities are the word ``capacity``, read back with
every capacity, refused without one."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from siting.bench.generate import capa_text, write_capa
from siting.bench.orlib import cap_has_capacity_word, read_cap
from siting.core.errors import DataError


def test_capa_text_is_deterministic_per_seed() -> None:
    assert capa_text(seed=3, m=12, n=40) == capa_text(seed=3, m=12, n=40)
    assert capa_text(seed=3, m=12, n=40) != capa_text(seed=4, m=12, n=40)


def test_capa_default_size_and_word() -> None:
    text = capa_text(seed=1)
    lines = text.splitlines()
    assert lines[0].split() == ["100", "1000"]
    assert all(line.split()[0] == "capacity" for line in lines[1:101])
    assert text.count("capacity") == 100


@pytest.mark.parametrize("capacity", [8000.0, 10000.0, 12000.0, 14000.0, 5000.0, math.inf])
def test_capa_reads_back_with_each_capacity(tmp_path: Path, capacity: float) -> None:
    f = write_capa(tmp_path / "capg.txt", seed=2, m=10, n=30)
    assert cap_has_capacity_word(f)
    prob = read_cap(f, capacity=capacity)
    assert prob.n_candidates == 10 and prob.n_demand == 30 and prob.n_pairs == 300
    assert np.all(prob.capacity == capacity)
    assert np.all((prob.weight >= 10) & (prob.weight <= 100))
    assert np.all((prob.fixed_cost_cny >= 500_000) & (prob.fixed_cost_cny <= 1_500_000))
    assert prob.meta["instance"] == f"capg{'inf' if math.isinf(capacity) else int(capacity)}"
    # per-unit cost is the Euclidean distance in a 1000 x 1000 square
    assert prob.distance_km.min() >= 0 and prob.distance_km.max() <= 1000 * math.sqrt(2) + 1e-3
    assert not list(tmp_path.glob(".*"))  # atomic write left no temporary file


def test_capa_refuses_without_capacity(tmp_path: Path) -> None:
    f = write_capa(tmp_path / "capg.txt", seed=2, m=5, n=8)
    with pytest.raises(DataError, match="capacity"):
        read_cap(f)


def test_capa_rejects_bad_size() -> None:
    with pytest.raises(ValueError):
        capa_text(seed=0, m=0, n=5)
