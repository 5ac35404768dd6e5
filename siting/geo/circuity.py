"""Measured road-detour factors per district, for scenarios without a road network.

A scenario that says ``[scenario] circuity = "measured"`` estimates the road distance of a pair as
``great-circle km x factor(pair)`` instead of one factor everywhere. The factors are the medians of
``road distance / great-circle distance`` measured per Chongqing district on a c. 2014 road network
(``data/geo/road_circuity_measured.csv``; provenance in ``data/geo/PROVENANCE.md``, rule in
``data/geo/DERIVED.md``):

- a point's district is the pre-2025 district polygon that contains it (the nearest one within
  :data:`NEAREST_DISTRICT_KM` when it falls just outside every polygon; the all-pair median
  otherwise);
- a district without a measured row takes its planning region's median
  (``data/geo/road_circuity_regions.csv``);
- **a pair's factor is the mean of its two ends' district factors** (``rule="mean"``, the default; within
  a district that is the measured median itself, across planning regions it reproduces the measured 1.74
  to within a few percent), or their maximum (``rule="max"``, a pessimistic variant).

They are measured *assumptions*: a road network or an OD matrix replaces them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from siting.core.errors import DataError, DefectCollector

__all__ = ["MEASURED_FILE", "REGIONS_FILE", "NEAREST_DISTRICT_KM", "PAIR_RULES", "CircuityTable", "circuity_files",
           "load_measured_circuity", "pair_factor", "pairs_within_factors"]

#: file names under the data directory
MEASURED_FILE = "road_circuity_measured.csv"
REGIONS_FILE = "road_circuity_regions.csv"
#: a point outside every district polygon but within this distance of one takes that district, km
NEAREST_DISTRICT_KM = 5.0
#: how the two ends' factors make a pair's factor
PAIR_RULES = ("mean", "max")


def pair_factor(fa: ArrayLike, fb: ArrayLike, *, rule: str = "mean") -> np.ndarray:
    """A pair's detour factor from its two ends' district factors (``"mean"`` or ``"max"``)."""
    a, b = np.asarray(fa, dtype=np.float64), np.asarray(fb, dtype=np.float64)
    if rule == "mean":
        return (a + b) / 2.0
    if rule == "max":
        return np.maximum(a, b)
    raise ValueError(f"unknown pair rule {rule!r}; known: {', '.join(PAIR_RULES)}")


@dataclass(frozen=True, eq=False)
class CircuityTable:
    """District factors and the polygons to place points in them.

    Attributes
    ----------
    factor : pandas.Series
        adcode (str) -> detour factor (road km per great-circle km, >= 1).
    measured : pandas.Series
        adcode -> True where the factor is the district's own measured median, False where it is the
        planning region's median.
    polygons : geopandas.GeoDataFrame or None
        District polygons (``adcode``, geometry, EPSG:4326); ``None`` when points come with adcodes.
    default : float
        The factor of a point outside every district (the all-pair median), >= 1.
    rule : str
        The pair rule (see :func:`pair_factor`).
    source : str
        The file the factors came from, for messages and the summary.
    """

    factor: pd.Series
    measured: pd.Series
    polygons: object
    default: float
    rule: str = "mean"
    source: str = ""

    @property
    def min_factor(self) -> float:
        """The smallest factor any pair can get (a lower bound for verifiers)."""
        return float(min(self.factor.min(), self.default))

    @property
    def max_factor(self) -> float:
        return float(max(self.factor.max(), self.default))

    def point_districts(self, lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
        """Adcode (str) of the district containing each point; ``None`` outside every district."""
        import geopandas as gpd
        from shapely import points

        lo, la = np.asarray(lon, dtype=np.float64).ravel(), np.asarray(lat, dtype=np.float64).ravel()
        out = np.full(lo.size, None, dtype=object)
        if lo.size == 0 or self.polygons is None:
            return out
        polys = self.polygons
        pts = gpd.GeoDataFrame({"k": np.arange(lo.size)}, geometry=points(np.c_[lo, la]), crs="EPSG:4326")
        hit = gpd.sjoin(pts, polys[["adcode", "geometry"]], how="left", predicate="within")
        hit = hit[~hit.index.duplicated(keep="first")]
        out[:] = [None if (x is None or (isinstance(x, float) and math.isnan(x))) else str(x) for x in hit["adcode"]]
        miss = np.flatnonzero([x is None for x in out])
        if miss.size:  # just outside a simplified polygon: the nearest district within NEAREST_DISTRICT_KM
            crs = "EPSG:32648"  # UTM 48N covers Chongqing (102-108E) well enough for a 5 km tolerance
            near = gpd.sjoin_nearest(pts.iloc[miss].to_crs(crs), polys[["adcode", "geometry"]].to_crs(crs),
                                     how="left", max_distance=NEAREST_DISTRICT_KM * 1000.0)
            near = near[~near.index.duplicated(keep="first")]
            for k, x in zip(near["k"], near["adcode"]):
                if isinstance(x, str) or (x is not None and not (isinstance(x, float) and math.isnan(x))):
                    out[int(k)] = str(x)
        return out

    def point_factors(self, lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """``(factor, district)`` per point; the default factor (and district ``None``) outside every district."""
        dist = self.point_districts(lon, lat)
        f = np.array([self.factor.get(d, self.default) if d is not None else self.default for d in dist], dtype=np.float64)
        return f, dist


def circuity_files(*, data_dir: str | Path | None = None, path: str | Path | None = None) -> tuple[Path, Path]:
    """The two tables :func:`load_measured_circuity` reads: ``(district factors, regional medians)``.

    Parameters
    ----------
    data_dir
        Folder of the reference data (default: the shipped data).
    path
        A user's own factor table instead of ``data_dir/road_circuity_measured.csv``.

    Returns
    -------
    (Path, Path)
        The factor table (``path``, else :data:`MEASURED_FILE` under ``data_dir``) and the regional medians
        (:data:`REGIONS_FILE` under ``data_dir`` when it is there, else the shipped one).
    """
    from siting.geo.chongqing import default_data_dir

    base = Path(data_dir) if data_dir is not None else default_data_dir()
    regions = base / REGIONS_FILE if (base / REGIONS_FILE).is_file() else default_data_dir() / REGIONS_FILE
    return (Path(path) if path is not None else base / MEASURED_FILE), regions


def load_measured_circuity(*, data_dir: str | Path | None = None, rule: str = "mean", path: str | Path | None = None,
                           polygons: object = None) -> CircuityTable:
    """Read the measured district factors (``road_circuity_measured.csv``) and the regional medians.

    Parameters
    ----------
    data_dir
        Folder holding the two CSVs and the districts (default: the shipped data, see
        :func:`siting.geo.chongqing.default_data_dir`).
    rule
        Pair rule, ``"mean"`` (default) or ``"max"``.
    path
        A user's own factor table instead of the shipped one: columns ``adcode`` and ``circuity_median``
        (>= 1), optional ``planning_region_zh``.
    polygons
        District polygons (a GeoDataFrame with ``adcode``); default: the shipped pre-2025 districts.

    Raises
    ------
    DataError
        A missing file or column, a factor that is not a number >= 1 (file, row, column).
    """
    from siting.geo.chongqing import load_districts

    fpath, rpath = circuity_files(data_dir=data_dir, path=path)
    found = DefectCollector(str(fpath))
    if rule not in PAIR_RULES:
        found.add(f"unknown pair rule {rule!r}; known: {', '.join(PAIR_RULES)}", column="rule")
    tab = _read_factors(fpath, found)
    reg = _read_regions(rpath, found)
    found.raise_if_any(DataError)
    assert tab is not None and reg is not None
    if polygons is None:
        polygons = load_districts(data_dir=data_dir, structure="2024")
    districts = polygons
    factor = dict(zip(tab["adcode"], tab["circuity_median"]))
    measured = {k: True for k in factor}
    region_col = "region" if "region" in districts.columns else ("planning_region_zh" if "planning_region_zh" in
                                                                  districts.columns else None)
    region_median = dict(zip(reg.loc[reg["scope"] == "region", "planning_region_zh"],
                             reg.loc[reg["scope"] == "region", "circuity_median"]))
    default = float(reg.loc[reg["scope"] == "all", "circuity_median"].iloc[0])
    for _, row in districts.iterrows():
        code = str(row["adcode"])
        if code not in factor:
            r = str(row[region_col]) if region_col else ""
            factor[code] = float(region_median.get(r, default))
            measured[code] = False
    return CircuityTable(factor=pd.Series(factor, dtype=float), measured=pd.Series(measured, dtype=bool),
                         polygons=districts[["adcode", "geometry"]].assign(adcode=districts["adcode"].astype(str)),
                         default=default, rule=rule, source=str(fpath))


def _numbers(df: pd.DataFrame, col: str, found: DefectCollector, *, minimum: float = 1.0) -> np.ndarray:
    x = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
    for r in np.flatnonzero(~np.isfinite(x) | (x < minimum)):
        found.add(f"must be a number >= {minimum:g}, got {df[col].iloc[r]!r}", row=int(r) + 1, column=col)
    return x


def _read_factors(path: Path, found: DefectCollector) -> pd.DataFrame | None:
    if not path.is_file():
        found.add("file not found")
        return None
    df = pd.read_csv(path, dtype=str)
    miss = [c for c in ("adcode", "circuity_median") if c not in df.columns]
    for c in miss:
        found.add(f"required column is missing (columns present: {', '.join(df.columns)})", column=c)
    if miss:
        return None
    df["adcode"] = df["adcode"].str.strip()
    df["circuity_median"] = _numbers(df, "circuity_median", found)
    return df


def _read_regions(path: Path, found: DefectCollector) -> pd.DataFrame | None:
    sub = DefectCollector(str(path))
    if not path.is_file():
        sub.add("file not found")
        found.extend(sub.defects)
        return None
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df["circuity_median"] = _numbers(df, "circuity_median", sub)
    if not (df["scope"] == "all").any():
        sub.add("no row with scope 'all' (the all-pair median)", column="scope")
    found.extend(sub.defects)
    return df


def pairs_within_factors(lon_a: ArrayLike, lat_a: ArrayLike, factor_a: ArrayLike, lon_b: ArrayLike, lat_b: ArrayLike,
                         factor_b: ArrayLike, radius_km: float, *, rule: str = "mean"
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Pairs within ``radius_km`` of estimated road distance, each pair with its own detour factor.

    The candidate search runs :func:`siting.geo.distance.pairs_within` with the smallest factor (a superset),
    then each pair's road estimate ``great-circle x pair_factor(factor_a, factor_b)`` is filtered exactly.

    Returns
    -------
    (ia, ib, distance_km, factor)
        Sorted by (ia, ib), as :func:`~siting.geo.distance.pairs_within`.
    """
    from siting.geo.distance import pairs_within

    fa = np.asarray(factor_a, dtype=np.float64).ravel()
    fb = np.asarray(factor_b, dtype=np.float64).ravel()
    if fa.size == 0 or fb.size == 0:
        e = np.empty(0, np.int64)
        return e, e.copy(), np.empty(0), np.empty(0)
    lo = float(min(fa.min(), fb.min()))
    ia, ib, gc = pairs_within(lon_a, lat_a, lon_b, lat_b, radius_km, circuity=max(lo, 1.0))
    gc = gc / max(lo, 1.0)
    f = pair_factor(fa[ia], fb[ib], rule=rule)
    d = gc * f
    keep = d <= radius_km
    return ia[keep], ib[keep], d[keep], f[keep]
