"""Topology: road lines -> a routable directed graph (:class:`RoadNetwork`).

Nodes are made at every vertex and line end; vertices of different lines closer than the snapping
tolerance (metres, measured in a local azimuthal-equidistant projection around the network) become one
node, so lines that share a vertex or end within the tolerance are connected. Lines that merely cross
without a shared vertex are **not** connected (bridges and tunnels cross roads without junctions). Each
consecutive vertex pair becomes an edge in both directions, or one direction for a one-way line. The
largest strongly connected component (every node reachable from every other) is kept; the other
components are reported in :attr:`RoadNetwork.components` (count, km, where) and dropped.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyproj
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from siting.core.errors import DataError, DefectCollector
from siting.geo.distance import haversine_km

__all__ = ["RoadNetwork", "build_network", "local_projection"]


def local_projection(lon0: float, lat0: float) -> pyproj.Transformer:
    """WGS84 -> metres in an azimuthal-equidistant projection centred at (lon0, lat0)."""
    aeqd = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat0:.6f} +lon_0={lon0:.6f} +R=6371008.8 +units=m")
    return pyproj.Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A directed road graph, largest strongly connected component only (arrays are read-only).

    Attributes
    ----------
    lon, lat : float64 (n_nodes,)
        Node coordinates, WGS84 degrees.
    tail, head : int64 (n_edges,)
        Directed edges ``tail -> head``, sorted by (tail, head); a two-way road gives two edges.
    length_km, time_min : float64 (n_edges,)
        Edge length (great-circle between the vertices) and travel time at the edge's speed.
    speed_kmh : float64 (n_edges,)
    road_class : tuple[str, ...]
        Class names; ``class_code`` (int16, n_edges) indexes it (-1: no class, speed from a column).
    line_row : int64 (n_edges,)
        Row of the input line each edge comes from (0-based position in the input layer).
    components : pandas.DataFrame
        One row per strongly connected component, largest first: ``component``, ``n_nodes``,
        ``length_km``, ``lon``, ``lat`` (mean of its nodes), ``kept`` (only the first is).
    source : str
        File (or description) the network was read from.
    crs_note : str
        How the input coordinates were interpreted and converted (e.g. ``"gcj02 -> wgs84"``).
    snap_tolerance_m : float
    fingerprint : str
        SHA-256 of nodes, edges and weights: the cache key of results on this network.
    """

    lon: np.ndarray
    lat: np.ndarray
    tail: np.ndarray
    head: np.ndarray
    length_km: np.ndarray
    time_min: np.ndarray
    speed_kmh: np.ndarray
    class_code: np.ndarray
    road_class: tuple[str, ...]
    line_row: np.ndarray
    components: pd.DataFrame
    source: str = "<memory>"
    crs_note: str = "wgs84"
    snap_tolerance_m: float = 1.0
    fingerprint: str = field(default="")

    @property
    def n_nodes(self) -> int:
        return int(self.lon.size)

    @property
    def n_edges(self) -> int:
        return int(self.tail.size)

    @property
    def total_km(self) -> float:
        """Road length kept, km (a two-way road counted once)."""
        return float(_undirected_km(self.tail, self.head, self.length_km))

    @property
    def dropped(self) -> pd.DataFrame:
        """The components that were not kept (count = ``len``, their km and where they are)."""
        return self.components[~self.components["kept"]].reset_index(drop=True)

    def bounds(self) -> tuple[float, float, float, float]:
        """``(min_lon, min_lat, max_lon, max_lat)`` of the nodes."""
        return (float(self.lon.min()), float(self.lat.min()), float(self.lon.max()), float(self.lat.max()))

    def edges(self) -> pd.DataFrame:
        """The directed edges as a table: ``tail, head, length_km, time_min, speed_kmh, road_class, line_row``."""
        names = np.array(list(self.road_class) + [""], dtype=object)
        return pd.DataFrame({
            "tail": self.tail, "head": self.head, "length_km": self.length_km, "time_min": self.time_min,
            "speed_kmh": self.speed_kmh, "road_class": names[self.class_code], "line_row": self.line_row,
        })

    def summary(self) -> str:
        """One line: nodes, edges, km kept, components dropped."""
        d = self.dropped
        return (f"{self.source}: {self.n_nodes:,} nodes, {self.n_edges:,} directed edges, "
                f"{self.total_km:,.1f} km kept; {len(d):,} other components dropped "
                f"({d['length_km'].sum():,.1f} km); coordinates {self.crs_note}")


def _undirected_km(tail: np.ndarray, head: np.ndarray, length_km: np.ndarray) -> float:
    lo, hi = np.minimum(tail, head), np.maximum(tail, head)
    key = lo.astype(np.int64) * (int(max(tail.max(initial=0), head.max(initial=0))) + 1) + hi
    _, first = np.unique(key, return_index=True)
    return float(length_km[first].sum())


def _cluster(x: np.ndarray, y: np.ndarray, tol_m: float) -> np.ndarray:
    """Node label of every vertex: vertices within ``tol_m`` (transitively) share a label."""
    if tol_m <= 0:
        _, label = np.unique(np.column_stack([x, y]), axis=0, return_inverse=True)
        return label.ravel().astype(np.int64)
    pairs = cKDTree(np.column_stack([x, y])).query_pairs(r=tol_m, output_type="ndarray")
    n = x.size
    g = sparse.coo_matrix((np.ones(len(pairs), dtype=np.int8), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, label = connected_components(g, directed=False)
    return label.astype(np.int64)


def build_network(
    lon: np.ndarray,
    lat: np.ndarray,
    line: np.ndarray,
    *,
    speed_kmh: np.ndarray,
    class_code: np.ndarray | None = None,
    road_class: tuple[str, ...] = (),
    oneway: np.ndarray | None = None,
    row_label: np.ndarray | None = None,
    snap_tolerance_m: float = 1.0,
    source: str = "<memory>",
    crs_note: str = "wgs84",
) -> RoadNetwork:
    """Build a :class:`RoadNetwork` from line vertices (WGS84), one line after another.

    Parameters
    ----------
    lon, lat : (n_vertices,)
        Vertex coordinates, WGS84 degrees.
    line : int (n_vertices,)
        Line number of each vertex, ``0 .. n_lines - 1``, non-decreasing (vertices of a line contiguous and
        in drawing order).
    speed_kmh : (n_lines,)
        Speed of each line (positive, finite).
    class_code, road_class
        Optional class of each line, as codes into ``road_class`` (``-1``: none).
    oneway : int8 (n_lines,), optional
        ``0`` two-way, ``1`` one-way in drawing order, ``-1`` one-way against it.
    row_label : (n_lines,), optional
        Row number reported in defects (default ``line + 1``).
    snap_tolerance_m
        Vertices of different lines closer than this become one node (metres, ``>= 0``).

    Raises
    ------
    DataError
        One line per problem: zero-length lines, an empty network.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    line = np.asarray(line, dtype=np.int64)
    n_lines = int(line.max()) + 1 if line.size else 0
    speed = np.asarray(speed_kmh, dtype=np.float64)
    codes = np.full(n_lines, -1, np.int16) if class_code is None else np.asarray(class_code, np.int16)
    way = np.zeros(n_lines, np.int8) if oneway is None else np.asarray(oneway, np.int8)
    rows = np.arange(1, n_lines + 1) if row_label is None else np.asarray(row_label)
    found = DefectCollector(source)
    if lon.size < 2:
        found.add("the road network is empty (no line with two or more vertices)")
        found.raise_if_any(DataError)
    proj = local_projection(float(np.median(lon)), float(np.median(lat)))
    x, y = proj.transform(lon, lat)
    label = _cluster(np.asarray(x), np.asarray(y), float(snap_tolerance_m))
    same = line[:-1] == line[1:]
    a = np.flatnonzero(same)
    b = a + 1
    seg_line = line[a]
    seg_km = haversine_km(lon[a], lat[a], lon[b], lat[b])
    line_km = np.bincount(seg_line, weights=seg_km, minlength=n_lines)
    nverts = np.bincount(line, minlength=n_lines)
    for i in np.flatnonzero((line_km <= 0) & (nverts >= 2)):
        found.add("zero-length line (all its vertices coincide)", row=_py(rows[i]), column="geometry")
    u, v = label[a], label[b]
    keep = u != v  # a segment collapsed by snapping carries no length worth routing
    u, v, seg_line, seg_km = u[keep], v[keep], seg_line[keep], seg_km[keep]
    if u.size == 0:
        found.add("the road network is empty (no line with a non-zero length)")
    found.raise_if_any(DataError)
    seg_way = way[seg_line]
    fwd, bwd = seg_way >= 0, seg_way <= 0
    tail = np.concatenate([u[fwd], v[bwd]])
    head = np.concatenate([v[fwd], u[bwd]])
    eline = np.concatenate([seg_line[fwd], seg_line[bwd]])
    ekm = np.concatenate([seg_km[fwd], seg_km[bwd]])
    n_all = int(label.max()) + 1
    first = np.full(n_all, -1, np.int64)
    first[label[::-1]] = np.arange(label.size - 1, -1, -1)  # a node sits at its first vertex
    node_lon, node_lat = lon[first], lat[first]
    comp_table, kept_nodes = _components(n_all, tail, head, ekm, node_lon, node_lat, u, v, seg_km)
    return _assemble(kept_nodes, tail, head, eline, ekm, speed, codes, node_lon, node_lat,
                     road_class=tuple(road_class), components=comp_table, source=source, crs_note=crs_note,
                     snap_tolerance_m=float(snap_tolerance_m))


def _py(v: object) -> object:
    return v.item() if isinstance(v, np.generic) else v


def _components(n_all, tail, head, ekm, node_lon, node_lat, u, v, seg_km):
    """Strongly connected components: report table (largest first) and the mask of the kept nodes."""
    g = sparse.csr_matrix((np.ones(tail.size, np.int8), (tail, head)), shape=(n_all, n_all))
    n_comp, comp = connected_components(g, directed=True, connection="strong")
    used = np.zeros(n_all, bool)
    used[tail] = True
    used[head] = True
    n_nodes = np.bincount(comp[used], minlength=n_comp)
    same = comp[u] == comp[v]
    km = np.bincount(comp[u][same], weights=seg_km[same], minlength=n_comp)
    clon = np.bincount(comp[used], weights=node_lon[used], minlength=n_comp) / np.maximum(n_nodes, 1)
    clat = np.bincount(comp[used], weights=node_lat[used], minlength=n_comp) / np.maximum(n_nodes, 1)
    present = np.flatnonzero(n_nodes > 0)
    order = present[np.lexsort((-n_nodes[present], -km[present]))]
    table = pd.DataFrame({"component": np.arange(order.size), "n_nodes": n_nodes[order], "length_km": km[order],
                          "lon": clon[order], "lat": clat[order], "kept": np.arange(order.size) == 0})
    return table, used & (comp == order[0])


def _assemble(kept_nodes, tail, head, eline, ekm, speed, codes, node_lon, node_lat, **meta) -> RoadNetwork:
    new_id = np.full(kept_nodes.size, -1, np.int64)
    new_id[kept_nodes] = np.arange(int(kept_nodes.sum()))
    keep = kept_nodes[tail] & kept_nodes[head]
    t, h = new_id[tail[keep]], new_id[head[keep]]
    order = np.lexsort((h, t))
    t, h, line, km = t[order], h[order], eline[keep][order], ekm[keep][order]
    spd = speed[line]
    tmin = km / spd * 60.0
    lon, lat = node_lon[kept_nodes], node_lat[kept_nodes]
    digest = hashlib.sha256()
    for arr in (lon, lat, t, h, km, tmin):
        digest.update(np.ascontiguousarray(arr).tobytes())
    return RoadNetwork(
        lon=_frozen(lon), lat=_frozen(lat), tail=_frozen(t), head=_frozen(h), length_km=_frozen(km),
        time_min=_frozen(tmin), speed_kmh=_frozen(spd), class_code=_frozen(codes[line]),
        line_row=_frozen(line), fingerprint=digest.hexdigest(), **meta)


_ARRAYS = ("lon", "lat", "tail", "head", "length_km", "time_min", "speed_kmh", "class_code", "line_row")


def save_network(net: RoadNetwork, path) -> None:
    """Write ``net`` to one ``.npz`` file (arrays, components, metadata); :func:`load_network` reads it."""
    import json
    import os
    import tempfile
    from pathlib import Path

    meta = {"road_class": list(net.road_class), "source": net.source, "crs_note": net.crs_note,
            "snap_tolerance_m": net.snap_tolerance_m, "fingerprint": net.fingerprint,
            "components": net.components.to_dict(orient="list")}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz")
    os.close(fd)
    try:
        np.savez(tmp, meta=np.array(json.dumps(meta, default=float)), **{k: getattr(net, k) for k in _ARRAYS})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_network(path) -> RoadNetwork:
    """Read a network written by :func:`save_network` (raises :class:`DataError` if unreadable)."""
    import json

    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: _frozen(z[k]) for k in _ARRAYS}
            meta = json.loads(str(z["meta"]))
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(f"{path}: not a saved road network ({' '.join(str(exc).split())})") from exc
    comps = pd.DataFrame(meta.pop("components"))
    return RoadNetwork(**arrays, road_class=tuple(meta.pop("road_class")), components=comps, **meta)
