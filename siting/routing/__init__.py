"""Road networks: read, build topology, snap points, route only the pairs a model needs, cache.

Layer: between :mod:`siting.geo` and :mod:`siting.scenario` / :mod:`siting.model`; imports only
:mod:`siting.geo` and :mod:`siting.core`.

Modules
-------
- :mod:`~siting.routing.read`: :func:`read_roads` (``.osm.pbf`` via pyrosm, or any line layer geopandas
  reads; WGS84 / GCJ-02 / BD-09, GCJ-02-declared-as-WGS84 detection), :func:`roads_from_frame`.
- :mod:`~siting.routing.network`: :class:`RoadNetwork` and :func:`build_network` (nodes at shared vertices
  within a snapping tolerance, one-way, largest strongly connected component kept, others reported).
- :mod:`~siting.routing.speeds`: :data:`DEFAULT_SPEEDS` (OSM ``highway`` values and China's 高速/一级/二级/三级/四级
  from JTG B01-2014, each with its source), :func:`speed_table`.
- :mod:`~siting.routing.snap`: :func:`snap_points` -> :class:`Snapped` (projection on the nearest segment).
- :mod:`~siting.routing.route`: :func:`road_od` (batched, radius-limited multi-source Dijkstra, Dask optional).
- :mod:`~siting.routing.paths`: :func:`route_paths` (LineStrings along the roads, for maps).
- :mod:`~siting.routing.cache`: Parquet cache keyed by network fingerprint, points and options.

API
---
``read_roads(path, *, crs=None, speeds=None, default_speed_kmh=None, snap_tolerance_m=1.0, class_col=None,
speed_col=None, oneway_col=None, layer=None, cache_dir=None) -> RoadNetwork``
    ``crs`` is ``"wgs84" | "gcj02" | "bd09"`` or ``None`` (WGS84, checked for GCJ-02 in disguise);
    ``speeds`` overrides the class table (km/h). Raises :class:`~siting.core.errors.DataError` listing
    every problem (file, row, column): empty network, invalid or zero-length lines, unknown road class
    without a speed, bad one-way values, GCJ-02 suspected. With ``cache_dir`` the built network is kept
    as ``.npz`` keyed by the file's SHA-256 and the options (a re-read skips parsing and topology).

``save_network(net, path)`` / ``load_network(path) -> RoadNetwork``
    One ``.npz`` file per network.

``build_network(lon, lat, line, *, speed_kmh, class_code=None, road_class=(), oneway=None, row_label=None,
snap_tolerance_m=1.0, source="<memory>", crs_note="wgs84") -> RoadNetwork``
    From vertex arrays (WGS84; ``line`` numbers the line of each vertex; per-line speed, class, one-way).

``roads_from_frame(gdf, *, source="<memory>", <same options>, osm=False) -> RoadNetwork``
    The same from a line GeoDataFrame.

``RoadNetwork`` (frozen; read-only numpy arrays)
    ``lon, lat`` (nodes, WGS84), ``tail, head, length_km, time_min, speed_kmh, class_code, line_row``
    (directed edges sorted by tail, head), ``road_class`` (names), ``components`` (DataFrame
    ``component, n_nodes, length_km, lon, lat, kept``; :attr:`~RoadNetwork.dropped` = the others),
    ``source``, ``crs_note``, ``snap_tolerance_m``, ``fingerprint``; ``n_nodes``, ``n_edges``,
    ``total_km``, ``bounds()``, ``edges()``, ``summary()``.

``snap_points(net, lon, lat, *, snap_max_km=2.0) -> Snapped``
    ``Snapped.u, v, t`` (segment and position), ``snap_km``, ``road_lon/road_lat``, ``far`` (mask),
    ``far_table(ids)``.

``road_od(net, from_lon, from_lat, to_lon, to_lat, *, from_ids=None, to_ids=None, max_km=None, max_min=None,
pairs=None, weight=None, snap_max_km=2.0, access_speed_kmh=15.0, far="error", batch_size=None,
memory_mb=256.0, cache_dir=None, client=None, with_paths=False) -> pandas.DataFrame``
    Columns ``from_id, to_id, distance_km, time_min, access_km`` (+ ``path``: node ids), one row per pair
    within ``max_km`` and ``max_min`` (or per listed pair). Distances and times include the straight access
    legs point <-> road (``access_km``, at ``access_speed_kmh``). ``weight="distance"`` routes shortest
    paths, ``"time"`` fastest; both metrics are measured on the chosen path. Far points raise
    :class:`DataError` (one line each) unless ``far="skip"``; a network that does not overlap the points is
    one error line.

``route_paths(net, from_lon, from_lat, to_lon, to_lat, *, pairs, from_ids=None, to_ids=None,
weight="distance", snap_max_km=2.0, far="skip") -> geopandas.GeoDataFrame``
    One LineString per listed pair along its road path (for maps).

Examples
--------
>>> net = read_roads("chongqing.osm.pbf")                               # doctest: +SKIP
>>> od = road_od(net, t.lon, t.lat, p.lon, p.lat, max_km=15, cache_dir=".cache/routing")  # doctest: +SKIP
"""

from siting.routing.network import (
    RoadNetwork,
    build_network,
    load_network,
    save_network,
)
from siting.routing.paths import route_paths
from siting.routing.read import dataset_files, detect_gcj02_roads, read_roads, roads_from_frame
from siting.routing.route import ACCESS_SPEED_KMH, road_od
from siting.routing.snap import Snapped, snap_points
from siting.routing.speeds import (
    DEFAULT_SPEEDS,
    normalise_class,
    speed_table,
    travel_time_min,
)

__all__ = [
    "ACCESS_SPEED_KMH", "DEFAULT_SPEEDS", "RoadNetwork", "Snapped", "build_network", "dataset_files",
    "detect_gcj02_roads", "load_network", "normalise_class", "read_roads", "road_od", "roads_from_frame",
    "route_paths", "save_network", "snap_points", "speed_table", "travel_time_min",
]
