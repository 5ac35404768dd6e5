"""TSPLIB point sets (``*.tsp``, ``NODE_COORD_SECTION``) as p-median instances.

Convention of the large-scale exact p-median literature (Duran-Mateluna, Ales & Elloumi, EJOR 2023; see
``shared/benchmarks/tsplib/README.md``): every point is both a demand (weight 1) and a candidate, and
``d(i, j) = floor(sqrt((xi - xj)^2 + (yi - yj)^2))`` -- Euclidean distance rounded *down* (not TSPLIB's
nearest integer). Distances are in the file's coordinate units (named ``distance_km`` in
:class:`~siting.core.problem.Problem` by the package's convention; they are not kilometres).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from siting.core.errors import DataError, DefectCollector
from siting.core.problem import Problem


def read_tsp_points(path: str | Path) -> np.ndarray:
    """The ``(n, 2)`` coordinates of a TSPLIB ``EUC_2D`` file, in node order.

    Raises
    ------
    DataError
        Every malformed coordinate line (file and line), a missing ``NODE_COORD_SECTION``, a count that
        differs from ``DIMENSION`` or node ids that are not ``1..n``.
    """
    path = Path(path)
    found = DefectCollector(str(path))
    lines = path.read_text().splitlines()
    dim, start = None, None
    for k, line in enumerate(lines):
        key = line.split(":")[0].strip().upper()
        if key == "DIMENSION":
            try:
                dim = int(line.split(":", 1)[1])
            except (IndexError, ValueError):
                found.add(f"DIMENSION must be an integer, got {line!r}", row=f"line {k + 1}")
        elif key == "EDGE_WEIGHT_TYPE" and "EUC_2D" not in line.upper():
            found.add(f"only EUC_2D point sets are supported, got {line.strip()!r}", row=f"line {k + 1}")
        elif line.strip().upper().startswith("NODE_COORD_SECTION"):
            start = k + 1
            break
    if start is None:
        found.add("no NODE_COORD_SECTION")
        found.raise_if_any(DataError)
    ids, xy = [], []
    for k in range(start, len(lines)):
        parts = lines[k].split()
        if not parts:
            continue
        if parts[0].upper() == "EOF":
            break
        try:
            if len(parts) != 3:
                raise ValueError
            ids.append(int(parts[0]))
            xy.append((float(parts[1]), float(parts[2])))
        except ValueError:
            found.add(f"expected 'index x y', got {lines[k].strip()!r}", row=f"line {k + 1}")
    if dim is not None and len(xy) != dim:
        found.add(f"DIMENSION says {dim} nodes, the section has {len(xy)}", column="DIMENSION")
    if ids and sorted(ids) != list(range(1, len(ids) + 1)):
        found.add("node ids must be 1..n, each once", column="index")
    found.raise_if_any(DataError)
    pts = np.asarray(xy, dtype=np.float64)
    return pts[np.argsort(np.asarray(ids), kind="stable")]


def floor_distances(points: np.ndarray) -> np.ndarray:
    """``(n, n)`` matrix of ``floor`` Euclidean distances (the convention above), computed exactly with
    float64 differences."""
    pts = np.asarray(points, dtype=np.float64)
    diff = pts[:, None, :] - pts[None, :, :]
    return np.floor(np.sqrt((diff * diff).sum(axis=2)))


def read_tsplib_pmedian(path: str | Path, p: int) -> Problem:
    """A TSPLIB point set as a p-median :class:`~siting.core.problem.Problem` (every point a demand of
    weight 1 and a candidate; ``meta`` holds ``p``, ``instance`` and ``set="tsplib"``)."""
    path = Path(path)
    pts = read_tsp_points(path)
    if not 1 <= p <= len(pts):
        raise DataError(f"{path}: p must be in 1..{len(pts)}, got {p}")
    return Problem.from_cost_matrix(floor_distances(pts), source=str(path),
                                    meta={"p": int(p), "instance": path.stem, "set": "tsplib"})
