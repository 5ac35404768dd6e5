"""Private helpers of :mod:`siting.geo`: CSV decoding, column detection and point validation.

Every function adds problems to a :class:`~siting.core.errors.DefectCollector` instead of raising, so that a
caller can report all problems of a file at once.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from siting.core.errors import DefectCollector

__all__ = ["read_csv_any", "detect_column", "collect_point_defects", "ENCODINGS"]

ENCODINGS = ("utf-8-sig", "gb18030")  # UTF-8 (BOM optional), then GB18030 (a superset of GBK and GB2312)

LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
COORD_SUFFIXES = {"wgs84": "wgs84", "gcj02": "gcj02", "gcj": "gcj02", "bd09": "bd09", "bd": "bd09"}
ID_NAMES = ("id", "code", "code9", "adcode", "name_id", "编码", "代码")
NA_STRINGS = ("", "nan", "na", "n/a", "null", "none", "#n/a")  # read as "missing", not "not a number"
WEIGHT_NAMES = ("weight", "demand", "population", "pop", "volume")


def read_csv_any(path: Path, found: DefectCollector, **kwargs) -> pd.DataFrame | None:
    """Read a delimited text file, trying UTF-8 (with or without BOM), then GB18030/GBK.

    Returns ``None`` (and records a defect) if the file cannot be decoded or parsed.
    """
    raw = Path(path).read_bytes()
    text, last = None, None
    for enc in ENCODINGS:
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError as exc:
            last = exc
    if text is None:
        found.add(
            "cannot decode the file as UTF-8 or GBK/GB18030 "
            f"(first bad byte at offset {getattr(last, 'start', '?')}); save it as UTF-8"
        )
        return None
    sep = kwargs.pop("sep", None)
    if sep is None:
        first = text.split("\n", 1)[0]
        sep = "\t" if first.count("\t") > first.count(",") else ","
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, keep_default_na=True, skipinitialspace=True, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        found.add(f"cannot parse as CSV: {' '.join(str(exc).split())}")
        return None


def _norm(name: object) -> str:
    return str(name).strip().lower()


def detect_column(columns: Sequence[object], names: Sequence[str]) -> str | None:
    """The first column whose lower-cased name is in ``names`` (in ``names`` order), else ``None``."""
    by_norm = {}
    for c in columns:
        by_norm.setdefault(_norm(c), c)
    for n in names:
        if n in by_norm:
            return by_norm[n]
    return None


def detect_coord_columns(columns: Sequence[object]) -> tuple[object | None, object | None, str | None]:
    """Find longitude and latitude columns: plain names, or ``<name>_<system>`` with system wgs84/gcj02/bd09.

    Returns ``(lon_col, lat_col, coord_system)``; ``coord_system`` is ``None`` for plain names. Plain names
    win over suffixed ones; among suffixed ones WGS84 wins over GCJ-02 over BD-09.
    """
    lon, lat = detect_column(columns, LON_NAMES), detect_column(columns, LAT_NAMES)
    if lon is not None and lat is not None:
        return lon, lat, None
    for system in ("wgs84", "gcj02", "gcj", "bd09", "bd"):
        lon_s = detect_column(columns, [f"{n}_{system}" for n in LON_NAMES])
        lat_s = detect_column(columns, [f"{n}_{system}" for n in LAT_NAMES])
        if lon_s is not None and lat_s is not None:
            return lon_s, lat_s, COORD_SUFFIXES[system]
    return None, None, None


def _to_float(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numeric values (NaN where missing or not numeric) and a mask of entries present but not numbers."""
    num = pd.to_numeric(s, errors="coerce").to_numpy(dtype=np.float64)
    text = s.astype(str).str.strip().str.lower()
    blank = s.isna().to_numpy() | text.isin(NA_STRINGS).to_numpy()
    return num, ~blank & np.isnan(num)


def collect_point_defects(
    df: pd.DataFrame,
    found: DefectCollector,
    *,
    id_col: str | None,
    lon_col: str,
    lat_col: str,
    weight_col: str | None = None,
    row_offset: int = 1,
) -> None:
    """Check ids, coordinates (degrees) and weights of a point table; add one defect per problem.

    Checks: missing columns; empty or duplicate ids; missing / non-numeric / non-finite coordinates;
    projected metres read as degrees (at least half the rows with both values in the thousands: one defect
    for the file, not one per row); latitude and longitude swapped (latitude outside ±90 while the
    longitude would be a valid latitude);
    values out of range; missing, non-numeric or negative weights. Rows are numbered from
    ``row_offset`` (1 = first data row).
    """
    cols = [c for c in (id_col, lon_col, lat_col, weight_col) if c is not None]
    missing = [c for c in cols if c not in df.columns]
    for c in missing:
        present = ", ".join(map(str, df.columns)) or "none"
        found.add(f"required column is missing (columns present: {present})", column=str(c))
    if missing:
        return
    rows = np.arange(len(df)) + row_offset
    if id_col is not None:
        ids = df[id_col]
        blank = ids.isna().to_numpy() | (ids.astype(str).str.strip() == "").to_numpy()
        for r in rows[blank]:
            found.add("id is empty", row=int(r), column=str(id_col))
        key = ids.astype(str).str.strip()
        dup = key.duplicated(keep="first").to_numpy() & ~blank
        if dup.any():
            first_row = {}
            for k, r in zip(key.to_numpy()[~blank], rows[~blank]):
                first_row.setdefault(k, int(r))
            for k, r in zip(key.to_numpy()[dup], rows[dup]):
                found.add(f"duplicate id {k!r} (first in row {first_row[k]})", row=int(r), column=str(id_col))
    lon, lon_bad = _to_float(df[lon_col])
    lat, lat_bad = _to_float(df[lat_col])
    for name, vals, bad in ((lon_col, lon, lon_bad), (lat_col, lat, lat_bad)):
        for r in rows[bad]:
            found.add("coordinate is not a number", row=int(r), column=str(name))
        for r in rows[np.isnan(vals) & ~bad]:
            found.add("coordinate is missing", row=int(r), column=str(name))
        for r in rows[np.isinf(vals)]:
            found.add("coordinate is infinite", row=int(r), column=str(name))
    ok = np.isfinite(lon) & np.isfinite(lat)
    metres = ok & (np.abs(lon) > 1000) & (np.abs(lat) > 1000)
    if ok.any() and metres.sum() >= max(1, 0.5 * ok.sum()):  # one problem, not one per row
        found.add(
            f"{int(metres.sum())} of {int(ok.sum())} rows have coordinates in the thousands (e.g. "
            f"{lon[metres][0]:g}, {lat[metres][0]:g}): these look like projected metres (UTM, CGCS2000 "
            "Gauss-Kruger), not WGS84 degrees; convert them to lon/lat degrees, or save the points as a "
            "GeoPackage/GeoJSON that declares its CRS",
            column=f"{lon_col},{lat_col}",
        )
        ok = ok & ~metres
        lon, lat = np.where(metres, 0.0, lon), np.where(metres, 0.0, lat)
    swapped = ok & (np.abs(lat) > 90) & (np.abs(lat) <= 180) & (np.abs(lon) <= 90)
    for r, x, y in zip(rows[swapped], lon[swapped], lat[swapped]):
        found.add(
            f"latitude and longitude look swapped (lon={x:g}, lat={y:g}); "
            f"exchange the {lon_col!r} and {lat_col!r} values",
            row=int(r),
            column=f"{lon_col},{lat_col}",
        )
    bad_lon = ok & ~swapped & (np.abs(lon) > 180)
    bad_lat = ok & ~swapped & (np.abs(lat) > 90)
    for r, x in zip(rows[bad_lon], lon[bad_lon]):
        found.add(f"longitude {x:g} is out of range [-180, 180]", row=int(r), column=str(lon_col))
    for r, y in zip(rows[bad_lat], lat[bad_lat]):
        found.add(f"latitude {y:g} is out of range [-90, 90]", row=int(r), column=str(lat_col))
    if weight_col is not None:
        w, w_bad = _to_float(df[weight_col])
        for r in rows[w_bad]:
            found.add("weight is not a number", row=int(r), column=str(weight_col))
        for r in rows[np.isnan(w) & ~w_bad]:
            found.add("weight is missing", row=int(r), column=str(weight_col))
        for r in rows[np.isinf(w)]:
            found.add("weight is infinite", row=int(r), column=str(weight_col))
        for r, v in zip(rows[w < 0], w[w < 0]):
            found.add(f"weight is negative ({v:g})", row=int(r), column=str(weight_col))
