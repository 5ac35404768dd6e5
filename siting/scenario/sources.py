from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
import numpy as np
from siting.core.errors import DataError, DefectCollector, ScenarioError
from siting.scenario.spec import Scenario, SourceSpec


@dataclass
class Points:
    """Points of one source, normalised: ids, names, lon, lat, unit, region, population, category, extras.

    ``source`` and ``row`` say where each point was read, for messages: the file (or the shipped layer, e.g.
    ``"chongqing:townships"``) and the point's row in that file as its own defects number it (``None`` where
    unknown, as for a shipped layer). The :class:`Loader` fills both.
    """

    ids: np.ndarray
    names: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    unit: np.ndarray
    region: np.ndarray
    population: np.ndarray | None = None
    weight: np.ndarray | None = None
    category: np.ndarray | None = None
    fixed_cost: np.ndarray | None = None
    capacity: np.ndarray | None = None
    site: np.ndarray | None = None
    source: np.ndarray | None = None
    row: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, idx: np.ndarray) -> Points:
        def t(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx]

        return Points(self.ids[idx], self.names[idx], self.lon[idx], self.lat[idx], self.unit[idx], self.region[idx],
                       t(self.population), t(self.weight), t(self.category), t(self.fixed_cost), t(self.capacity),
                       t(self.site), t(self.source), t(self.row))


def _obj(values: Any) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for k, x in enumerate(values):
        out[k] = None if x is None or (isinstance(x, float) and math.isnan(x)) or (x != x) else str(x)
    return out


class Loader:
    """Loads and caches point sources of one scenario."""

    def __init__(self, scen: Scenario):
        self.scen = scen
        self._cache: dict[Any, Points] = {}

    def layer(self, name: str) -> Points:
        if name in self._cache:
            return self._cache[name]
        import siting.geo as geo

        kw = {"data_dir": self.scen.data_dir, "structure": self.scen.structure}
        if name == "townships":
            t = geo.load_townships(**kw)
            pts = Points(_obj(t["code9"]), _obj(t["name_zh"]), t["lon"].to_numpy(float), t["lat"].to_numpy(float),
                          _obj(t["unit_id"]), _obj(t["region"]), population=t["population"].to_numpy(float),
                          site=_obj("township:" + t["code9"].astype(str)))
        elif name == "unit_seats":
            u = geo.load_units(**kw)
            pts = Points(_obj(u["unit_id"]), _obj(u["name_zh"]), u["seat_lon"].to_numpy(float), u["seat_lat"].to_numpy(float),
                          _obj(u["unit_id"]), _obj(u["region"]), population=u["population"].to_numpy(float),
                          site=_obj("seat:" + u["unit_id"].astype(str)))
        elif name == "district_seats":
            d = geo.load_districts(**kw)
            pts = Points(_obj(d["adcode"]), _obj(d["name_zh"]), d["seat_lon"].to_numpy(float), d["seat_lat"].to_numpy(float),
                          _obj(d["adcode"]), _obj(d["region"]), population=d["pop_census2020"].to_numpy(float),
                          site=_obj("seat:" + d["adcode"].astype(str)))
        elif name == "logistics":
            g = geo.load_logistics_points(**kw)
            d = geo.load_districts(**kw).set_index("adcode")
            region = g["district_adcode"].map(d["region"])
            pts = Points(_obj(g["id"]), _obj(g["name_zh"]), g["lon"].to_numpy(float), g["lat"].to_numpy(float),
                          _obj(g["district_adcode"]), _obj(region), category=_obj(g["category"]),
                          site=_obj("logistics:" + g["id"].astype(str)))
        else:  # pragma: no cover - validated before
            raise ScenarioError(f"unknown layer {name}")
        pts.source = np.full(len(pts), f"chongqing:{name}", dtype=object)
        pts.row = np.full(len(pts), None, dtype=object)  # the layers are assembled from several files: no row
        self._cache[name] = pts
        return pts

    def file(self, src: SourceSpec) -> Points:
        key = (str(src.path), src.options)
        if key in self._cache:
            return self._cache[key]
        import siting.geo as geo

        o = dict(src.options)
        g = geo.read_points(src.path, id_col=o.get("id_col"), lon_col=o.get("lon_col"), lat_col=o.get("lat_col"),
                            weight_col=o.get("weight_col"), crs=o.get("crs"), coord_system=o.get("coord_system"),
                            layer=o.get("layer"))
        found = DefectCollector(str(src.path))

        def col(opt: str, defaults: tuple[str, ...]) -> Any:
            name = o.get(opt)
            if name is not None:
                if name not in g.columns:
                    found.add(f"column named by {src.key}.{opt} is missing (columns: {', '.join(map(str, g.columns))})",
                              column=name)
                    return None
                return g[name]
            for d in defaults:
                if d in g.columns:
                    return g[d]
            return None

        names = col("name_col", ("name", "name_zh"))
        unit = col("unit_col", ("unit", "unit_id"))
        region = col("region_col", ("region",))
        cat = col("category_col", ("category",))
        fixed = col("fixed_cost_col", ())
        cap = col("capacity_col", ())
        n = len(g)

        def num(s: Any, what: str) -> np.ndarray | None:
            if s is None:
                return None
            import pandas as pd

            x = pd.to_numeric(s, errors="coerce").to_numpy(float)
            for r in np.flatnonzero(~np.isfinite(x) | (x < 0)):
                if what == "capacity" and np.isposinf(x[r]):
                    continue
                found.add(f"{what} must be a number >= 0, got {s.iloc[r]!r}", row=int(r) + 1, column=str(s.name))
            return x

        fx, cx = num(fixed, "fixed cost"), num(cap, "capacity")
        found.raise_if_any(DataError)
        ids = _obj(g["id"])
        pts = Points(ids, _obj(names) if names is not None else ids.copy(), g["lon"].to_numpy(float), g["lat"].to_numpy(float),
                      _obj(unit) if unit is not None else np.full(n, None, dtype=object),
                      _obj(region) if region is not None else np.full(n, None, dtype=object),
                      population=g["weight"].to_numpy(float), weight=g["weight"].to_numpy(float),
                      category=_obj(cat) if cat is not None else None, fixed_cost=fx, capacity=cx,
                      site=_obj(f"{src.path.name}:" + g["id"].astype(str)),
                      source=np.full(n, str(src.path), dtype=object),
                      row=np.arange(n) + int(g.attrs.get("row_offset", 1)))  # as read_points numbers its rows
        self._cache[key] = pts
        return pts

    def points(self, src: SourceSpec) -> Points:
        return self.layer(src.layer) if src.layer else self.file(src)

    def combined(self, sources: tuple[SourceSpec, ...]) -> tuple[Points, list[str]]:
        parts = [self.points(s) for s in sources]
        origin = [s.key for s, p in zip(sources, parts) for _ in range(len(p))]
        if len(parts) == 1:
            return parts[0], origin

        def cat(attr: str) -> np.ndarray | None:
            vals = [getattr(p, attr) for p in parts]
            if all(x is None for x in vals):
                return None
            filled = []
            for p, x in zip(parts, vals):
                if x is None:
                    x = np.full(len(p), np.nan) if attr in ("population", "weight", "fixed_cost", "capacity") else np.full(len(p), None, dtype=object)
                filled.append(x)
            return np.concatenate(filled)

        return Points(*(cat(a) for a in ("ids", "names", "lon", "lat", "unit", "region", "population", "weight",
                                          "category", "fixed_cost", "capacity", "site", "source", "row"))), origin
