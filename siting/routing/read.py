"""Read road networks: OpenStreetMap ``.osm.pbf`` extracts (pyrosm) and any line layer geopandas reads.

Columns (found automatically when not named; all optional, but each line needs a class or a speed):

* road class: ``highway`` (OSM), ``road_class``, ``class``, ``fclass``, ``grade``, ``等级``;
* speed in km/h: ``speed_kmh``, ``maxspeed`` (OSM: ``"50"``, ``"30 mph"``; other values fall back to the
  class), ``speed``;
* one-way: ``oneway``: ``yes/true/1/T/是`` = one-way in drawing order, ``-1/reverse`` = against it,
  ``no/false/0``/empty = two-way (OSM ``reversible``/``alternating`` count as two-way). In OSM extracts
  ``highway=motorway`` is one-way unless tagged otherwise (the OSM convention).

Coordinates: a layer with a projected CRS is reprojected to WGS84. Longitude/latitude layers are WGS84
unless ``crs="gcj02"`` (Amap/Tencent, most Chinese road data) or ``crs="bd09"`` (Baidu) says otherwise, and
are then converted with :mod:`siting.geo.crs`. With ``crs=None`` (the default) a WGS84 layer is checked for
GCJ-02 declared as WGS84 (:func:`detect_gcj02_roads`); pass ``crs="wgs84"`` to skip the check.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from siting.core.errors import DataError, DefectCollector
from siting.geo import crs as _crs
from siting.geo.chongqing import load_districts, load_townships
from siting.routing.network import (
    RoadNetwork,
    build_network,
    load_network,
    local_projection,
    save_network,
)
from siting.routing.speeds import normalise_class, speed_table

__all__ = ["CLASS_COLUMNS", "SHAPEFILE_SIDES", "SPEED_COLUMNS", "dataset_files", "detect_gcj02_roads", "read_roads",
           "roads_from_frame"]

CLASS_COLUMNS = ("highway", "road_class", "class", "fclass", "grade", "等级")
SPEED_COLUMNS = ("speed_kmh", "maxspeed", "speed")
_SYSTEMS = ("wgs84", "gcj02", "bd09")
_YES = {"yes", "true", "1", "t", "y", "是"}
_NO = {"no", "false", "0", "f", "n", "否", "", "nan", "none", "reversible", "alternating"}
_REV = {"-1", "reverse"}


def read_roads(
    path: str | Path,
    *,
    crs: str | None = None,
    speeds: Mapping[str, float] | None = None,
    default_speed_kmh: float | None = None,
    snap_tolerance_m: float = 1.0,
    class_col: str | None = None,
    speed_col: str | None = None,
    oneway_col: str | None = None,
    layer: str | None = None,
    cache_dir: str | Path | None = None,
) -> RoadNetwork:
    """Read a road network file into a :class:`~siting.routing.RoadNetwork`.

    Parameters
    ----------
    path
        ``*.osm.pbf`` (OpenStreetMap extract, driving network via pyrosm) or any vector line layer
        geopandas reads (GeoPackage, Shapefile, GeoJSON, FlatGeobuf, ...).
    crs
        ``"wgs84"``, ``"gcj02"`` or ``"bd09"``: the system of longitude/latitude coordinates; ``None``: WGS84,
        checked for GCJ-02 in disguise.
    speeds
        Overrides of the class -> km/h table (:data:`~siting.routing.speeds.DEFAULT_SPEEDS`).
    default_speed_kmh
        Speed of lines with neither a known class nor a speed (default: such lines are an error).
    snap_tolerance_m
        Line vertices closer than this join into one node (metres).
    class_col, speed_col, oneway_col
        Column names; default: the first of the usual names present (see module docstring).
    layer
        Layer of a multi-layer file (GeoPackage).
    cache_dir
        Keep the built network in ``cache_dir`` (``.npz``, keyed by the SHA-256 of these options and of every
        file the layer is read from, :func:`dataset_files`: a Shapefile's ``.dbf`` too, or a folder's files): a
        second read of the same data skips parsing and topology.

    Raises
    ------
    DataError
        Every problem, one line each with file, row and column.
    """
    path = Path(path)
    found = DefectCollector(str(path))
    if not path.exists():
        found.add("road network file not found")
        found.raise_if_any(DataError)
    is_pbf = path.name.lower().endswith(".pbf")
    saved = None
    if cache_dir is not None:
        opts = {"crs": crs, "speeds": dict(speeds or {}), "default": default_speed_kmh, "tol": snap_tolerance_m,
                "cols": [class_col, speed_col, oneway_col], "layer": layer}
        saved = Path(cache_dir) / f"network-{_file_key(path, opts)}.npz"
        if saved.exists():
            try:
                return load_network(saved)
            except DataError:
                pass  # unreadable cache entry: rebuild and overwrite it
    try:
        gdf = _read_pbf(path) if is_pbf else gpd.read_file(path, layer=layer)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        found.add(f"cannot read the road network: {' '.join(str(exc).split())}")
        found.raise_if_any(DataError)
    net = roads_from_frame(gdf, source=str(path), crs=crs, speeds=speeds, default_speed_kmh=default_speed_kmh,
                           snap_tolerance_m=snap_tolerance_m, class_col=class_col, speed_col=speed_col,
                           oneway_col=oneway_col, osm=is_pbf)
    if saved is not None:
        save_network(net, saved)
    return net


def _file_key(path: Path, opts: dict) -> str:
    """SHA-256 of the options and of every file of the dataset (:func:`dataset_files`), names included."""
    h = hashlib.sha256(json.dumps(opts, sort_keys=True, default=str).encode())
    for f in dataset_files(path):
        h.update(f"\0{f.relative_to(path) if path.is_dir() else f.name}\0".encode())
        with open(f, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()[:32]


#: the side files of a Shapefile that the reader takes with its ``.shp`` (attributes, index, CRS, encoding)
SHAPEFILE_SIDES = (".shx", ".dbf", ".prj", ".cpg")


def dataset_files(path: str | Path) -> list[Path]:
    """The files a road layer at ``path`` is read from: every file under a folder (a folder of Shapefiles), a
    Shapefile with its side files (:data:`SHAPEFILE_SIDES`: the ``.dbf`` holds the road classes and speeds),
    or the file itself."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file())
    if path.suffix.lower() == ".shp":
        return [path] + sorted(p for p in path.parent.iterdir()
                               if p.stem == path.stem and p.suffix.lower() in SHAPEFILE_SIDES and p.is_file())
    return [path]


def _read_pbf(path: Path) -> gpd.GeoDataFrame:
    import pyrosm

    gdf = pyrosm.OSM(str(path)).get_network(network_type="driving")
    if gdf is None:
        return gpd.GeoDataFrame({"highway": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    return gdf.reset_index(drop=True)


def _pick(df: pd.DataFrame, given: str | None, names: tuple[str, ...], what: str, found: DefectCollector) -> str | None:
    if given is not None:
        if given not in df.columns:
            found.add(f"{what} column {given!r} not found; columns: {', '.join(map(str, df.columns))}", column=given)
            return None
        return given
    lower = {str(c).lower(): c for c in df.columns}
    return next((lower[n] for n in names if n in lower), None)


def _parse_speed(values: pd.Series) -> np.ndarray:
    """km/h from numbers or OSM maxspeed strings (``"50"``, ``"30 mph"``, ``"60;80"`` takes the first)."""
    if pd.api.types.is_numeric_dtype(values):
        return pd.to_numeric(values, errors="coerce").to_numpy(np.float64)
    text = values.astype("string").str.strip().str.lower()
    num = pd.to_numeric(text.str.extract(r"^(\d+(?:\.\d+)?)", expand=False), errors="coerce").to_numpy(np.float64)
    mph = text.str.contains("mph", regex=False).fillna(False).to_numpy(bool)
    return np.where(mph, num * 1.609344, num)


def _oneway(values: pd.Series | None, n: int, found: DefectCollector, col: str | None, rows: np.ndarray) -> np.ndarray:
    out = np.zeros(n, np.int8)
    if values is None:
        return out
    text = values.astype("string").fillna("").str.strip().str.lower().to_numpy(object)
    for i, t in enumerate(text):
        if t in _YES:
            out[i] = 1
        elif t in _REV:
            out[i] = -1
        elif t not in _NO:
            found.add(f"one-way value {t!r} not understood (use yes, no or -1)", row=int(rows[i]), column=col)
    return out


def _speeds(df, class_c, speed_c, speeds, default_speed_kmh, rows, found):
    """Per-row speed (km/h), class codes and class names; unknown classes without a speed are defects."""
    n = len(df)
    table = speed_table(speeds)
    speed = _parse_speed(df[speed_c]) if speed_c is not None else np.full(n, np.nan)
    speed = np.where(np.isfinite(speed) & (speed > 0), speed, np.nan)
    classes = [normalise_class(v) for v in df[class_c]] if class_c is not None else [None] * n
    names = sorted({c for c in classes if c is not None})
    code_of = {c: i for i, c in enumerate(names)}
    codes = np.array([code_of.get(c, -1) for c in classes], dtype=np.int16) if n else np.zeros(0, np.int16)
    from_class = np.array([table.get(c, np.nan) if c is not None else np.nan for c in classes], dtype=np.float64)
    need = ~np.isfinite(speed)
    speed = np.where(need, from_class, speed)
    missing = ~np.isfinite(speed)
    if default_speed_kmh is not None:
        speed = np.where(missing, float(default_speed_kmh), speed)
        missing[:] = False
    unknown: dict[object, list[int]] = {}
    for i in np.flatnonzero(missing):
        unknown.setdefault(classes[i], []).append(int(rows[i]))
    for cls, where in unknown.items():
        more = f" (and {len(where) - 1} more rows)" if len(where) > 1 else ""
        if cls is None:
            found.add(f"line has no road class and no speed{more}; give a class or speed column, or "
                      "default_speed_kmh", row=where[0], column=class_c or speed_c)
        else:
            found.add(f"unknown road class {cls!r} without a speed{more}; add it to the speeds table "
                      f"(e.g. speeds={{{cls!r}: 30}}) or give a speed column", row=where[0], column=class_c)
    return speed, codes, tuple(names)


def _lines(gdf: gpd.GeoDataFrame, rows: np.ndarray, found: DefectCollector):
    """Vertices of every valid line part: lon, lat, part number, and the input row of each part."""
    geoms = gdf.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    bad_kind = (kinds != 1) & (kinds != 5)  # 1 LineString, 5 MultiLineString
    for i in np.flatnonzero(bad_kind):
        what = "missing" if geoms[i] is None else f"{geoms[i].geom_type}, not a line"
        found.add(f"invalid line geometry ({what})", row=int(rows[i]), column="geometry")
    parts, owner = shapely.get_parts(np.where(bad_kind, None, geoms), return_index=True)
    coords, part = shapely.get_coordinates(parts, return_index=True)
    nverts = np.bincount(part, minlength=len(parts))
    finite = np.isfinite(coords).all(axis=1)
    bad_part = (nverts < 2) | (np.bincount(part, weights=~finite, minlength=len(parts)) > 0)
    bad_part |= np.bincount(part, weights=(np.abs(coords[:, 1]) > 90) | (np.abs(coords[:, 0]) > 180),
                            minlength=len(parts)) > 0
    for p in np.flatnonzero(bad_part):
        found.add("invalid line (fewer than two vertices, or coordinates missing or outside lon/lat range)",
                  row=int(rows[owner[p]]), column="geometry")
    keep_part = ~bad_part
    new_part = np.cumsum(keep_part) - 1
    vk = keep_part[part]
    return coords[vk, 0], coords[vk, 1], new_part[part[vk]], owner[keep_part]


def roads_from_frame(
    gdf: gpd.GeoDataFrame,
    *,
    source: str = "<memory>",
    crs: str | None = None,
    speeds: Mapping[str, float] | None = None,
    default_speed_kmh: float | None = None,
    snap_tolerance_m: float = 1.0,
    class_col: str | None = None,
    speed_col: str | None = None,
    oneway_col: str | None = None,
    osm: bool = False,
) -> RoadNetwork:
    """Build a :class:`~siting.routing.RoadNetwork` from a line GeoDataFrame (same options as :func:`read_roads`;
    ``osm=True`` applies OSM's implied one-way for ``highway=motorway``)."""
    found = DefectCollector(source)
    if crs is not None and str(crs).lower() not in _SYSTEMS:
        found.add(f"crs must be one of {', '.join(_SYSTEMS)}, got {crs!r}", column="crs")
        found.raise_if_any(DataError)
    if len(gdf) == 0:
        found.add("the road network is empty (no lines)")
        found.raise_if_any(DataError)
    if gdf.crs is not None and not gdf.crs.is_geographic:
        gdf = gdf.to_crs("EPSG:4326")
    rows = np.arange(1, len(gdf) + 1)
    class_c = _pick(gdf, class_col, CLASS_COLUMNS, "road class", found)
    speed_c = _pick(gdf, speed_col, SPEED_COLUMNS, "speed", found)
    one_c = _pick(gdf, oneway_col, ("oneway", "one_way", "单行"), "one-way", found)
    found.raise_if_any(DataError)
    speed, codes, names = _speeds(gdf, class_c, speed_c, speeds, default_speed_kmh, rows, found)
    way = _oneway(gdf[one_c] if one_c is not None else None, len(gdf), found, one_c, rows)
    if osm and class_c is not None:
        motorway = gdf[class_c].astype("string").fillna("").str.lower().eq("motorway").to_numpy(bool)
        told = gdf[one_c].notna().to_numpy(bool) if one_c is not None else np.zeros(len(gdf), bool)
        way = np.where(motorway & ~told, np.int8(1), way).astype(np.int8)
    lon, lat, part, owner = _lines(gdf, rows, found)
    found.raise_if_any(DataError)
    system = str(crs).lower() if crs is not None else "wgs84"
    note = system
    if crs is None and lon.size:
        evidence = detect_gcj02_roads(lon, lat)
        if evidence is not None:
            found.add(f"road coordinates look like GCJ-02 (Amap/Tencent) but are read as WGS84: {evidence}; pass "
                      'crs="gcj02" to convert them, or crs="wgs84" if they really are WGS84', column="geometry")
            found.raise_if_any(DataError)
    if system == "gcj02":
        lon, lat = (np.atleast_1d(a) for a in _crs.gcj02_to_wgs84(lon, lat))
        note = "gcj02 -> wgs84"
    elif system == "bd09":
        lon, lat = (np.atleast_1d(a) for a in _crs.bd09_to_wgs84(lon, lat))
        note = "bd09 -> wgs84"
    return build_network(lon, lat, part, speed_kmh=speed[owner], class_code=codes[owner], road_class=names,
                         oneway=way[owner], row_label=rows[owner], snap_tolerance_m=snap_tolerance_m,
                         source=source, crs_note=note)


_GCJ_MIN_REFS = 10


@functools.lru_cache(maxsize=4)
def _references(data_dir: str | None) -> tuple[np.ndarray, np.ndarray] | None:
    """WGS84 township seats (surveyed points only) and district seats of data/geo, read once."""
    try:
        t = load_townships(data_dir=data_dir)
        t = t[~t["coord_estimated"].astype(bool)]
        d = load_districts(data_dir=data_dir)
    except (DataError, OSError, ValueError):
        return None
    rlon = np.concatenate([t.geometry.x.to_numpy(), d["seat_lon"].to_numpy(float)])
    rlat = np.concatenate([t.geometry.y.to_numpy(), d["seat_lat"].to_numpy(float)])
    return rlon, rlat


def detect_gcj02_roads(lon: np.ndarray, lat: np.ndarray, *, data_dir: str | Path | None = None) -> str | None:
    """Evidence that a WGS84-declared road layer is really GCJ-02, or ``None``.

    Township seats and district seats (WGS84, ``data/geo``; townships with an estimated point left out) lie on
    or next to roads. For the reference places inside the layer's extent, the distance to the nearest road
    vertex is measured twice: at the places as they are, and at the places shifted into GCJ-02 (about 480 m
    in Chongqing); places more than 1 km from any vertex in both are left out. The layer is taken for GCJ-02
    when at least 10 places remain, the median distance at the true places exceeds 150 m and the median at
    the shifted places is under half of it. Layers away
    from Chongqing, or too sparse to tell, give no evidence.
    """
    from scipy.spatial import cKDTree

    if lon.max() < 105.0 or lon.min() > 110.5 or lat.max() < 27.9 or lat.min() > 32.5:
        return None  # nowhere near the reference places of data/geo
    ref = _references(None if data_dir is None else str(data_dir))
    if ref is None:
        return None
    rlon, rlat = ref
    inside = (rlon >= lon.min()) & (rlon <= lon.max()) & (rlat >= lat.min()) & (rlat <= lat.max())
    if inside.sum() < _GCJ_MIN_REFS:
        return None
    rlon, rlat = rlon[inside], rlat[inside]
    glon, glat = (np.atleast_1d(a) for a in _crs.wgs84_to_gcj02(rlon, rlat))
    proj = local_projection(float(np.median(rlon)), float(np.median(rlat)))
    tree = cKDTree(np.column_stack(proj.transform(lon, lat)))
    d_w = tree.query(np.column_stack(proj.transform(rlon, rlat)))[0]
    d_g = tree.query(np.column_stack(proj.transform(glon, glat)))[0]
    near = np.minimum(d_w, d_g) < 1000.0  # places the layer reaches at all (in either system)
    if near.sum() < _GCJ_MIN_REFS:
        return None
    med_w, med_g = float(np.median(d_w[near])), float(np.median(d_g[near]))
    if med_w > 150.0 and med_g < 0.5 * med_w:
        return (f"the {near.sum()} township and district seats inside the layer are a median {med_w:.0f} m from "
                f"the nearest road vertex, but only {med_g:.0f} m when shifted by the GCJ-02 offset")
    return None

