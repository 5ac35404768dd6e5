"""Floor 1: geodata in, checked and in WGS84; distances without a road network.

- :mod:`~siting.geo.crs`: WGS84 / GCJ-02 / BD-09 conversions.
- :mod:`~siting.geo.io`: CSV reading (UTF-8 / GBK), column detection, per-point defects.
- :mod:`~siting.geo.points`: :func:`read_points` (any vector file or CSV -> validated point GeoDataFrame) and
  GCJ-02 detection.
- :mod:`~siting.geo.chongqing`: the shipped Chongqing layers (districts, planning units, townships, logistics).
- :mod:`~siting.geo.shipped`: where the shipped data and scenarios are (``$SITING_DATA_DIR``, package data,
  checkout); scenario lookup by name and copying.
- :mod:`~siting.geo.distance`: great-circle distances, nearest points and radius pairs (KD-tree on the sphere).
- :mod:`~siting.geo.far`: points far from every point of the other side (probably wrong coordinates), the rule
  of ``siting locate`` and ``siting run``.
- :mod:`~siting.geo.od`: user OD matrices (:class:`ODMatrix`, :func:`read_od_matrix`).
- :mod:`~siting.geo.adapt`: point layers or files -> :class:`~siting.core.problem.Problem`.
"""

from siting.geo.adapt import problem_from_files, problem_from_geodataframes
from siting.geo.chongqing import (
    REQUIRED_FILES,
    STRUCTURES,
    default_data_dir,
    load_development_zones,
    load_districts,
    load_logistics_points,
    load_townships,
    load_units,
)
from siting.geo.distance import distance_matrix_km, haversine_km, pairs_within
from siting.geo.od import ODMatrix, read_od_matrix
from siting.geo.points import detect_gcj02, read_points, validate_points

__all__ = [
    "ODMatrix", "REQUIRED_FILES", "STRUCTURES", "default_data_dir", "detect_gcj02", "distance_matrix_km", "haversine_km",
    "load_development_zones", "load_districts", "load_logistics_points", "load_townships", "load_units",
    "pairs_within", "problem_from_files", "problem_from_geodataframes", "read_od_matrix", "read_points",
    "validate_points",
]
