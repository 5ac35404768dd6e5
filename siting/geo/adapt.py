"""Point layers and files -> :class:`~siting.core.problem.Problem`: the one geo adapter of single-level problems.

One place checks both GeoDataFrames once (CRS present, geometry present, non-empty Points, attribute
columns present and well-formed), converts them to EPSG:4326, and computes the allowed pairs with
:func:`siting.geo.distance.pairs_within` (great-circle x circuity, sparse when a cutoff is given) or from a
user OD matrix (:class:`siting.geo.od.ODMatrix`: only the pairs it lists are allowed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from siting.core.errors import DataError, DefectCollector
from siting.core.limits import BOUNDS_DOC, FAR_KM, MAX_CAPACITY, MAX_COST_CNY
from siting.core.problem import Problem

__all__ = ["problem_from_geodataframes", "problem_from_files", "far_point_defects"]

_TRUE = {"1", "true", "t", "yes", "y", "是"}
_FALSE = {"0", "false", "f", "no", "n", "否", "", "nan", "none"}


def _points(gdf: Any, label: str, found: DefectCollector) -> tuple[np.ndarray, np.ndarray] | None:
    import geopandas as gpd

    if not isinstance(gdf, gpd.GeoDataFrame):
        found.add(f"{label} must be a GeoDataFrame, got {type(gdf).__name__}", file=label)
        return None
    if gdf.crs is None:
        found.add("has no coordinate reference system; set one (e.g. EPSG:4326)", file=label)
        return None
    g = gdf.geometry
    if not gdf.crs.equals("EPSG:4326"):
        g = g.to_crs("EPSG:4326")
    ok = True
    for r in np.flatnonzero(g.isna().to_numpy() | g.is_empty.to_numpy()):
        found.add("geometry is missing or empty", file=label, row=int(r) + 1, column="geometry")
        ok = False
    kinds = g.geom_type.to_numpy()
    for r in np.flatnonzero((kinds != "Point") & ~(g.isna().to_numpy() | g.is_empty.to_numpy())):
        found.add(f"geometry must be a Point, got {kinds[r]}", file=label, row=int(r) + 1, column="geometry")
        ok = False
    if not ok:
        return None
    return g.x.to_numpy(np.float64), g.y.to_numpy(np.float64)


def _column(gdf: Any, col: str | None, label: str, found: DefectCollector, *, kind: str,
            bound: tuple[float, str] | None = None) -> np.ndarray | None:
    """A numeric (``kind='num'``, or ``'cap'`` where blank means unlimited) or boolean column; ``bound``
    (value, name in :mod:`siting.core.limits`) caps the finite numbers."""
    if col is None:
        return None
    if col not in gdf.columns:
        found.add(f"column is missing (columns present: {', '.join(map(str, gdf.columns))})",
                  file=label, column=col)
        return None
    s = gdf[col]
    rows = np.arange(len(s)) + 1
    if kind == "bool":
        text = s.astype(str).str.strip().str.lower()
        bad = ~text.isin(_TRUE | _FALSE).to_numpy()
        for r in rows[bad]:
            found.add(f"must be true/false (or 1/0, yes/no), got {s.iloc[r - 1]!r}", file=label, row=int(r),
                      column=col)
        return text.isin(_TRUE).to_numpy()
    blank = (s.isna() | (s.astype(str).str.strip() == "")).to_numpy()
    num = pd.to_numeric(s, errors="coerce").to_numpy(np.float64)
    if kind == "cap":
        num = np.where(blank, np.inf, num)
        bad = ~blank & ~(np.isfinite(num) & (num >= 0)) & ~(num == np.inf)
    else:
        bad = blank | ~np.isfinite(num) | (num < 0)
    for r in rows[bad]:
        v = s.iloc[r - 1]
        found.add(f"must be a number >= 0, got {'nothing' if blank[r - 1] else repr(v)}", file=label,
                  row=int(r), column=col)
    if bound is not None:
        big = ~bad & np.isfinite(num) & (num > bound[0])
        for r in rows[big]:
            found.add(f"{num[r - 1]:g} is above the bound {bound[0]:g} ({BOUNDS_DOC}.{bound[1]})", file=label,
                      row=int(r), column=col)
    return num


def problem_from_geodataframes(
    demand: Any,
    candidates: Any,
    *,
    demand_id: str | None = None,
    candidate_id: str | None = None,
    weight: str | None = None,
    fixed_cost: str | None = None,
    capacity: str | None = None,
    required: str | None = None,
    forbidden: str | None = None,
    max_distance_km: float | None = None,
    circuity: float = 1.0,
    od_matrix: Any = None,
    demand_label: str = "demand",
    candidates_label: str = "candidates",
    source: str = "geodata",
) -> Any:
    """Build from two point GeoDataFrames (the one geo adapter).

    CRS and geometry are checked once (a CRS must be set; every geometry a non-empty Point) and
    converted to EPSG:4326. Columns name the ids (default: the index), demand ``weight`` (default 1),
    candidate ``fixed_cost`` (CNY, default 0), ``capacity`` (blank = unlimited), ``required`` and
    ``forbidden`` (true/false). Pairs: those of ``od_matrix`` (a :class:`siting.geo.ODMatrix`;
    unlisted pairs are not allowed), else great-circle distance x ``circuity`` from
    :func:`siting.geo.pairs_within`; ``max_distance_km`` drops farther pairs. Every problem found
    is raised at once as :class:`DataError`, with file label, row and column.
    """
    from siting.geo.distance import pairs_within
    from siting.core.problem import Problem

    found = DefectCollector(source)
    pd_ = _points(demand, demand_label, found)
    pc_ = _points(candidates, candidates_label, found)
    found.raise_if_any(DataError)
    assert pd_ is not None and pc_ is not None
    ids = {}
    layers = ((demand, demand_id, demand_label, "d"), (candidates, candidate_id, candidates_label, "c"))
    for gdf, col, label, key in layers:
        if col is None:
            ids[key] = np.array([str(x) for x in gdf.index], dtype=object)
        elif col not in gdf.columns:
            found.add(f"id column is missing (columns present: {', '.join(map(str, gdf.columns))})",
                      file=label, column=col)
        else:
            s = gdf[col]
            blank = (s.isna() | (s.astype(str).str.strip() == "")).to_numpy()
            for r in np.flatnonzero(blank):
                found.add("id is empty", file=label, row=int(r) + 1, column=col)
            text = s.astype(str).str.strip()
            dup = text.duplicated(keep="first").to_numpy() & ~blank
            for r in np.flatnonzero(dup):
                found.add(f"duplicate id {text.iloc[r]!r}", file=label, row=int(r) + 1, column=col)
            ids[key] = text.to_numpy(dtype=object)
    w = _column(demand, weight, demand_label, found, kind="num")
    f = _column(candidates, fixed_cost, candidates_label, found, kind="num", bound=(MAX_COST_CNY, "MAX_COST_CNY"))
    cap = _column(candidates, capacity, candidates_label, found, kind="cap", bound=(MAX_CAPACITY, "MAX_CAPACITY"))
    req = _column(candidates, required, candidates_label, found, kind="bool")
    forb = _column(candidates, forbidden, candidates_label, found, kind="bool")
    found.raise_if_any(DataError)
    time_min = None
    if od_matrix is not None:
        from siting.geo.od import od_pairs

        pairs = od_pairs(od_matrix, ids["d"], ids["c"], max_distance_km=np.inf if max_distance_km is None else max_distance_km)
        ia, ib, dist, time_min = pairs.ia, pairs.ib, pairs.distance_km, pairs.time_min
        distance_source = f"OD matrix {od_matrix.source}".strip()
    else:
        radius = np.inf if max_distance_km is None else float(max_distance_km)
        ia, ib, dist = pairs_within(pd_[0], pd_[1], pc_[0], pc_[1], radius, circuity=circuity)
        distance_source = f"great-circle x circuity {circuity:g}"
    return Problem(
        demand_ids=ids["d"],
        weight=w,
        candidate_ids=ids["c"],
        pair_demand=ia,
        pair_candidate=ib,
        distance_km=dist,
        time_min=time_min,
        fixed_cost_cny=f,
        capacity=cap,
        required=req,
        forbidden=forb,
        source=source,
        meta={"distance_source": distance_source, "circuity": float(circuity),
              "max_distance_km": max_distance_km},
    )


# ---- files -> Problem (moved from siting.pipeline.locate)
# ---------------------------------------------------------------------------------------- files
def problem_from_files(
    demand: str,
    candidates: str,
    *,
    id_col: str | None = None,
    weight_col: str | None = None,
    name_col: str | None = None,
    fixed_col: str | None = None,
    cap_col: str | None = None,
    req_col: str | None = None,
    forb_col: str | None = None,
    od_matrix: str | None = None,
    max_distance_km: float | None = None,
    circuity: float | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    coord_system: str | None = None,
    crs: str | None = None,
    allow_far: bool = False,
    found: Any = None,
    error: type = DataError,
) -> tuple[Problem, Any, Any]:
    """Read the point files (and OD matrix) of ``siting locate`` and build its :class:`Problem`.

    The one reader of a locate run's inputs, shared by the CLI and by :func:`siting.provenance.audit.audit` (which
    rebuilds the problem of a finished run from its manifest). Problems found in the files are added to
    ``found`` (a :class:`~siting.core.errors.DefectCollector`, so that the caller can report them with its own)
    and raised together as ``error``. ``lon_col``, ``lat_col``, ``coord_system`` and ``crs`` apply to both
    files (:func:`siting.geo.read_points`). Unless ``allow_far``, a demand point farther than
    :data:`siting.core.limits.FAR_KM` (great circle) from every candidate, or a candidate that far from every
    demand point, is an error (:func:`far_point_defects`).

    Returns
    -------
    (Problem, demand GeoDataFrame, candidates GeoDataFrame)
    """
    from pathlib import Path

    found = found if found is not None else DefectCollector()
    dem, cand, od = _read_inputs(demand, candidates, od_matrix, found, id_col=id_col, weight_col=weight_col,
                                 lon_col=lon_col, lat_col=lat_col, coord_system=coord_system, crs=crs)
    found.raise_if_any(error)
    if name_col is not None:
        for path, gdf in ((demand, dem), (candidates, cand)):
            if name_col not in gdf.columns:
                found.add(f"name column is missing (columns present: {', '.join(map(str, gdf.columns))})",
                          file=str(path), column=name_col)
        found.raise_if_any(DataError)
        dem = dem.assign(name=dem[name_col].astype(str))
        cand = cand.assign(name=cand[name_col].astype(str))
    if not allow_far:
        found.extend(far_point_defects(dem, cand, demand_file=str(demand), candidates_file=str(candidates)))
        found.raise_if_any(DataError)
    problem = problem_from_geodataframes(
        dem, cand, demand_id="id", candidate_id="id", weight="weight", fixed_cost=fixed_col,
        capacity=cap_col, required=req_col, forbidden=forb_col, max_distance_km=max_distance_km,
        circuity=circuity if circuity is not None else 1.0, od_matrix=od,
        demand_label=str(demand), candidates_label=str(candidates),
        source=f"{Path(demand).name} x {Path(candidates).name}",
    )
    return problem, dem, cand


def _read_inputs(demand: str, candidates: str, od_matrix: str | None, found: DefectCollector, *,
                 id_col: str | None, weight_col: str | None, lon_col: str | None, lat_col: str | None,
                 coord_system: str | None, crs: str | None) -> tuple[Any, Any, Any]:
    """Both point files and the OD matrix, every problem of all three added to ``found``."""
    from siting.geo.od import read_od_matrix
    from siting.geo.points import read_points

    layers: dict[str, Any] = {"demand": None, "candidates": None}
    common = {"id_col": id_col, "lon_col": lon_col, "lat_col": lat_col, "coord_system": coord_system, "crs": crs}
    for label, path, kw in (("demand", demand, {"weight_col": weight_col}), ("candidates", candidates, {})):
        try:  # read both files (and the OD matrix) before reporting, so every problem shows at once
            layers[label] = read_points(path, **common, **kw)
        except DataError as exc:
            found.extend(exc.defects)
    od = None
    if od_matrix is not None:
        try:
            od = read_od_matrix(od_matrix)
        except DataError as exc:
            found.extend(exc.defects)
    return layers["demand"], layers["candidates"], od


def far_point_defects(demand: Any, candidates: Any, *, demand_file: str, candidates_file: str,
                      far_km: float = FAR_KM) -> list:
    """Points that are probably wrong coordinates: a demand point farther than ``far_km`` (great circle,
    default :data:`siting.core.limits.FAR_KM` = 500 km) from every candidate, and a candidate that far from
    every demand point (a point in Paris among points in Chongqing). One defect per point, with its row
    (:func:`siting.geo.far.far_defects`, which ``siting run`` uses too)."""
    from siting.geo.far import PlacedPoints, far_defects

    dem = PlacedPoints.from_frame(demand, file=demand_file, label="demand point")
    cand = PlacedPoints.from_frame(candidates, file=candidates_file, label="candidate")
    return far_defects(dem, cand, far_km=far_km) + far_defects(cand, dem, far_km=far_km)
