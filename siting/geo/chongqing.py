"""Validated geodata: the Chongqing reference layers, and users' own point files.

Chongqing loaders (all return GeoDataFrames in EPSG:4326 and take keyword-only ``data_dir`` and
``structure``):

* :func:`load_districts` — county-level units: 38 before the Nov 2025 reform (``structure="2024"``,
  default) or 37 after it (``"2025"``: 江北区 and 渝北区 replaced by 两江新区 500157).
* :func:`load_units` — the action plan's planning units: 41 in 2024 (38 districts/counties +
  两江新区 + 西部科学城重庆高新区 + 万盛经开区); 39 in 2025 (37 districts/counties, of which 两江新区,
  + 高新区 + 万盛经开区).
* :func:`load_townships` — all 1,031 township-level units with a 2020 population estimate and a point.
* :func:`load_logistics_points`, :func:`load_development_zones`.

Township membership of planning units is data, not code: ``data/geo/township_units.csv`` gives each
township's unit in both structures, ``data/geo/planning_units.csv`` lists the units. Population
estimates and estimated coordinates are in ``data/geo/townships_derived.csv`` (built by
``python scripts/derive_geo.py``). The rules are in ``data/geo/DERIVED.md``.

``data_dir`` defaults to :func:`default_data_dir`: the environment variable ``SITING_DATA_DIR`` if set, else
the data installed with the package (``siting/_shipped/data/geo``), else the source checkout's ``data/geo/``
(:mod:`siting.geo.shipped`).

Users' files: :func:`read_points` reads GeoPackage/GeoJSON/Shapefile (anything pyogrio reads) or CSV
with longitude/latitude columns (UTF-8 or GBK), converts GCJ-02/BD-09 and any CRS to WGS84, and
:func:`validate_points` reports every problem at once (file, row, column).
"""

from __future__ import annotations

import os
from pathlib import Path
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from siting.geo.io import collect_point_defects, read_csv_any
from siting.core.errors import DataError, Defect, DefectCollector, ScenarioError
from siting.geo.shipped import DATA_DIR_ENV, default_data_dir


STRUCTURES = ("2024", "2025")


WGS84 = "EPSG:4326"


REQUIRED_FILES = (
    "districts.csv",
    "districts.geojson",
    "townships.csv",
    "township_units.csv",
    "townships_derived.csv",
    "planning_units.csv",
    "logistics_points.csv",
    "development_zones.csv",
)


MAX_LISTED = 20  # longest list of "missing row" problems reported one by one


KINDS = ("district", "county", "zone")


GEOMETRY_RULES = ("district_polygon", "township_cells")


GEOM_X, GEOM_Y = "geometry x", "geometry y"  # how point coordinates of vector files are named in messages


def _resolve(data_dir: str | Path | None, structure: str | int) -> tuple[Path, str]:
    found = DefectCollector("--structure")
    s = str(structure)
    if s not in STRUCTURES:
        found.add(f"unknown structure {structure!r}; use one of {', '.join(STRUCTURES)}")
        found.raise_if_any(ScenarioError)
    d = Path(data_dir) if data_dir is not None else default_data_dir()
    found = DefectCollector(str(d))
    if not d.is_dir():
        if data_dir is not None:
            found.add("data directory not found")
        elif os.environ.get(DATA_DIR_ENV):
            found.add(f"data directory not found (${DATA_DIR_ENV} points here)")
        else:
            found.add(f"data directory not found (reinstall siting, or set ${DATA_DIR_ENV} to a folder with the "
                      "data/geo files)")
    else:
        for name in REQUIRED_FILES:
            if not (d / name).is_file():
                found.add(f"required file {name} is missing")
    found.raise_if_any(DataError)
    return d, s


def _csv(path: Path, found: DefectCollector, required: tuple[str, ...]) -> pd.DataFrame | None:
    sub = DefectCollector(str(path))
    df = read_csv_any(path, sub, dtype=str)
    if df is not None:
        for c in required:
            if c not in df.columns:
                sub.add("required column is missing", column=c)
    found.extend(sub.defects)
    return None if sub else df


def _int_col(df: pd.DataFrame, col: str, file: str, found: DefectCollector, *, what: str) -> np.ndarray:
    raw = df[col]
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
    for i in np.flatnonzero(~np.isfinite(num)):
        found.add(f"{what} is missing or not a number ({raw.iloc[i]!r})", file=file, row=int(i) + 1, column=col)
    for i in np.flatnonzero(num < 0):
        found.add(f"{what} is negative ({num[i]:g})", file=file, row=int(i) + 1, column=col)
    for i in np.flatnonzero(np.isfinite(num) & (num != np.round(num))):
        found.add(f"{what} is not a whole number ({num[i]:g})", file=file, row=int(i) + 1, column=col)
    return np.where(np.isfinite(num), num, 0).astype(np.int64)


def _dup_ids(df: pd.DataFrame, col: str, file: str, found: DefectCollector) -> None:
    key = df[col].astype(str)
    first: dict[str, int] = {}
    for i, k in enumerate(key):
        if k in first:
            found.add(f"duplicate id {k!r} (first in row {first[k]})", file=file, row=i + 1, column=col)
        else:
            first[k] = i + 1


def _polygons(path: Path, found: DefectCollector) -> gpd.GeoDataFrame | None:
    try:
        g = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types; all mean "cannot read"
        found.add(f"cannot read file: {' '.join(str(exc).split())}", file=str(path))
        return None
    if g.crs is None:
        found.add("unknown CRS: the file declares no coordinate reference system", file=str(path))
        return None
    if "adcode" not in g.columns:
        found.add("required column is missing", file=str(path), column="adcode")
        return None
    g = g.to_crs(WGS84)
    g["adcode"] = g["adcode"].astype(str)
    for i in np.flatnonzero(g.geometry.isna().to_numpy() | g.geometry.is_empty.to_numpy()):
        found.add("geometry is missing", file=str(path), row=int(i) + 1, column="geometry")
    _dup_ids(g, "adcode", str(path), found)
    return g


class _Bundle:
    """Every Chongqing layer of one ``data_dir`` and ``structure``, validated together."""

    def __init__(self, data_dir: str | Path | None, structure: str | int):
        d, s = _resolve(data_dir, structure)
        self.dir, self.structure = d, s
        found = DefectCollector()
        f = {name: d / name for name in REQUIRED_FILES}
        dist, polys, towns, members, derived, plan = self._read(f, found)
        found.raise_if_any(DataError)
        self._check_districts(dist, polys, str(f["districts.csv"]), found)
        self._check_townships(towns, members, derived, dist, f, found)
        plan = self._check_plan(plan, members, polys, str(f["planning_units.csv"]), str(f["township_units.csv"]),
                                found)
        found.raise_if_any(DataError)
        t = self._merge(towns, members, derived, dist, polys, str(f["townships_derived.csv"]), found)
        found.raise_if_any(DataError)
        self.dist_table, self.polys, self.towns, self.plan = dist, polys, t, plan

    @staticmethod
    def _read(f: dict[str, Path], found: DefectCollector) -> tuple:
        """Every reference file, with its required columns checked."""
        dist = _csv(f["districts.csv"], found, ("adcode", "name_zh", "name_en", "level", "planning_region_zh",
                                                 "seat_lon_wgs84", "seat_lat_wgs84", "pop_census2020"))
        polys = _polygons(f["districts.geojson"], found)
        towns = _csv(f["townships.csv"], found, ("code9", "name_zh", "type", "county_adcode", "county_name_zh",
                                                 "county_adcode_after_2025_11", "county_name_after_2025_11"))
        members = _csv(f["township_units.csv"], found, ("code9", "unit_2024", "unit_2025"))
        derived = _csv(f["townships_derived.csv"], found, ("code9", "population_2020_est", "lon_wgs84",
                                                           "lat_wgs84", "coord_estimated", "coord_method"))
        plan = _csv(f["planning_units.csv"], found, ("structure", "unit_id", "name_zh", "name_en", "kind", "region",
                                                     "seat_lon_wgs84", "seat_lat_wgs84", "seat_code9",
                                                     "geometry_rule"))
        return dist, polys, towns, members, derived, plan

    @staticmethod
    def _check_districts(dist: pd.DataFrame, polys: gpd.GeoDataFrame | None, fd: str, found: DefectCollector) -> None:
        """Districts: census population, seats, one polygon each."""
        dist["pop_census2020"] = _int_col(dist, "pop_census2020", fd, found, what="population")
        collect_point_defects(dist, _Sub(found, fd), id_col="adcode", lon_col="seat_lon_wgs84",
                              lat_col="seat_lat_wgs84")
        if polys is not None:
            for i in np.flatnonzero(~dist["adcode"].isin(polys["adcode"]).to_numpy()):
                found.add(f"district {dist['adcode'].iat[i]} has no polygon in districts.geojson", file=fd,
                          row=int(i) + 1, column="adcode")

    @staticmethod
    def _check_townships(towns: pd.DataFrame, members: pd.DataFrame, derived: pd.DataFrame, dist: pd.DataFrame,
                         f: dict[str, Path], found: DefectCollector) -> None:
        """Townships: the source list, membership and derived values join 1:1 on code9."""
        ft, fm, fv = (str(f[n]) for n in ("townships.csv", "township_units.csv", "townships_derived.csv"))
        for df, fn in ((towns, ft), (members, fm), (derived, fv)):
            _dup_ids(df, "code9", fn, found)
        codes = set(towns["code9"])
        for df, fn in ((members, fm), (derived, fv)):
            for i in np.flatnonzero(~df["code9"].isin(codes).to_numpy()):
                found.add(f"township {df['code9'].iat[i]} is not in townships.csv", file=fn, row=int(i) + 1,
                          column="code9")
            absent = np.flatnonzero(~towns["code9"].isin(df["code9"]).to_numpy())
            for i in absent[:MAX_LISTED]:
                found.add(f"township {towns['code9'].iat[i]} ({towns['name_zh'].iat[i]}) has no row here",
                          file=fn, column="code9")
            if len(absent) > MAX_LISTED:
                found.add(f"... and {len(absent) - MAX_LISTED} more townships of townships.csv have no row here",
                          file=fn, column="code9")
        for i in np.flatnonzero(~towns["county_adcode"].isin(dist["adcode"]).to_numpy()):
            found.add(f"county {towns['county_adcode'].iat[i]} is not in districts.csv", file=ft, row=int(i) + 1,
                      column="county_adcode")
        derived["population_2020_est"] = _int_col(derived, "population_2020_est", fv, found, what="population")
        collect_point_defects(derived, _Sub(found, fv), id_col=None, lon_col="lon_wgs84", lat_col="lat_wgs84")
        bad_flag = ~derived["coord_estimated"].isin(["True", "False"])
        for i in np.flatnonzero(bad_flag.to_numpy()):
            found.add("must be True or False", file=fv, row=int(i) + 1, column="coord_estimated")

    def _check_plan(self, plan: pd.DataFrame, members: pd.DataFrame, polys: gpd.GeoDataFrame | None, fp: str,
                    fm: str, found: DefectCollector) -> pd.DataFrame:
        """The planning units of this structure: ids, membership, kinds and geometry rules."""
        s = self.structure
        plan = plan.assign(_row=np.arange(len(plan)) + 1)
        plan = plan[plan["structure"].astype(str) == s].reset_index(drop=True)
        if plan.empty:
            found.add(f"no planning units for structure {s}", file=fp, column="structure")
        dup = plan["unit_id"].duplicated()
        for r, u in zip(plan.loc[dup, "_row"], plan.loc[dup, "unit_id"]):
            found.add(f"duplicate unit_id {u!r} in structure {s}", file=fp, row=int(r), column="unit_id")
        ucol = f"unit_{s}"
        for i in np.flatnonzero(~members[ucol].isin(plan["unit_id"]).to_numpy()):
            found.add(f"unit {members[ucol].iat[i]!r} is not a structure-{s} unit in planning_units.csv",
                      file=fm, row=int(i) + 1, column=ucol)
        for r, u in zip(plan["_row"], plan["unit_id"]):
            if not (members[ucol] == u).any():
                found.add(f"unit {u!r} has no township in township_units.csv", file=fp, row=int(r), column="unit_id")
        for col, allowed in (("kind", KINDS), ("geometry_rule", GEOMETRY_RULES)):
            for r, v in zip(plan["_row"], plan[col]):
                if v not in allowed:
                    found.add(f"{v!r} is not one of {', '.join(allowed)}", file=fp, row=int(r), column=col)
        if polys is not None:
            own = plan["geometry_rule"].eq("district_polygon") & ~plan["unit_id"].isin(polys["adcode"])
            for r, u in zip(plan.loc[own, "_row"], plan.loc[own, "unit_id"]):
                found.add(f"unit {u!r} uses district_polygon but districts.geojson has no polygon {u!r}",
                          file=fp, row=int(r), column="geometry_rule")
        return plan

    @staticmethod
    def _merge(towns: pd.DataFrame, members: pd.DataFrame, derived: pd.DataFrame, dist: pd.DataFrame,
               polys: gpd.GeoDataFrame | None, fv: str, found: DefectCollector) -> pd.DataFrame:
        """One township table; census sums and estimated points inside their district checked."""
        t = towns.drop(columns=["lon_wgs84", "lat_wgs84"], errors="ignore")  # superseded by townships_derived.csv
        t = t.merge(members[["code9", "unit_2024", "unit_2025"]], on="code9", validate="1:1")
        t = t.merge(derived, on="code9", validate="1:1")
        t["lon"] = t["lon_wgs84"].astype(float)
        t["lat"] = t["lat_wgs84"].astype(float)
        t["coord_estimated"] = t["coord_estimated"].eq("True")
        census = dist.set_index("adcode")["pop_census2020"]
        sums = t.groupby("county_adcode")["population_2020_est"].sum()
        for a, v in sums.items():
            if int(v) != int(census[a]):
                found.add(f"township populations of county {a} sum to {int(v):,}, census says {int(census[a]):,}",
                          file=fv, column="population_2020_est")
        if polys is not None:
            poly_of = polys.set_index("adcode").geometry
            est = t[t["coord_estimated"] & t["coord_method"].str.startswith("placed")]
            outside = ~shapely.contains_xy(poly_of.reindex(est["county_adcode"]).to_numpy(), est["lon"], est["lat"])
            row_of = pd.Series(np.arange(len(derived)) + 1, index=derived["code9"].to_numpy())
            for code, name in zip(est.loc[outside, "code9"], est.loc[outside, "name_zh"]):
                found.add(f"estimated point of township {code} ({name}) lies outside its district polygon",
                          file=fv, row=int(row_of[code]), column="lon_wgs84,lat_wgs84")
        return t

    # -- layers --

    def townships(self) -> gpd.GeoDataFrame:
        t, s = self.towns, self.structure
        unit = t[f"unit_{s}"]
        county = t["county_adcode"] if s == "2024" else t["county_adcode_after_2025_11"]
        county_name = t["county_name_zh"] if s == "2024" else t["county_name_after_2025_11"]
        region = unit.map(self.plan.set_index("unit_id")["region"])
        out = pd.DataFrame({
            "code9": t["code9"],
            "name_zh": t["name_zh"],
            "type": t["type"],
            "county_adcode": county,
            "county_name_zh": county_name,
            "census_county_adcode": t["county_adcode"],
            "unit_id": unit,
            "region": region,
            "population": t["population_2020_est"].astype(np.int64),
            "coord_estimated": t["coord_estimated"].astype(bool),
            "coord_method": t["coord_method"],
            "lon": t["lon"],
            "lat": t["lat"],
        })
        return gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(out["lon"], out["lat"]), crs=WGS84)

    def cells(self, codes: pd.Series) -> dict[str, shapely.Geometry]:
        """Voronoi cells (lon/lat plane) of the given townships, clipped to their pre-2025 district polygon."""
        t = self.towns
        poly_of = self.polys.set_index("adcode").geometry
        out: dict[str, shapely.Geometry] = {}
        for county in sorted(t.loc[t["code9"].isin(codes), "county_adcode"].unique()):
            sub = t[t["county_adcode"] == county]
            poly = poly_of[county]
            pts = shapely.points(sub["lon"].to_numpy(), sub["lat"].to_numpy())
            vor = shapely.voronoi_polygons(shapely.MultiPoint(list(pts)), extend_to=poly, ordered=True)
            for code, cell in zip(sub["code9"], shapely.get_parts(vor)):
                out[code] = shapely.make_valid(cell.intersection(poly))
        return out

    def _seat(self, row: pd.Series) -> tuple[float, float]:
        lon, lat = pd.to_numeric(row["seat_lon_wgs84"]), pd.to_numeric(row["seat_lat_wgs84"])
        if pd.notna(lon) and pd.notna(lat):
            return float(lon), float(lat)
        m = self.towns[self.towns["code9"] == str(row["seat_code9"])]
        if len(m) != 1:
            raise DataError([Defect(f"seat_code9 {row['seat_code9']!r} of unit {row['unit_id']!r} is not a township, "
                                    "and no seat coordinates are given", str(self.dir / "planning_units.csv"),
                                    int(row["_row"]), "seat_code9")])
        return float(m["lon"].iat[0]), float(m["lat"].iat[0])

    def units(self) -> gpd.GeoDataFrame:
        s, plan = self.structure, self.plan
        towns = self.townships()
        pop = towns.groupby("unit_id")["population"].sum()
        n = towns.groupby("unit_id").size()
        poly_of = self.polys.set_index("adcode").geometry
        need = towns.loc[towns["unit_id"].isin(plan.loc[plan["geometry_rule"] == "township_cells", "unit_id"]), "code9"]
        cells = self.cells(need)
        rows, geoms = [], []
        for _, r in plan.iterrows():
            lon, lat = self._seat(r)
            if r["geometry_rule"] == "township_cells":
                member = towns.loc[towns["unit_id"] == r["unit_id"], "code9"]
                geom = shapely.union_all([cells[c] for c in member])
                approx = True
            else:
                geom, approx = poly_of.get(r["unit_id"]), False
            rows.append({
                "unit_id": r["unit_id"], "name_zh": r["name_zh"], "name_en": r["name_en"], "kind": r["kind"],
                "region": r["region"], "population": int(pop.get(r["unit_id"], 0)),
                "n_townships": int(n.get(r["unit_id"], 0)), "seat_lon": lon, "seat_lat": lat,
                "seat_source": r.get("seat_source", ""), "geometry_rule": r["geometry_rule"],
                "geometry_approximate": approx, "structure": s,
            })
            geoms.append(geom)
        return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=WGS84)

    def _common_subregion(self, census_counties: pd.Series) -> str | None:
        """The subregion shared by all the given pre-2025 counties, else None."""
        if "subregion_zh" not in self.dist_table:
            return None
        sub = self.dist_table.set_index("adcode")["subregion_zh"].reindex(census_counties.unique())
        return str(sub.iat[0]) if sub.notna().all() and sub.nunique() == 1 else None

    def districts(self) -> gpd.GeoDataFrame:
        d = self.dist_table
        poly_of = self.polys.set_index("adcode").geometry
        base = pd.DataFrame({
            "adcode": d["adcode"],
            "name_zh": d["name_zh"],
            "name_en": d["name_en"],
            "level": d["level"],
            "region": d["planning_region_zh"],
            "subregion": d["subregion_zh"] if "subregion_zh" in d else None,
            "pop_census2020": d["pop_census2020"].astype(np.int64),
            "pop_is_estimate": False,
            "seat_lon": d["seat_lon_wgs84"].astype(float),
            "seat_lat": d["seat_lat_wgs84"].astype(float),
            "geometry_approximate": False,
        })
        geoms = list(poly_of.reindex(d["adcode"]).to_numpy())
        if self.structure == "2025":
            units = self.units().set_index("unit_id")
            changed = self.plan.loc[(self.plan["kind"] != "zone") & (self.plan["geometry_rule"] == "township_cells")]
            keep = base["adcode"].isin(self.plan["unit_id"]) & ~base["adcode"].isin(changed["unit_id"])
            geoms = [g for g, k in zip(geoms, keep) if k]
            base = base[keep].reset_index(drop=True)
            towns = self.townships()
            extra = []
            for _, r in changed.iterrows():
                u = units.loc[r["unit_id"]]
                old = d[d["adcode"] == r["unit_id"]]
                pop = int(towns.loc[towns["county_adcode"] == r["unit_id"], "population"].sum())
                extra.append({
                    "adcode": r["unit_id"], "name_zh": r["name_zh"],
                    "name_en": old["name_en"].iat[0] if len(old) else r["name_en"],
                    "level": "district", "region": r["region"],
                    "subregion": self._common_subregion(towns.loc[towns["county_adcode"] == r["unit_id"],
                                                                   "census_county_adcode"]),
                    "pop_census2020": pop, "pop_is_estimate": True,
                    "seat_lon": u["seat_lon"], "seat_lat": u["seat_lat"], "geometry_approximate": True,
                })
                # a district's polygon is the union of its townships' cells, zone members included
                codes = towns.loc[towns["county_adcode"] == r["unit_id"], "code9"]
                cells = self.cells(codes)
                geoms.append(shapely.union_all([cells[c] for c in codes]))
            base = pd.concat([base, pd.DataFrame(extra)], ignore_index=True)
            order = np.argsort(base["adcode"].to_numpy(), kind="stable")
            base = base.iloc[order].reset_index(drop=True)
            geoms = [geoms[i] for i in order]
        base["subregion"] = base["subregion"].astype(object).where(base["subregion"].notna(), None)
        return gpd.GeoDataFrame(base, geometry=geoms, crs=WGS84)


class _Sub(DefectCollector):
    """A view of a collector that stamps its own file name on every defect."""

    def __init__(self, parent: DefectCollector, file: str):
        super().__init__(file)
        self.defects = parent.defects  # shared list: defects land in the parent


def load_districts(*, data_dir: str | Path | None = None, structure: str | int = "2024") -> gpd.GeoDataFrame:
    """County-level units of Chongqing with census population, seat point and polygon.

    Parameters
    ----------
    data_dir
        Folder with the reference files; default :func:`default_data_dir`.
    structure
        ``"2024"`` (38 units, as in the census and the 2024 plan) or ``"2025"`` (37 units after the
        2025-11 reform: 江北区 500105 and 渝北区 500112 replaced by 两江新区 500157; 北碚区 changed).

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        ``adcode``, ``name_zh``, ``name_en``, ``level``, ``region`` (planning region, zh), ``subregion``,
        ``pop_census2020`` (int, persons), ``pop_is_estimate`` (True where boundaries changed in 2025 and
        the figure is the sum of township estimates), ``seat_lon``, ``seat_lat``, ``geometry_approximate``
        (True for 2025 polygons built from township cells), polygon geometry.

    Raises
    ------
    DataError
        Listing every problem in the data files; :class:`ScenarioError` for an unknown ``structure``.
    """
    return _Bundle(data_dir, structure).districts()


def load_units(*, data_dir: str | Path | None = None, structure: str | int = "2024") -> gpd.GeoDataFrame:
    """The action plan's planning units (41 in ``"2024"``, 39 in ``"2025"``).

    Membership of townships comes from ``township_units.csv`` (one unit per township, rule per row in
    ``rule_2024``/``rule_2025``). ``population`` is the sum of member townships' estimates.

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        ``unit_id``, ``name_zh``, ``name_en``, ``kind`` (district/county/zone), ``region``, ``population``
        (int), ``n_townships``, ``seat_lon``, ``seat_lat``, ``seat_source``, ``geometry_rule``
        (``district_polygon`` or ``township_cells``), ``geometry_approximate``, ``structure``, geometry
        (the district polygon for unchanged districts; for zones and changed districts the union of the
        member townships' Voronoi cells clipped to their districts, flagged approximate).
    """
    return _Bundle(data_dir, structure).units()


def load_townships(*, data_dir: str | Path | None = None, structure: str | int = "2024") -> gpd.GeoDataFrame:
    """All 1,031 township-level units with a 2020 population estimate and a point.

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        ``code9``, ``name_zh``, ``type``, ``county_adcode`` (of the chosen structure),
        ``county_name_zh``, ``census_county_adcode`` (pre-2025 county, whose census the population is
        split from), ``unit_id``, ``region``, ``population`` (int, persons, 2020 estimate; sums per
        ``census_county_adcode`` equal the census), ``coord_estimated`` (bool), ``coord_method``,
        ``lon``, ``lat``, Point geometry.
    """
    return _Bundle(data_dir, structure).townships()


def _read_plain_points(path: Path, *, id_col: str, required: tuple[str, ...]) -> gpd.GeoDataFrame:
    found = DefectCollector(str(path))
    df = read_csv_any(path, found, dtype=str) if path.is_file() else None
    if df is None:
        if not path.is_file():
            found.add("file not found")
        found.raise_if_any(DataError)
    for c in required:
        if c not in df.columns:
            found.add("required column is missing", column=c)
    found.raise_if_any(DataError)
    collect_point_defects(df, found, id_col=id_col, lon_col="lon_wgs84", lat_col="lat_wgs84")
    found.raise_if_any(DataError)
    lon, lat = df["lon_wgs84"].astype(float), df["lat_wgs84"].astype(float)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs=WGS84)


def load_logistics_points(*, data_dir: str | Path | None = None, structure: str | int = "2024") -> gpd.GeoDataFrame:
    """Airports, rail terminals, ports and logistics bases (``logistics_points.csv``).

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        ``id``, ``name_zh``, ``category``, ``name_en``, ``role``, ``precision_m`` (float, m),
        ``coord_method``, ``district_adcode``, ``district_zh``, ``lon``, ``lat``, Point geometry.
        ``structure="2025"`` maps ``district_adcode`` 500105/500112 to the 2025 county of the point's
        nearest township.
    """
    d, s = _resolve(data_dir, structure)
    g = _read_plain_points(d / "logistics_points.csv", id_col="id",
                           required=("id", "name_zh", "category", "lon_wgs84", "lat_wgs84"))
    g["precision_m"] = pd.to_numeric(g.get("precision_m"), errors="coerce")
    g = g.rename(columns={"lon_wgs84": "lon", "lat_wgs84": "lat"})
    g["lon"], g["lat"] = g["lon"].astype(float), g["lat"].astype(float)
    if s == "2025" and "district_adcode" in g:
        # points in the abolished 江北区/渝北区 get the 2025 district whose (approximate) polygon holds them
        gone = g["district_adcode"].isin(["500105", "500112"]).to_numpy()
        if gone.any():
            dist = load_districts(data_dir=d, structure="2025")
            hit = shapely.contains_xy(dist.geometry.to_numpy()[:, None], g.loc[gone, "lon"].to_numpy()[None, :],
                                      g.loc[gone, "lat"].to_numpy()[None, :])
            cand = dist[dist["adcode"].isin(["500157", "500109"])].index.to_numpy()
            pick = np.where(hit.any(axis=0), hit.argmax(axis=0), cand[0])
            g.loc[gone, "district_adcode"] = dist["adcode"].to_numpy()[pick]
            g.loc[gone, "district_zh"] = dist["name_zh"].to_numpy()[pick]
    keep = ["id", "name_zh", "category"] + [c for c in g.columns if c not in ("id", "name_zh", "category", "geometry")]
    return g[keep + ["geometry"]]


def load_development_zones(*, data_dir: str | Path | None = None, structure: str | int = "2024") -> gpd.GeoDataFrame:
    """The three development zones (``development_zones.csv``), Point geometry = published centre.

    Returns
    -------
    GeoDataFrame (EPSG:4326)
        ``zone_zh``, ``zone_en``, ``kind``, ``centre_lon``, ``centre_lat``, ``admin_seat_lon``,
        ``admin_seat_lat`` (NaN where unknown), the notes columns, Point geometry (centre). The file is
        the same for both structures (``structure`` is only validated).
    """
    d, _ = _resolve(data_dir, structure)
    path = d / "development_zones.csv"
    found = DefectCollector(str(path))
    df = read_csv_any(path, found, dtype=str)
    found.raise_if_any(DataError)
    for c in ("zone_zh", "centre_lon_wgs84", "centre_lat_wgs84"):
        if c not in df.columns:
            found.add("required column is missing", column=c)
    found.raise_if_any(DataError)
    collect_point_defects(df, found, id_col="zone_zh", lon_col="centre_lon_wgs84", lat_col="centre_lat_wgs84")
    found.raise_if_any(DataError)
    df = df.rename(columns={"centre_lon_wgs84": "centre_lon", "centre_lat_wgs84": "centre_lat",
                            "admin_seat_lon_wgs84": "admin_seat_lon", "admin_seat_lat_wgs84": "admin_seat_lat"})
    for c in ("centre_lon", "centre_lat", "admin_seat_lon", "admin_seat_lat"):
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce")
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df["centre_lon"], df["centre_lat"]), crs=WGS84)
