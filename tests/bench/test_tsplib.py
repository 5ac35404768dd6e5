"""TSPLIB reader: floor-Euclidean distances, defects reported with their lines."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from siting.bench.tsplib import floor_distances, read_tsp_points, read_tsplib_pmedian
from siting.core.errors import DataError

SHARED = Path(os.environ.get("SITING_SHARED") or Path(__file__).resolve().parents[3] / "shared")
TSPLIB = SHARED / "benchmarks" / "tsplib"

GOOD = """NAME : t4
TYPE : TSP
DIMENSION : 4
EDGE_WEIGHT_TYPE : EUC_2D
NODE_COORD_SECTION
2 3.0 4.0
1 0.0 0.0
3 1.5e+00 0.9
4 0 10
EOF
"""


def test_reads_points_in_node_order_and_floors_distances(tmp_path) -> None:
    f = tmp_path / "t4.tsp"
    f.write_text(GOOD)
    pts = read_tsp_points(f)
    assert pts.tolist() == [[0.0, 0.0], [3.0, 4.0], [1.5, 0.9], [0.0, 10.0]]
    d = floor_distances(pts)
    assert d[0, 1] == 5.0 and d[0, 2] == 1.0 and d[1, 3] == 6.0  # sqrt(45) = 6.7 -> 6 (down, not nint)
    prob = read_tsplib_pmedian(f, 2)
    assert prob.n_demand == prob.n_candidates == 4 and prob.meta["p"] == 2
    assert np.allclose(prob.matrix().toarray()[0, 1], 5.0)


def test_every_defect_is_reported_with_its_line(tmp_path) -> None:
    f = tmp_path / "bad.tsp"
    f.write_text(GOOD.replace("3 1.5e+00 0.9", "3 x 0.9").replace("4 0 10", "4 0"))
    with pytest.raises(DataError) as err:
        read_tsp_points(f)
    msg = str(err.value)
    assert "line 8" in msg and "line 9" in msg
    g = tmp_path / "g.tsp"
    g.write_text(GOOD)
    with pytest.raises(DataError, match="p must be"):
        read_tsplib_pmedian(g, 5)


@pytest.mark.skipif(not TSPLIB.is_dir(), reason="TSPLIB point sets not in ../shared")
@pytest.mark.parametrize(("name", "n"), [("fl1400", 1400), ("u1432", 1432), ("vm1748", 1748)])
def test_shared_point_sets_read(name: str, n: int) -> None:
    pts = read_tsp_points(TSPLIB / f"{name}.tsp")
    assert pts.shape == (n, 2) and np.isfinite(pts).all()
