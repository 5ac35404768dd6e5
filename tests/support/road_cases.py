"""Generated road layers with known distances (grid, river with one bridge, one-way ring) for routing tests.

All layers are GeoDataFrames of LineStrings in WGS84 near the equator, where 0.01 degree is about 1.112 km
(:data:`STEP_KM`), with columns ``road_class`` and ``oneway``.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import shapely

R_KM = 6371.0088
STEP_DEG = 0.01
STEP_KM = R_KM * math.radians(STEP_DEG)  # one grid step along a meridian (and, to 1e-6, along the equator)


def grid_lines(nx: int, ny: int, *, lon0: float = 0.0, lat0: float = 0.0, skip_x: set[int] = frozenset(),
               road_class: str = "二级") -> gpd.GeoDataFrame:
    """A grid of ``nx`` x ``ny`` crossings, one line per row and per column (a vertex at every crossing).

    Columns listed in ``skip_x`` get no vertical line (used to leave room for a river).
    """
    lines = []
    for j in range(ny):
        xs = lon0 + STEP_DEG * np.arange(nx)
        lines.append(shapely.linestrings(np.column_stack([xs, np.full(nx, lat0 + STEP_DEG * j)])))
    for i in range(nx):
        if i in skip_x:
            continue
        ys = lat0 + STEP_DEG * np.arange(ny)
        lines.append(shapely.linestrings(np.column_stack([np.full(ny, lon0 + STEP_DEG * i), ys])))
    return gpd.GeoDataFrame({"road_class": [road_class] * len(lines), "oneway": ["no"] * len(lines)},
                            geometry=lines, crs="EPSG:4326")


def river_with_one_bridge(n: int = 6, *, bridge_row: int = 0) -> gpd.GeoDataFrame:
    """Two n x n grids (west bank columns 0..n-1, east bank n..2n-1), joined only at ``bridge_row``."""
    lines = []
    for bank in (0, n):
        xs = STEP_DEG * (bank + np.arange(n))
        for j in range(n):
            lines.append(shapely.linestrings(np.column_stack([xs, np.full(n, STEP_DEG * j)])))
        for i in range(n):
            lines.append(shapely.linestrings(np.column_stack([np.full(n, xs[i]), STEP_DEG * np.arange(n)])))
    y = STEP_DEG * bridge_row
    lines.append(shapely.linestrings([[STEP_DEG * (n - 1), y], [STEP_DEG * n, y]]))  # the bridge
    classes = ["三级"] * (len(lines) - 1) + ["二级"]
    return gpd.GeoDataFrame({"road_class": classes, "oneway": ["no"] * len(lines)}, geometry=lines,
                            crs="EPSG:4326")
