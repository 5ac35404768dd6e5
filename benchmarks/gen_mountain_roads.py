"""A generated Chongqing-sized, mountain-like road network (for benchmarks/bench_routing.py).

Not real roads: a stand-in of the right size and shape, because the real network cannot be shipped.

* Junctions on a jittered grid (``spacing_km``, default 0.87 km) inside the 38 district polygons of data/geo.
* Candidate links join grid neighbours. Three rivers (Yangtze, Jialing, Wu; coarse polylines through their
  real towns) cut every link that crosses them except *bridges*: one every ``bridge_km`` of river
  (default 25 km), and one every 3 km inside the central city.
* Mountains: a smooth random "relief" field; a random spanning tree keeps every junction reachable, and the
  other links survive with a probability that falls with the relief (valleys keep their roads, ridges
  lose them), tuned to about 150 k links on 100 k junctions.
* Each link is drawn with a middle vertex offset sideways (a bend), so the routable graph has about
  250 k nodes and 300 k links.
* Classes: every 40th grid row and column is 高速 (expressway, its links straight), the rest 三级 or 四级.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy import sparse
from scipy.sparse.csgraph import minimum_spanning_tree

from siting.geo import load_districts

RIVERS = {
    "Yangtze": [(105.30, 28.95), (105.70, 28.95), (106.00, 29.05), (106.25, 29.28), (106.45, 29.45),
                (106.58, 29.56), (106.80, 29.65), (107.08, 29.86), (107.39, 29.70), (107.73, 29.87),
                (108.04, 30.30), (108.40, 30.81), (108.70, 30.93), (109.20, 31.03), (109.46, 31.02),
                (109.88, 31.07), (110.25, 31.05)],
    "Jialing": [(106.10, 30.40), (106.27, 29.99), (106.40, 29.80), (106.58, 29.56)],
    "Wu": [(108.80, 28.20), (108.50, 28.80), (108.17, 29.29), (107.76, 29.33), (107.39, 29.70)],
}
CITY = (106.55, 29.56)  # central Chongqing: many bridges


def _relief(x, y, rng):
    z = np.zeros_like(x)
    for _ in range(12):
        k = rng.uniform(2.0, 12.0)
        a = rng.uniform(0, 2 * np.pi)
        z += np.sin(k * (x * np.cos(a) + y * np.sin(a)) + rng.uniform(0, 2 * np.pi)) / k
    return (z - z.min()) / (z.max() - z.min())


def generate(*, spacing_km: float = 0.87, bridge_km: float = 25.0, keep_extra: float = 1.0, seed: int = 2024):
    """Vertex arrays for :func:`siting.routing.build_network`: ``(lon, lat, line, speed_kmh, class_code,
    road_class)`` plus a dict of figures (junctions, links, bridges)."""
    rng = np.random.default_rng(seed)
    shape = shapely.union_all(load_districts().geometry.to_numpy())
    x0, y0, x1, y1 = shape.bounds
    dlat = spacing_km / 111.195
    dlon = spacing_km / (111.195 * np.cos(np.radians(30.0)))
    gx, gy = np.meshgrid(np.arange(x0, x1, dlon), np.arange(y0, y1, dlat))
    ny, nx = gx.shape
    inside = shapely.contains_xy(shape, gx, gy)
    node = np.full(gx.shape, -1, np.int64)
    node[inside] = np.arange(int(inside.sum()))
    jlon = gx[inside] + rng.uniform(-0.3, 0.3, inside.sum()) * dlon
    jlat = gy[inside] + rng.uniform(-0.3, 0.3, inside.sum()) * dlat
    row_of, col_of = np.nonzero(inside)
    a = np.concatenate([node[:, :-1].ravel(), node[:-1, :].ravel()])
    b = np.concatenate([node[:, 1:].ravel(), node[1:, :].ravel()])
    horiz = np.concatenate([np.ones(ny * (nx - 1), bool), np.zeros((ny - 1) * nx, bool)])
    ok = (a >= 0) & (b >= 0)
    a, b, horiz = a[ok], b[ok], horiz[ok]
    expressway = np.where(horiz, row_of[a] % 40 == 0, col_of[a] % 40 == 0)
    segs = shapely.linestrings(np.stack([np.column_stack([jlon[a], jlat[a]]), np.column_stack([jlon[b], jlat[b]])], 1))
    crossing = np.zeros(a.size, bool)
    bridge = np.zeros(a.size, bool)
    for pts in RIVERS.values():
        river = shapely.LineString(pts)
        hit = np.flatnonzero(shapely.intersects(segs, river))
        crossing[hit] = True
        at_km = shapely.line_locate_point(river, shapely.centroid(segs[hit])) * 100.0  # ~100 km per degree
        mid = shapely.centroid(segs[hit])
        in_city = np.hypot(shapely.get_x(mid) - CITY[0], shapely.get_y(mid) - CITY[1]) < 0.15
        step = np.where(in_city, 3.0, bridge_km)
        bin_ = np.floor(at_km / step).astype(np.int64) * 2 + in_city
        _, first = np.unique(bin_, return_index=True)
        bridge[hit[first]] = True
    usable = ~crossing | bridge
    a, b, horiz, expressway, bridge = a[usable], b[usable], horiz[usable], expressway[usable], bridge[usable]
    relief = _relief(jlon, jlat, rng)
    n = jlon.size
    w = rng.uniform(0.0, 1.0, a.size) + 2.0 * (relief[a] + relief[b]) - 5.0 * expressway - 5.0 * bridge
    tree = minimum_spanning_tree(sparse.coo_matrix((w - w.min() + 1e-3, (a, b)), shape=(n, n))).tocoo()
    in_tree = np.zeros(a.size, bool)
    pos = {(int(i), int(j)): k for k, (i, j) in enumerate(zip(np.minimum(a, b), np.maximum(a, b)))}
    in_tree[[pos[(min(i, j), max(i, j))] for i, j in zip(tree.row, tree.col)]] = True
    p_keep = keep_extra * (1.0 - (relief[a] + relief[b]) / 2.0) ** 1.5
    keep = in_tree | expressway | (rng.uniform(size=a.size) < p_keep)
    a, b, expressway = a[keep], b[keep], expressway[keep]
    return _draw(jlon, jlat, a, b, expressway, rng, dlon, dlat) + (
        {"junctions": int(n), "links": int(a.size), "bridges": int(bridge[keep].sum())},)


def _draw(jlon, jlat, a, b, expressway, rng, dlon, dlat):
    """Each link as a line of 3 vertices: its ends and a sideways-offset middle point (a bend)."""
    m = a.size
    f = np.array([0.0, 0.5, 1.0])
    lon = jlon[a, None] + (jlon[b] - jlon[a])[:, None] * f
    lat = jlat[a, None] + (jlat[b] - jlat[a])[:, None] * f
    wig = rng.uniform(-0.3, 0.3, m) * ~expressway
    dx, dy = (jlon[b] - jlon[a]) / dlon, (jlat[b] - jlat[a]) / dlat  # perpendicular, in grid units
    lon[:, 1] += -dy * wig * dlon
    lat[:, 1] += dx * wig * dlat
    line = np.repeat(np.arange(m), 3)
    road_class = ("三级", "四级", "高速")
    code = np.where(expressway, 2, (rng.uniform(size=m) < 0.5).astype(np.int16)).astype(np.int16)
    speed = np.array([30.0, 20.0, 100.0])[code]
    return lon.ravel(), lat.ravel(), line, speed, code, road_class
