from __future__ import annotations

import os
from pathlib import Path
import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS
from pyproj.exceptions import CRSError
from siting.geo import crs as _crs
from siting.geo.io import ID_NAMES, WEIGHT_NAMES, collect_point_defects, detect_column, detect_coord_columns, read_csv_any
from siting.core.errors import DataError, DefectCollector
from siting.geo.chongqing import GEOM_X, GEOM_Y, WGS84, default_data_dir, load_districts, load_logistics_points, load_townships


VECTOR_SUFFIXES = (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".gml", ".kml", ".zip")


CSV_SUFFIXES = (".csv", ".tsv", ".txt")


EXCEL_SUFFIXES = (".xlsx", ".xlsm")


COORD_SYSTEMS = ("wgs84", "gcj02", "bd09")


def validate_points(
    df: pd.DataFrame,
    *,
    file: str,
    id_col: str | None,
    lon_col: str,
    lat_col: str,
    weight_col: str | None = None,
) -> None:
    """Check a table of points (WGS84 degrees) and raise one :class:`DataError` listing every problem.

    Problems, each reported with ``file``, 1-based data row and column: missing columns, empty or
    duplicate ids, missing / non-numeric / infinite coordinates, latitude and longitude swapped
    (reported as "latitude and longitude look swapped"), coordinates out of range, missing, non-numeric,
    infinite or negative weights.
    """
    found = DefectCollector(file)
    collect_point_defects(df, found, id_col=id_col, lon_col=lon_col, lat_col=lat_col, weight_col=weight_col)
    found.raise_if_any(DataError)


def _parse_crs(crs: object, found: DefectCollector) -> CRS | None:
    try:
        return CRS.from_user_input(crs)
    except (CRSError, TypeError, ValueError):
        found.add(f"unknown CRS {crs!r}; give wgs84, gcj02, bd09 or an EPSG code such as EPSG:4326 or EPSG:32648",
                  column="crs")
        return None


def read_points(
    path: str | Path,
    *,
    id_col: str | None = None,
    lon_col: str | None = None,
    lat_col: str | None = None,
    weight_col: str | None = None,
    crs: object = None,
    coord_system: str | None = None,
    layer: str | int | None = None,
) -> gpd.GeoDataFrame:
    """Read a user's point file into a validated GeoDataFrame in WGS84 (EPSG:4326).

    Parameters
    ----------
    path
        CSV/TSV (UTF-8 with or without BOM, or GBK/GB18030) or Excel ``.xlsx`` (first sheet, or ``layer``;
        rows numbered as Excel shows them, header = row 1) with longitude/latitude columns, or any vector
        format pyogrio reads (GeoPackage, GeoJSON, Shapefile, FlatGeobuf, ...) with Point features.
    id_col
        Id column; default: the first of ``id``, ``code``, ``code9``, ``adcode`` ... present, else row
        numbers ``"1"``, ``"2"``, ....
    lon_col, lat_col
        CSV coordinate columns; default: detected from ``lon``/``lng``/``longitude``/``x`` and
        ``lat``/``latitude``/``y``, or the same names with a ``_wgs84``, ``_gcj02`` or ``_bd09`` suffix
        (the suffix then sets ``coord_system``).
    weight_col
        Weight column; default: the first of ``weight``, ``demand``, ``population``, ``pop``, ``volume``
        present; if none, every weight is 1.0.
    crs
        CRS of CSV coordinates (default EPSG:4326), or of a vector file that declares none. A vector
        file's own CRS always wins.
    coord_system
        ``"wgs84"``, ``"gcj02"`` (Amap/Tencent) or ``"bd09"`` (Baidu); default from the column suffix,
        else ``"wgs84"``. Non-WGS84 coordinates are converted with :mod:`siting.geo.crs`.
    layer
        Layer of a multi-layer file (GeoPackage), or sheet of an Excel workbook.

    Returns
    -------
    GeoDataFrame
        Columns ``id`` (str), ``weight`` (float), ``lon``, ``lat`` (WGS84 degrees), the file's other
        columns, Point geometry. ``attrs["source"]`` is the path, ``attrs["columns"]`` the columns used.

    Raises
    ------
    DataError
        Every problem at once (file, row, column): unreadable or undecodable file, missing columns,
        unknown CRS, non-point or missing geometry, and everything :func:`validate_points` checks; and
        coordinates read as WGS84 by default that sit at the GCJ-02 positions of known Chongqing places
        (:func:`detect_gcj02`; name the system to skip the check).
    """
    p = Path(path)
    found = DefectCollector(str(p))
    _check_path(p, found)
    if coord_system is not None and coord_system not in COORD_SYSTEMS:
        found.add(f"unknown coordinate system {coord_system!r}; use one of {', '.join(COORD_SYSTEMS)} "
                  "(siting locate --crs)", column="coord_system")
    user_crs = _parse_crs(crs, found) if crs is not None else None
    suffix = p.suffix.lower()
    offset = 1
    if suffix in EXCEL_SUFFIXES or suffix in CSV_SUFFIXES or (suffix not in VECTOR_SUFFIXES and _looks_like_text(p)):
        if suffix in EXCEL_SUFFIXES:
            df, offset = _read_excel(p, found, sheet=layer), 2
        else:
            # only empty cells are missing: "NaN" or "NA" text is kept, so that a capacity written NaN is an
            # error while a blank one means unlimited (numbers treat "nan"/"na" as missing, siting.geo.io)
            df = read_csv_any(p, found, dtype=str, keep_default_na=False, na_values=[""])
        found.raise_if_any(DataError)
        assert df is not None
        table, lon_c, lat_c, system = _table_coords(df, found, lon_col=lon_col, lat_col=lat_col,
                                                    coord_system=coord_system, user_crs=user_crs)
    else:
        table, lon_c, lat_c, system = _vector_coords(p, found, layer=layer, user_crs=user_crs,
                                                     coord_system=coord_system)
    found.raise_if_any(DataError)

    cols = list(table.columns)
    id_c = id_col if id_col is not None else detect_column(cols, ID_NAMES)
    w_c = weight_col if weight_col is not None else detect_column(cols, WEIGHT_NAMES)
    collect_point_defects(table, found, id_col=id_c, lon_col=lon_c, lat_col=lat_c, weight_col=w_c, row_offset=offset)
    found.raise_if_any(DataError)

    lon = pd.to_numeric(table[lon_c]).to_numpy(float)
    lat = pd.to_numeric(table[lat_c]).to_numpy(float)
    if system == "wgs84" and coord_system is None and _suffix_system(lon_c) is None and user_crs is None:
        _check_gcj02(lon, lat, found, lon_c=lon_c, lat_c=lat_c)
    if system == "gcj02":
        lon, lat = _crs.gcj02_to_wgs84(lon, lat)
    elif system == "bd09":
        lon, lat = _crs.bd09_to_wgs84(lon, lat)
    return _assemble(p, table, np.atleast_1d(lon), np.atleast_1d(lat), id_c=id_c, w_c=w_c, lon_c=lon_c,
                     lat_c=lat_c, system=system)


def _check_path(p: Path, found: DefectCollector) -> None:
    """File exists, is a file (not a folder), is readable and not a format we cannot read."""
    if p.is_dir():
        found.add("is a folder, not a file (for a Shapefile give the .shp file)")
    elif not p.exists():
        found.add("file not found")
    elif not os.access(p, os.R_OK):
        found.add("permission denied: the file is not readable by this user")
    elif p.suffix.lower() in (".xls", ".ods", ".numbers"):
        found.add(f"{p.suffix} spreadsheets are not read; save the sheet as .xlsx or CSV (UTF-8)")
    elif p.stat().st_size == 0:
        found.add("the file is empty (0 bytes)")
    found.raise_if_any(DataError)


def _read_excel(p: Path, found: DefectCollector, *, sheet: str | int | None) -> pd.DataFrame | None:
    """The first sheet (or ``sheet``) of an .xlsx workbook as text, like a CSV (cached formula values; error
    cells such as ``#VALUE!`` kept as text so they are reported); ``None`` if unreadable."""
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency of siting
        found.add("reading .xlsx needs the openpyxl package (pip install openpyxl)")
        return None
    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        try:
            ws = wb.worksheets[sheet] if isinstance(sheet, int) else (wb[sheet] if sheet is not None else wb.worksheets[0])
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
        finally:
            wb.close()
    except (KeyError, IndexError) as exc:
        found.add(f"no sheet {sheet!r} in the workbook ({' '.join(str(exc).split())})", column="layer")
        return None
    except Exception as exc:  # zipfile/openpyxl/XML errors of a corrupt workbook all mean "cannot read"
        found.add(f"cannot read the workbook: {' '.join(str(exc).split()) or type(exc).__name__}")
        return None
    while rows and all(v is None or str(v).strip() == "" for v in rows[-1]):
        rows.pop()  # trailing empty rows that Excel keeps after deleting data
    if not rows:
        found.add("the sheet is empty: expected a header row and data rows")
        return None
    header = [str(h).strip() if h is not None else f"column {k + 1}" for k, h in enumerate(rows[0])]
    twice = sorted({h for h in header if header.count(h) > 1})
    for h in twice:
        found.add(f"the header names column {h!r} {header.count(h)} times; rename or drop the copies", column=h)
    if twice:
        return None

    def text(v: object) -> object:
        return None if v is None or (isinstance(v, str) and not v.strip()) else (v if isinstance(v, str) else repr(v)
                                                                                 if isinstance(v, float) else str(v))

    body = [[text(v) for v in r[:len(header)]] + [None] * (len(header) - len(r)) for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=object)


def _table_coords(df: pd.DataFrame, found: DefectCollector, *, lon_col: str | None, lat_col: str | None,
                  coord_system: str | None, user_crs: CRS | None) -> tuple[pd.DataFrame, str, str, str]:
    """Coordinate columns of a table (detected or named), its coordinate system, and projected input
    reprojected to degrees."""
    det_lon, det_lat, det_sys = detect_coord_columns(df.columns)
    lon_c = lon_col if lon_col is not None else det_lon
    lat_c = lat_col if lat_col is not None else det_lat
    if lon_c is None or lat_c is None:
        found.add("no longitude/latitude columns found (looked for lon/lng/longitude/x and lat/latitude/y, "
                  f"also with _wgs84/_gcj02/_bd09 suffixes; columns present: {', '.join(map(str, df.columns))}); "
                  "name them with --lon COL --lat COL (scenario: lon_col/lat_col)")
        found.raise_if_any(DataError)
    for given, opt in ((lon_col, "--lon"), (lat_col, "--lat")):
        if given is not None and given not in df.columns:
            found.add(f"column named by {opt} is missing (columns present: {', '.join(map(str, df.columns))})",
                      column=str(given))
    found.raise_if_any(DataError)
    if lon_col is not None or lat_col is not None:
        det_sys = _suffix_system(lon_c) or _suffix_system(lat_c)
    system = coord_system or det_sys or "wgs84"
    if coord_system is not None and det_sys is not None and coord_system != det_sys:
        found.add(f"column names say {det_sys} but --crs {coord_system} was given", column=f"{lon_c},{lat_c}")
    src_crs = user_crs or CRS.from_epsg(4326)
    if src_crs.is_geographic:
        return df, lon_c, lat_c, system
    # projected input: check numbers first, then reproject and validate the degrees
    x = pd.to_numeric(df[lon_c], errors="coerce").to_numpy(float)
    y = pd.to_numeric(df[lat_c], errors="coerce").to_numpy(float)
    ok = np.isfinite(x) & np.isfinite(y)
    lon, lat = np.full(len(df), np.nan), np.full(len(df), np.nan)
    if ok.any():
        pts = gpd.GeoSeries(gpd.points_from_xy(x[ok], y[ok]), crs=src_crs).to_crs(WGS84)
        lon[ok], lat[ok] = pts.x.to_numpy(), pts.y.to_numpy()
    table = df.copy()
    for c, v in ((lon_c, lon), (lat_c, lat)):
        col = table[c].astype(object).to_numpy(copy=True)
        col[ok] = v[ok]  # degrees where the input was numeric; the raw text elsewhere (reported later)
        table[c] = col
    return table, lon_c, lat_c, system


def _vector_coords(p: Path, found: DefectCollector, *, layer: str | int | None, user_crs: CRS | None,
                   coord_system: str | None) -> tuple[pd.DataFrame, str, str, str]:
    """Attributes and point coordinates (WGS84 degrees) of a vector file."""
    try:
        g = gpd.read_file(p, layer=layer)
    except Exception as exc:  # pyogrio/GDAL raise many types; all mean "cannot read"
        found.add(f"cannot read file: {' '.join(str(exc).split())}")
        found.raise_if_any(DataError)
    if g.crs is None:
        if user_crs is None:
            found.add("unknown CRS: the file declares no coordinate reference system; give it with --crs, e.g. "
                      "--crs EPSG:4326 (scenario: crs = \"EPSG:4326\"), or save the file with its CRS")
        else:
            g = g.set_crs(user_crs)
    geom = g.geometry
    missing = geom.isna().to_numpy() | geom.is_empty.to_numpy()
    for i in np.flatnonzero(missing):
        found.add("geometry is missing", row=int(i) + 1, column="geometry")
    kinds = geom.geom_type.to_numpy()
    for i in np.flatnonzero(~missing & (kinds != "Point")):
        found.add(f"geometry is a {kinds[i]}, only points are accepted (convert to centroids first)",
                  row=int(i) + 1, column="geometry")
    found.raise_if_any(DataError)
    table = pd.DataFrame(g.drop(columns=g.geometry.name))
    lon_c, lat_c = GEOM_X, GEOM_Y
    if g.crs.is_geographic:
        # check degrees as stored (a swapped lon/lat would become inf after a datum shift), then convert
        x, y = g.geometry.x.to_numpy(), g.geometry.y.to_numpy()
        collect_point_defects(table.assign(**{lon_c: x, lat_c: y}), found, id_col=None, lon_col=lon_c,
                              lat_col=lat_c)
        found.raise_if_any(DataError)
    g = g.to_crs(WGS84)
    table[lon_c], table[lat_c] = g.geometry.x.to_numpy(), g.geometry.y.to_numpy()
    return table, lon_c, lat_c, coord_system or "wgs84"


def _check_gcj02(lon: np.ndarray, lat: np.ndarray, found: DefectCollector, *, lon_c: str, lat_c: str) -> None:
    """Refuse WGS84-by-default points that sit at the GCJ-02 positions of known places (:func:`detect_gcj02`)."""
    evidence = detect_gcj02(lon, lat)
    if evidence is None:
        return
    where = "" if lon_c == GEOM_X else "rename the columns to lon_gcj02/lat_gcj02 or "
    found.add(f"coordinates look like GCJ-02 (Amap/Tencent) but are read as WGS84: {evidence}; "
              f"{where}pass --crs gcj02 (scenario: coord_system = \"gcj02\") to convert them; "
              "if they really are WGS84, pass --crs wgs84 or name the columns lon_wgs84/lat_wgs84",
              column=f"{lon_c},{lat_c}")
    found.raise_if_any(DataError)


def _assemble(p: Path, table: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, *, id_c: str | None,
              w_c: str | None, lon_c: str, lat_c: str, system: str) -> gpd.GeoDataFrame:
    ids = (table[id_c].astype(str).str.strip() if id_c is not None
           else pd.Series([str(i + 1) for i in range(len(table))], index=table.index))
    weight = pd.to_numeric(table[w_c]).astype(float) if w_c is not None else pd.Series(1.0, index=table.index)
    rest = table.drop(columns=[c for c in (lon_c, lat_c) if c in (GEOM_X, GEOM_Y)])
    rest = rest.rename(columns={c: f"{c}_orig" for c in rest.columns
                                if c in ("id", "weight", "lon", "lat", "geometry") and c not in (id_c, w_c)})
    rest = rest.drop(columns=[c for c in (id_c, w_c) if c in ("id", "weight")], errors="ignore")
    out = pd.concat([pd.DataFrame({"id": ids.to_numpy(), "weight": weight.to_numpy(), "lon": lon, "lat": lat}),
                     rest.reset_index(drop=True)], axis=1)
    gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)
    gdf.attrs["source"] = str(p)
    gdf.attrs["row_offset"] = 2 if p.suffix.lower() in EXCEL_SUFFIXES else 1  # data row i is file row i + offset
    gdf.attrs["columns"] = {"id": id_c, "weight": w_c, "lon": None if lon_c == GEOM_X else lon_c,
                            "lat": None if lat_c == GEOM_Y else lat_c, "coord_system": system}
    return gdf


def _suffix_system(col: object) -> str | None:
    name = str(col).strip().lower()
    for suf, system in (("_wgs84", "wgs84"), ("_gcj02", "gcj02"), ("_gcj", "gcj02"), ("_bd09", "bd09"), ("_bd", "bd09")):
        if name.endswith(suf):
            return system
    return None


def _looks_like_text(p: Path) -> bool:
    head = p.read_bytes()[:2048]
    return b"\x00" not in head and not head.lstrip().startswith((b"{", b"<"))


_GCJ_MATCH_M = 100.0  # a point "is" a reference place when this close to it (in the system tested)


_GCJ_MIN_MATCHES = 5


def _gcj_references(data_dir: str | Path | None) -> tuple[np.ndarray, np.ndarray] | None:
    """WGS84 reference places (district seats, townships with surveyed points, logistics points);
    ``None`` when the reference data are not available."""
    key = str(Path(data_dir if data_dir is not None else default_data_dir()).resolve())
    if key not in _GCJ_CACHE:
        try:
            d = load_districts(data_dir=data_dir)
            t = load_townships(data_dir=data_dir)
            t = t[~t["coord_estimated"].astype(bool)]
            lp = load_logistics_points(data_dir=data_dir)
            lon = np.concatenate([d["seat_lon"].to_numpy(float), t.geometry.x.to_numpy(), lp.geometry.x.to_numpy()])
            lat = np.concatenate([d["seat_lat"].to_numpy(float), t.geometry.y.to_numpy(), lp.geometry.y.to_numpy()])
            _GCJ_CACHE[key] = (lon, lat)
        except (DataError, OSError, ValueError):
            _GCJ_CACHE[key] = None
    return _GCJ_CACHE[key]


_GCJ_CACHE: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}  # reference data, read once


def detect_gcj02(lon: np.ndarray, lat: np.ndarray, *, data_dir: str | Path | None = None) -> str | None:
    """Evidence that WGS84-declared points are really GCJ-02 (Amap/Tencent), or ``None``.

    The reference places of ``data/geo`` (38 district seats, the townships with a surveyed point, airports,
    ports and rail terminals; WGS84) are shifted into GCJ-02 with :func:`siting.geo.crs.wgs84_to_gcj02` (about
    480 m to the south-east in Chongqing). A point *matches* a place in a system when it lies within 100 m
    of it there. The file is taken for GCJ-02 when at least 5 points match a place in GCJ-02 and more than
    four times as many match in GCJ-02 as in WGS84: data copied from Amap/Tencent maps that name the same
    seats, townships or terminals. Points elsewhere (outside Chongqing, or not at known places) give no
    evidence either way, so the check is silent on them; random points match by chance about once per
    thousand points.

    Returns
    -------
    str or None
        One sentence of evidence for the error message.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    near = np.isfinite(lon) & np.isfinite(lat) & (lon > 105.0) & (lon < 110.5) & (lat > 27.9) & (lat < 32.5)
    if near.sum() < _GCJ_MIN_MATCHES:
        return None
    ref = _gcj_references(data_dir)
    if ref is None:
        return None
    rlon, rlat = ref
    glon, glat = (np.atleast_1d(v) for v in _crs.wgs84_to_gcj02(rlon, rlat))
    from scipy.spatial import cKDTree

    k = np.cos(np.radians(30.0)) * 111.32  # km per degree of longitude here; 111.32 per degree of latitude
    pts = np.column_stack([lon[near] * k, lat[near] * 111.32])
    r_km = _GCJ_MATCH_M / 1000.0
    n_wgs = int(np.isfinite(cKDTree(np.column_stack([rlon * k, rlat * 111.32])).query(
        pts, distance_upper_bound=r_km)[0]).sum())
    d_gcj, _ = cKDTree(np.column_stack([glon * k, glat * 111.32])).query(pts, distance_upper_bound=r_km)
    n_gcj = int(np.isfinite(d_gcj).sum())
    if n_gcj >= _GCJ_MIN_MATCHES and n_gcj > 4 * n_wgs:
        shift_m = float(np.median(np.hypot((glon - rlon) * k, (glat - rlat) * 111.32))) * 1000
        return (f"{n_gcj} points sit within {_GCJ_MATCH_M:.0f} m of known places of data/geo (district seats, "
                f"townships, terminals) as Amap/Tencent maps show them, i.e. shifted by the GCJ-02 offset of "
                f"about {shift_m:.0f} m, against {n_wgs} at the places themselves")
    return None
