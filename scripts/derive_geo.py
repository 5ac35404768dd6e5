"""Derive township population estimates and estimated coordinates (writes ``townships_derived.csv``).

Run ``python scripts/derive_geo.py [DATA_DIR]`` to rebuild ``DATA_DIR/townships_derived.csv`` from
``townships.csv``, ``township_units.csv``, ``districts.csv``, ``districts.geojson`` and
``development_zones.csv``. The output is deterministic (no randomness, ties broken by code). The rules
are documented in ``data/geo/DERIVED.md``; in short:

Population (2020 estimate, persons)
    Each county's 2020 census population is split over its townships in proportion to a weight:
    the GeoNames population (2000-census vintage) where present, otherwise the median GeoNames
    population of the same township class (subdistrict / town / township incl. ethnic township) in the
    same county, otherwise that class's median over all of Chongqing. Rounding by largest remainder
    (ties: lower code9 first) so each county sums exactly to its census figure.

Coordinates
    ``geonames`` points are kept. Per county, the first ``county_seat_fallback`` row (by code9) keeps the
    county seat point; a township named as a zone's administrative seat in ``planning_units.csv`` takes
    that point from ``development_zones.csv`` if it has none. Every other township without a point is
    placed, in code9 order, at the centre of the *largest empty circle*: among candidate points on a
    regular grid inside the parent district polygon (shrunk by 50 m), the one that maximises
    ``min(distance to every point already present, distance to the polygon boundary)``. Candidates are
    limited to a disk around an anchor: the zone centre for zone members, the county seat for other
    subdistricts (urban), no disk for other towns/townships. The disk radius is
    ``sqrt(sum of assumed areas / pi)`` over the group (15 km² per subdistrict, 40 km² per
    town/township: assumption), at least 1 km beyond the farthest known point of the group.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

__all__ = ["derive_townships", "split_population", "write_derived"]

KM_PER_DEG = 6371.0088 * np.pi / 180.0  # mean-radius sphere, km per degree of latitude
AREA_KM2 = {"subdistrict": 15.0, "town": 40.0, "township": 40.0, "ethnic_township": 40.0}  # assumption
SHRINK_DEG = 0.0005  # candidates stay about 50 m inside the polygon (1e-3 deg of latitude = 111 m)
N_CANDIDATES = 4000  # grid points per candidate region
MIN_CANDIDATES = 50  # a disk with fewer grid points falls back to the whole polygon
ZONE_NAME_IN_ZONES_CSV = {  # planning_units unit_id -> development_zones.csv zone_zh
    "zone_liangjiang": "两江新区",
    "zone_gaoxin": "西部科学城重庆高新区",
    "zone_wansheng": "万盛经济技术开发区",
}
DERIVED_COLUMNS = ["code9", "population_2020_est", "pop_weight", "pop_weight_source", "lon_wgs84", "lat_wgs84",
                   "coord_estimated", "coord_method"]


def _class(kind: str) -> str:
    return "township" if kind in ("township", "ethnic_township") else kind


def largest_remainder(total: int, weights: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (ties: smaller ``keys`` first)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.sum() <= 0:
        w = np.ones_like(w)
    quota = total * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    rest = int(total - base.sum())
    frac = quota - base
    order = np.lexsort((np.asarray(keys, dtype=str), -frac))  # largest fraction first, then key
    base[order[:rest]] += 1
    return base


def split_population(towns: pd.DataFrame, census: pd.Series) -> pd.DataFrame:
    """Township 2020 population estimates.

    Parameters
    ----------
    towns
        ``townships.csv`` rows (code9, type, county_adcode, geonames_population_c2000).
    census
        County census 2020 population indexed by adcode (str).

    Returns
    -------
    DataFrame
        code9, pop_weight, pop_weight_source, population_2020_est (int64).
    """
    t = towns[["code9", "type", "county_adcode", "geonames_population_c2000"]].copy()
    t["cls"] = t["type"].map(_class)
    g = pd.to_numeric(t["geonames_population_c2000"], errors="coerce")
    g = g.where(g > 0)
    county_med = g.groupby([t["county_adcode"], t["cls"]]).transform("median")
    all_med = g.groupby(t["cls"]).transform("median")
    weight = g.fillna(county_med).fillna(all_med)
    source = np.where(g.notna(), "geonames_c2000", np.where(county_med.notna(), "county_class_median", "chongqing_class_median"))
    est = np.zeros(len(t), dtype=np.int64)
    for adcode, idx in t.groupby("county_adcode").indices.items():
        est[idx] = largest_remainder(int(census[adcode]), weight.to_numpy()[idx], t["code9"].to_numpy()[idx])
    return pd.DataFrame({"code9": t["code9"].to_numpy(), "pop_weight": weight.to_numpy(),
                         "pop_weight_source": source, "population_2020_est": est})


def _to_km(lon, lat, lon0: float, lat0: float):
    c = np.cos(np.radians(lat0))
    return (np.asarray(lon) - lon0) * c * KM_PER_DEG, (np.asarray(lat) - lat0) * KM_PER_DEG


def _from_km(x, y, lon0: float, lat0: float):
    c = np.cos(np.radians(lat0))
    return lon0 + np.asarray(x) / (c * KM_PER_DEG), lat0 + np.asarray(y) / KM_PER_DEG


def _grid(poly_km, n: int) -> np.ndarray:
    """About ``n`` grid points (km) inside ``poly_km``, row-major order."""
    x0, y0, x1, y1 = poly_km.bounds
    area = max(poly_km.area, 1e-9)
    step = np.sqrt(area / n)
    xs = np.arange(x0 + step / 2, x1, step)
    ys = np.arange(y0 + step / 2, y1, step)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    inside = shapely.contains_xy(poly_km, gx, gy)
    return np.column_stack([gx[inside], gy[inside]])


def _candidates(poly_km, region_km) -> tuple[np.ndarray, np.ndarray]:
    """Grid candidates (km) in ``region_km`` (the whole polygon if that region holds too few) and their
    distance to the polygon boundary."""
    cand = _grid(region_km, N_CANDIDATES)
    if len(cand) < MIN_CANDIDATES:  # disk too small: use the whole polygon
        cand = _grid(poly_km, N_CANDIDATES)
    # distance to the boundary, via its vertices densified every 100 m (error < 5 m)
    edge_pts = shapely.get_coordinates(shapely.segmentize(poly_km.boundary, 0.1))
    return cand, cKDTree(edge_pts).query(cand)[0]


def _largest_empty_circle(cand: np.ndarray, d_edge: np.ndarray, present: np.ndarray) -> np.ndarray:
    """The candidate maximising min(distance to ``present`` points, distance to the boundary); first on ties."""
    if len(present):
        d_pts = cKDTree(present).query(cand)[0]
    else:
        d_pts = np.full(len(cand), np.inf)
    return cand[int(np.argmax(np.minimum(d_pts, d_edge)))]


def derive_townships(data_dir: Path) -> pd.DataFrame:
    """Compute ``townships_derived.csv`` (see module docstring for the rules)."""
    data_dir = Path(data_dir)
    towns = pd.read_csv(data_dir / "townships.csv", dtype=str, encoding="utf-8")
    units = pd.read_csv(data_dir / "township_units.csv", dtype=str, encoding="utf-8")
    dist = pd.read_csv(data_dir / "districts.csv", dtype=str, encoding="utf-8").set_index("adcode")
    zones = pd.read_csv(data_dir / "development_zones.csv", dtype=str, encoding="utf-8").set_index("zone_zh")
    plan = pd.read_csv(data_dir / "planning_units.csv", dtype=str, encoding="utf-8")
    polys = gpd.read_file(data_dir / "districts.geojson").set_index("adcode")
    t = towns.merge(units[["code9", "unit_2024"]], on="code9", how="left", validate="1:1")

    pop = split_population(t, dist["pop_census2020"].astype(np.int64))
    lon = pd.to_numeric(t["lon_wgs84"], errors="coerce").to_numpy(dtype=np.float64, copy=True)
    lat = pd.to_numeric(t["lat_wgs84"], errors="coerce").to_numpy(dtype=np.float64, copy=True)
    method = np.where(t["coord_source"].eq("geonames") & np.isfinite(lon), "geonames", "").astype(object)

    # county seat fallback: the first such row per county keeps the seat
    fb = t["coord_source"].eq("county_seat_fallback")
    first_fb = fb & ~t.loc[fb, "county_adcode"].duplicated().reindex(t.index, fill_value=True)
    method[first_fb.to_numpy()] = "county_seat_fallback"
    # zone administrative seats named in planning_units.csv
    zone_seat = plan.loc[plan["unit_id"].isin(list(ZONE_NAME_IN_ZONES_CSV)), ["unit_id", "seat_code9"]].drop_duplicates()
    for uid, code in zone_seat.itertuples(index=False):
        i = np.flatnonzero(t["code9"].to_numpy() == code)
        z = zones.loc[ZONE_NAME_IN_ZONES_CSV[uid]]
        z_lon, z_lat = float(z["admin_seat_lon_wgs84"]), float(z["admin_seat_lat_wgs84"])  # NaN if blank
        if len(i) and method[i[0]] == "" and np.isfinite(z_lon) and np.isfinite(z_lat):
            lon[i[0]], lat[i[0]] = z_lon, z_lat
            method[i[0]] = "zone_admin_seat_proxy"
    keep = method != ""
    lon[~keep] = np.nan
    lat[~keep] = np.nan

    cls = t["type"].map(_class).to_numpy()
    kind = t["type"].to_numpy()
    zone = t["unit_2024"].where(t["unit_2024"].str.startswith("zone_"), "").to_numpy()
    src_lon, src_lat = lon.copy(), lat.copy()  # points from the sources, before any placement
    for adcode, idx in t.groupby("county_adcode", sort=True).indices.items():
        idx = np.sort(idx)
        todo = idx[~keep[idx]]
        if not len(todo):
            continue
        poly = polys.loc[adcode, "geometry"]
        lon0, lat0 = poly.centroid.x, poly.centroid.y
        poly_km = shapely.transform(poly.buffer(-SHRINK_DEG), lambda xy: np.column_stack(_to_km(xy[:, 0], xy[:, 1], lon0, lat0)))
        seat = np.array(_to_km(float(dist.loc[adcode, "seat_lon_wgs84"]), float(dist.loc[adcode, "seat_lat_wgs84"]), lon0, lat0))
        regions: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for i in todo:
            if zone[i]:
                key, how = ("zone", zone[i]), "placed_near_zone_centre"
            elif cls[i] == "subdistrict":
                key, how = ("seat", ""), "placed_near_county_seat"
            else:
                key, how = ("county", ""), "placed_largest_empty_circle"
            if key not in regions:
                region = poly_km
                if key[0] != "county":
                    if key[0] == "zone":
                        z = zones.loc[ZONE_NAME_IN_ZONES_CSV[key[1]]]
                        anchor = np.array(_to_km(float(z["centre_lon_wgs84"]), float(z["centre_lat_wgs84"]), lon0, lat0))
                        group = idx[zone[idx] == key[1]]
                    else:
                        anchor, group = seat, idx[(cls[idx] == "subdistrict") & (zone[idx] == "")]
                    radius = np.sqrt(sum(AREA_KM2[k] for k in kind[group]) / np.pi)
                    known = np.column_stack(_to_km(src_lon[group], src_lat[group], lon0, lat0))
                    known = known[np.isfinite(known).all(axis=1)]
                    if len(known):
                        radius = max(radius, float(np.sqrt(((known - anchor) ** 2).sum(1)).max()) + 1.0)
                    region = poly_km.intersection(shapely.Point(anchor).buffer(radius, quad_segs=32))
                regions[key] = _candidates(poly_km, region)
            present = np.column_stack(_to_km(lon[idx], lat[idx], lon0, lat0))
            present = present[np.isfinite(present).all(axis=1)]
            x, y = _largest_empty_circle(*regions[key], present)
            lon[i], lat[i] = _from_km(x, y, lon0, lat0)
            method[i] = how

    out = pd.DataFrame({"code9": t["code9"].to_numpy()}).merge(pop, on="code9", validate="1:1")
    out["lon_wgs84"] = np.round(lon, 6)
    out["lat_wgs84"] = np.round(lat, 6)
    out["coord_estimated"] = method != "geonames"
    out["coord_method"] = method
    out["pop_weight"] = np.round(out["pop_weight"], 1)
    return out[DERIVED_COLUMNS]


def write_derived(data_dir: Path) -> Path:
    """Rebuild ``townships_derived.csv`` in ``data_dir`` (written to a temporary file, then renamed)."""
    data_dir = Path(data_dir)
    df = derive_townships(data_dir)
    target = data_dir / "townships_derived.csv"
    tmp = target.with_suffix(".csv.tmp")
    df.to_csv(tmp, index=False, encoding="utf-8", lineterminator="\n")
    tmp.replace(target)
    return target


if __name__ == "__main__":  # pragma: no cover
    d = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "data" / "geo"
    print(write_derived(d))
