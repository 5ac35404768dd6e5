"""Private helpers of :mod:`siting.geo`: CSV decoding, column detection and point validation.

Every function adds problems to a :class:`~siting.core.errors.DefectCollector` instead of raising, so that a
caller can report all problems of a file at once.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from siting.core.errors import DefectCollector
from siting.core.limits import BOUNDS_DOC, MAX_TOTAL_WEIGHT, MAX_WEIGHT

__all__ = ["read_csv_any", "detect_column", "collect_point_defects", "ENCODINGS"]

ENCODINGS = ("utf-8-sig", "gb18030")  # UTF-8 (BOM optional), then GB18030 (a superset of GBK and GB2312)

LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES = ("lat", "latitude", "y", "纬度")
COORD_SUFFIXES = {"wgs84": "wgs84", "gcj02": "gcj02", "gcj": "gcj02", "bd09": "bd09", "bd": "bd09"}
ID_NAMES = ("id", "code", "code9", "adcode", "name_id", "编码", "代码")
NA_STRINGS = ("", "nan", "na", "n/a", "null", "none", "#n/a")  # read as "missing", not "not a number"
WEIGHT_NAMES = ("weight", "demand", "population", "pop", "volume")


def _decode(raw: bytes, found: DefectCollector) -> str | None:
    """Text of a file: UTF-16 when it starts with a UTF-16 byte-order mark (Excel's "Unicode text"), else
    UTF-8 (BOM optional), else GB18030/GBK."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            found.add("cannot decode the file as UTF-16 although it starts with a UTF-16 byte-order mark; save it "
                      "as UTF-8")
            return None
    last = None
    for enc in ENCODINGS:
        try:
            return raw.decode(enc)
        except UnicodeDecodeError as exc:
            last = exc
    found.add(
        "cannot decode the file as UTF-8 or GBK/GB18030 "
        f"(first bad byte at offset {getattr(last, 'start', '?')}); save it as UTF-8"
    )
    return None


def _separator(first: str) -> str:
    """Tab, semicolon (European spreadsheets) or comma: whichever the header line uses most."""
    counts = {sep: first.count(sep) for sep in ("\t", ";", ",")}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] > 0 else ","


def read_csv_any(path: Path, found: DefectCollector, **kwargs) -> pd.DataFrame | None:
    """Read a delimited text file (comma, tab or semicolon), trying UTF-16 (with its BOM), UTF-8 (with or
    without BOM), then GB18030/GBK.

    Returns ``None`` (and records a defect) if the file cannot be decoded or parsed, holds no text, or its
    header names a column twice.
    """
    text = _decode(Path(path).read_bytes(), found)
    if text is None:
        return None
    if not text.strip():
        found.add("the file holds no text (only blank lines or spaces): expected a header row and data rows")
        return None
    sep = kwargs.pop("sep", None)
    first = text.lstrip("\r\n").split("\n", 1)[0]
    if sep is None:
        sep = _separator(first)
    header = [h.strip().strip('"') for h in first.rstrip("\r").split(sep)]
    twice = sorted({h for h in header if h and header.count(h) > 1})
    for h in twice:
        found.add(f"the header names column {h!r} {header.count(h)} times; rename or drop the copies", column=h)
    if twice:
        return None
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, skipinitialspace=True, **{"keep_default_na": True, **kwargs})
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


# 106°33'05"E, 29°33′N, 106度33分5秒, 106 33 05.2 E: degrees-minutes-seconds as maps and GPS units print them
_DMS = re.compile(r"""^\s*[-+]?\d{1,3}(\.\d+)?\s*(°|度|º|\s)\s*\d{1,2}(\.\d+)?\s*('|′|’|分|\s)?\s*"""
                  r"""(\d{1,2}(\.\d+)?\s*("|″|”|''|秒)?)?\s*[NSEWnsew东西南北]?\s*$""")
_THOUSANDS = re.compile(r"^\s*[-+]?\d{1,3}([,，']\d{3})+(\.\d+)?\s*$")  # 12,345 / 1,234,567.5 / 12'345
_COMMA_NUMBER = re.compile(r"^\s*[-+]?\d+[,，]\d+\s*$")  # 106,5512 (a decimal comma) or 12,345


def _dms_to_degrees(text: str) -> float | None:
    parts = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]
    if not parts:
        return None
    deg = parts[0] + (parts[1] / 60 if len(parts) > 1 else 0) + (parts[2] / 3600 if len(parts) > 2 else 0)
    return -deg if text.strip().startswith("-") or text.strip()[-1:].upper() in ("S", "W") or text.strip()[-1:] in "南西" else deg


_EXCEL_HINT = ", an Excel error value: fix the formula or paste the values"


def _is_excel_error(text: str) -> bool:
    t = text.strip().upper()
    return t in ("#VALUE!", "#REF!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!", "#GETTING_DATA")


def _values(mask: np.ndarray, verb: str = "are") -> str:
    n = int(mask.sum())
    return f"{n:,} values {verb}" if n != 1 else f"1 value {verb if verb != 'are' else 'is'}{'s' if verb == 'use' else ''}"


def _pattern_defects(raw: pd.Series, bad: np.ndarray, found: DefectCollector, *, column: str, what: str) -> np.ndarray:
    """One defect for the whole column when its non-numbers are degrees-minutes-seconds or numbers with
    thousands separators; returns the rows so explained (not reported one by one)."""
    text = raw.astype(str).to_numpy()
    explained = np.zeros(len(raw), dtype=bool)
    idx = np.flatnonzero(bad)
    if not len(idx):
        return explained
    dms = np.array([bool(_DMS.match(text[i])) and not _COMMA_NUMBER.match(text[i]) for i in idx])
    if what == "coordinate":  # 106,5512 in a coordinate column is a decimal comma, whatever its digit count
        comma, thou = np.array([bool(_COMMA_NUMBER.match(text[i])) for i in idx]), np.zeros(len(idx), bool)
    else:
        thou = np.array([bool(_THOUSANDS.match(text[i])) for i in idx])
        comma = np.array([bool(_COMMA_NUMBER.match(text[i])) for i in idx]) & ~thou
    if what == "coordinate" and dms.any():
        ex = text[idx[dms][0]].strip()
        found.add(f"{_values(dms)} degrees-minutes-seconds (e.g. {ex} = {_dms_to_degrees(ex):.6f}), "
                  "not decimal degrees; convert the column to decimal degrees (degrees + minutes/60 + "
                  "seconds/3600, negative for S/W)", column=column, cause="degrees-minutes-seconds")
        explained[idx[dms]] = True
    if thou.any():
        ex = text[idx[thou]][0].strip()
        plain = re.sub(r"[,，']", "", ex)
        found.add(f"{_values(thou)} written with thousands separators (e.g. {ex!r}); remove the "
                  f"separators ({plain}) or save the file without number formatting",
                  column=column, cause="thousands separators")
        explained[idx[thou]] = True
    if comma.any():
        ex = text[idx[comma]][0].strip()
        found.add(f"{_values(comma, 'use')} a decimal comma (e.g. {ex!r}); write a decimal point "
                  f"({ex.replace(',', '.').replace('，', '.')}) or export the file with '.' as decimal separator",
                  column=column, cause="decimal comma")
        explained[idx[comma]] = True
    return explained


def _id_defects(ids: pd.Series, found: DefectCollector, rows: np.ndarray, id_col: str) -> None:
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


def _coordinate_defects(df: pd.DataFrame, found: DefectCollector, rows: np.ndarray, lon_col: str,
                        lat_col: str) -> None:
    lon, lon_bad = _to_float(df[lon_col])
    lat, lat_bad = _to_float(df[lat_col])
    for name, vals, bad in ((lon_col, lon, lon_bad), (lat_col, lat, lat_bad)):
        explained = _pattern_defects(df[name], bad, found, column=str(name), what="coordinate")
        raw = df[name].astype(str).to_numpy()
        for r, i in zip(rows[bad & ~explained], np.flatnonzero(bad & ~explained)):
            found.add(f"coordinate is not a number ({raw[i].strip()!r}{_EXCEL_HINT if _is_excel_error(raw[i]) else ''})",
                      row=int(r), column=str(name))
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
    null = ok & (lon == 0) & (lat == 0)
    for r in rows[null]:
        found.add("coordinates are (0, 0), in the Gulf of Guinea: a missing position written as 0? give the real "
                  "position or drop the row", row=int(r), column=f"{lon_col},{lat_col}", cause="null island")
    ok = ok & ~null
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


def _weight_defects(raw: pd.Series, found: DefectCollector, rows: np.ndarray, weight_col: str) -> None:
    w, w_bad = _to_float(raw)
    col = str(weight_col)
    explained = _pattern_defects(raw, w_bad, found, column=col, what="weight")
    text = raw.astype(str).to_numpy()
    for r, i in zip(rows[w_bad & ~explained], np.flatnonzero(w_bad & ~explained)):
        found.add(f"weight is not a number ({text[i].strip()!r}{_EXCEL_HINT if _is_excel_error(text[i]) else ''})",
                  row=int(r), column=col)
    for r in rows[np.isnan(w) & ~w_bad]:
        found.add("weight is missing", row=int(r), column=col)
    for r in rows[np.isinf(w)]:
        found.add("weight is infinite", row=int(r), column=col)
    for r, v in zip(rows[w < 0], w[w < 0]):
        found.add(f"weight is negative ({v:g})", row=int(r), column=col)
    big = np.isfinite(w) & (w > MAX_WEIGHT)
    for r, v in zip(rows[big], w[big]):
        found.add(f"weight {v:g} is above the bound {MAX_WEIGHT:g} of one point ({BOUNDS_DOC}.MAX_WEIGHT)",
                  row=int(r), column=col)
    good = np.isfinite(w) & (w >= 0) & ~big
    if good.all() and len(w):
        total = float(w.sum())
        if total > MAX_TOTAL_WEIGHT:
            found.add(f"the weights sum to {total:g}, above the bound {MAX_TOTAL_WEIGHT:g} "
                      f"({BOUNDS_DOC}.MAX_TOTAL_WEIGHT)", column=col)
        elif total == 0:
            found.add(f"every weight is 0: there is no demand to serve (the {len(w):,} rows of {col!r} are all 0)",
                      column=col)


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
    degrees-minutes-seconds and thousands separators (one defect per column, with the fix); projected metres
    read as degrees (at least half the rows with both values in the thousands: one defect for the file, not
    one per row); latitude and longitude swapped (latitude outside ±90 while the longitude would be a valid
    latitude); values out of range; missing, non-numeric, negative or absurd weights (above
    :data:`siting.core.limits.MAX_WEIGHT`, a sum above ``MAX_TOTAL_WEIGHT``, or all zero). Rows are
    numbered from ``row_offset`` (1 = first data row; 2 for a spreadsheet, whose header is row 1).
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
        _id_defects(df[id_col], found, rows, id_col)
    _coordinate_defects(df, found, rows, lon_col, lat_col)
    if weight_col is not None:
        _weight_defects(df[weight_col], found, rows, weight_col)
