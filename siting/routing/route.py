"""Many-to-many shortest paths on a :class:`~siting.routing.RoadNetwork`, only for the pairs needed.

Method (chosen by measurement, see ``benchmarks/bench_routing.py``): :func:`scipy.sparse.csgraph.dijkstra`
from a batch of sources at a time, with ``limit`` = the radius, so that each search stops at the radius
instead of settling the whole network. Points enter the graph as extra nodes on their snapped segment
(:mod:`siting.routing.snap`): a source node with edges to the segment's ends, a target node with edges from
them, with the partial lengths and times, one-way honoured; two points on the same segment also get the
direct edge along it. Only the rows of the batch's targets are kept, so memory is ``batch_size x n_nodes``
(12 bytes each) plus the result. The second metric (time on a shortest-distance path, or distance on a
fastest path) and the node paths are read by walking the predecessor tree back from each target, all pairs
of a batch in step (vectorised).

``distance_km`` and ``time_min`` include the two *access legs* (point -> road, road -> point), straight
lines at ``access_speed_kmh`` (default 15 km/h, an assumption: a short unpaved or local-road approach);
``access_km`` gives their sum.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from siting.core.errors import DataError, DefectCollector
from siting.routing import cache as _cache
from siting.routing.network import RoadNetwork
from siting.routing.snap import Snapped, segments, snap_points

__all__ = ["ACCESS_SPEED_KMH", "COLUMNS", "road_od"]

ACCESS_SPEED_KMH = 15.0  # assumption: speed on the straight access leg between a point and its road
COLUMNS = ["from_id", "to_id", "distance_km", "time_min", "access_km"]
_AT_NODE = 1e-6  # position along a segment within which a point counts as on its end node
_MIN_W = 1e-9  # explicit zero weights would be dropped by csgraph: a 1e-9 km / min floor instead


def _ids(ids: ArrayLike | None, n: int, what: str, found: DefectCollector) -> np.ndarray:
    if ids is None:
        return np.arange(n)
    a = np.asarray(ids)
    if a.shape != (n,):
        found.add(f"{what} has {a.size} ids for {n} points", column=what)
    return a


def _check(net, snapped: Snapped, which: str, ids, far: str, found: DefectCollector) -> np.ndarray:
    """Keep mask of points close enough to a road; far points are defects when ``far == 'error'``."""
    bad = snapped.far
    if far == "skip" or not bad.any():
        return ~bad
    for _, r in snapped.far_table(ids).iterrows():
        found.add(f"point {r['id']} ({r['lon']:.5f}, {r['lat']:.5f}) is {r['snap_km']:.2f} km from the nearest road "
                  f"(snap_max_km = {snapped.snap_max_km:g}); move it, raise snap_max_km, or add the road",
                  row=int(r["row"]), column=f"{which} lon,lat", file=f"{which} points")
    return ~bad


def _overlap(net: RoadNetwork, lon: np.ndarray, lat: np.ndarray, pad_km: float, found: DefectCollector) -> bool:
    x0, y0, x1, y1 = net.bounds()
    pad = pad_km / 111.0
    inside = (lon >= x0 - pad / max(np.cos(np.radians(y0)), 0.1)) & (lon <= x1 + pad) & (lat >= y0 - pad) & (lat <= y1 + pad)
    if lon.size and not inside.any():
        found.add(f"the road network ({x0:.3f}..{x1:.3f} E, {y0:.3f}..{y1:.3f} N) does not overlap the points "
                  f"({lon.min():.3f}..{lon.max():.3f} E, {lat.min():.3f}..{lat.max():.3f} N); wrong file or wrong "
                  "coordinate system?", file=net.source)
        return False
    return True


def road_od(
    net: RoadNetwork,
    from_lon: ArrayLike,
    from_lat: ArrayLike,
    to_lon: ArrayLike,
    to_lat: ArrayLike,
    *,
    from_ids: ArrayLike | None = None,
    to_ids: ArrayLike | None = None,
    max_km: float | None = None,
    max_min: float | None = None,
    pairs: tuple[ArrayLike, ArrayLike] | None = None,
    weight: str | None = None,
    snap_max_km: float = 2.0,
    access_speed_kmh: float = ACCESS_SPEED_KMH,
    far: str = "error",
    batch_size: int | None = None,
    memory_mb: float = 256.0,
    cache_dir: str | None = None,
    client: object | None = None,
    with_paths: bool = False,
) -> pd.DataFrame:
    """Road distance and time between points, for the pairs within a radius (or listed pairs).

    Parameters
    ----------
    net
        The road network.
    from_lon, from_lat, to_lon, to_lat
        Origins and destinations, WGS84 degrees (1-D).
    from_ids, to_ids
        Ids reported in ``from_id`` / ``to_id`` (default: positions 0..n-1).
    max_km, max_min
        Keep only pairs with ``distance_km <= max_km`` and ``time_min <= max_min`` (either, both or neither;
        neither means all pairs). The routed metric's limit also stops each search early.
    pairs
        ``(from_index, to_index)`` positions: return only these pairs (still subject to the limits).
    weight
        ``"distance"`` (shortest paths) or ``"time"`` (fastest paths); both metrics are reported along the
        chosen path. Default: ``"time"`` when only ``max_min`` is given, else ``"distance"``.
    snap_max_km
        Points farther than this from any road are errors (``far="error"``) or left out (``far="skip"``).
    access_speed_kmh
        Speed on the straight access legs (point <-> road).
    batch_size
        Sources per Dijkstra batch; default from ``memory_mb`` (12 bytes per node per source, x 2 margin).
    cache_dir
        Directory for a Parquet cache keyed by the network's fingerprint, the points, ids and options.
    client
        A ``dask.distributed.Client``: batches run as tasks on it (the graph is scattered once).
    with_paths
        Add a ``path`` column: network node ids along each route (``RoadNetwork.lon/lat`` give the shape).

    Returns
    -------
    pandas.DataFrame
        ``from_id, to_id, distance_km, time_min, access_km`` (+ ``path``), sorted by (from, to) position;
        pairs with no route (one-way dead ends) are absent.

    Raises
    ------
    DataError
        Far points (one line each), a network that does not overlap the points, bad coordinates.
    """
    fl, fa, tl, ta = (np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in (from_lon, from_lat, to_lon, to_lat))
    found = DefectCollector("points")
    fid = _ids(from_ids, fl.size, "from_ids", found)
    tid = _ids(to_ids, tl.size, "to_ids", found)
    if far not in ("error", "skip"):
        found.add(f"far must be 'error' or 'skip', got {far!r}", column="far")
    weight = weight or ("time" if max_min is not None and max_km is None else "distance")
    if weight not in ("distance", "time"):
        found.add(f"weight must be 'distance' or 'time', got {weight!r}", column="weight")
    found.raise_if_any(DataError)
    key = None
    if cache_dir is not None:
        key = _cache.key(net.fingerprint, fl, fa, tl, ta, fid, tid, pairs,
                         {"max_km": max_km, "max_min": max_min, "weight": weight, "snap_max_km": snap_max_km,
                              "access": access_speed_kmh, "far": far, "paths": with_paths})
        hit = _cache.load(cache_dir, key)
        if hit is not None:
            return hit
    if not _overlap(net, np.concatenate([fl, tl]), np.concatenate([fa, ta]), snap_max_km, found):
        found.raise_if_any(DataError)
    s_from = snap_points(net, fl, fa, snap_max_km=snap_max_km)
    s_to = snap_points(net, tl, ta, snap_max_km=snap_max_km)
    keep_f = _check(net, s_from, "from", fid, far, found)
    keep_t = _check(net, s_to, "to", tid, far, found)
    found.raise_if_any(DataError)
    out = _solve(net, s_from, s_to, keep_f, keep_t, fid, tid, max_km=max_km, max_min=max_min, pairs=pairs,
                 weight=weight, access_speed_kmh=access_speed_kmh, batch_size=batch_size, memory_mb=memory_mb,
                 client=client, with_paths=with_paths)
    if key is not None:
        _cache.save(cache_dir, key, out)
    return out


def augmented_graph(net: RoadNetwork, s_from: Snapped, s_to: Snapped, src: np.ndarray, tgt: np.ndarray, weight: str):
    """Augmented CSR graph (routed weight), the other metric per stored entry, and the virtual node ids."""
    seg = segments(net)
    w_e, o_e = (net.length_km, net.time_min) if weight == "distance" else (net.time_min, net.length_km)
    n = net.n_nodes
    s_node = n + np.arange(src.size)
    d_node = n + src.size + np.arange(tgt.size)
    tails, heads, ws, os_ = [net.tail], [net.head], [w_e], [o_e]

    def add(mask, t, h, e, frac):
        tails.append(t[mask]), heads.append(h[mask])
        ws.append(w_e[e[mask]] * frac[mask]), os_.append(o_e[e[mask]] * frac[mask])

    for snapped, idx, node, is_src in ((s_from, src, s_node, True), (s_to, tgt, d_node, False)):
        k = _seg_index(seg, snapped.u[idx], snapped.v[idx])
        t = snapped.t[idx]
        e_uv, e_vu = seg.e_uv[k], seg.e_vu[k]
        e_any = np.where(e_uv >= 0, e_uv, e_vu)
        at_u, at_v = t <= _AT_NODE, t >= 1 - _AT_NODE  # a point on a node joins it whatever the one-way
        u, v = seg.u[k], seg.v[k]
        if is_src:  # leave along u->v towards v, or along v->u towards u
            add((e_uv >= 0) | at_v, node, v, e_any, 1 - t), add((e_vu >= 0) | at_u, node, u, e_any, t)
        else:  # arrive along u->v from u, or along v->u from v
            add((e_uv >= 0) | at_u, u, node, e_any, t), add((e_vu >= 0) | at_v, v, node, e_any, 1 - t)
    _same_segment(seg, s_from, s_to, src, tgt, s_node, d_node, add)
    tail, head = np.concatenate(tails), np.concatenate(heads)
    w, o = np.maximum(np.concatenate(ws), _MIN_W), np.maximum(np.concatenate(os_), 0.0)
    nt = n + src.size + tgt.size
    order = np.lexsort((w, head, tail))  # keep the lightest of parallel edges
    tail, head, w, o = tail[order], head[order], w[order], o[order]
    first = np.ones(tail.size, bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    tail, head, w, o = tail[first], head[first], w[first], o[first]
    g = sparse.csr_matrix((w, (tail, head)), shape=(nt, nt))
    g.sort_indices()
    by_head = np.lexsort((tail, head))  # in-edges of each node, tails ascending (virtual sources last)
    in_ptr = np.concatenate([[0], np.cumsum(np.bincount(head, minlength=nt))]).astype(np.int64)
    lookup = InEdges(in_ptr=in_ptr, tail=tail[by_head].astype(np.int64), other=o[by_head],
                     key=head[by_head].astype(np.int64) * nt + tail[by_head], n_road=n)
    return g, lookup, s_node, d_node


class InEdges(NamedTuple):
    """In-edges per node (CSR by head), to read the other metric of an edge ``pred -> node``."""

    in_ptr: np.ndarray
    tail: np.ndarray
    other: np.ndarray
    key: np.ndarray  # head * n_total + tail, ascending
    n_road: int  # ids >= n_road are the points' virtual nodes

    def other_of(self, p: np.ndarray, cur: np.ndarray) -> np.ndarray:
        """Other metric of the edges ``p[k] -> cur[k]`` (each must exist)."""
        out = np.empty(p.size)
        virt = p >= self.n_road  # the first hop out of a source: few, found by binary search
        if virt.any():
            nt = self.in_ptr.size - 1
            out[virt] = self.other[np.searchsorted(self.key, cur[virt] * nt + p[virt])]
        idx = np.flatnonzero(~virt)
        pos = self.in_ptr[cur[idx]]
        want = p[idx]
        while idx.size:  # a road node has a handful of in-edges from road nodes, listed first
            hit = self.tail[pos] == want
            out[idx[hit]] = self.other[pos[hit]]
            miss = ~hit
            idx, pos, want = idx[miss], pos[miss] + 1, want[miss]
        return out


def _seg_index(seg, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    n = int(max(seg.u.max(initial=0), seg.v.max(initial=0))) + 1
    key = seg.u * n + seg.v
    return np.searchsorted(key, u * n + v)


def _same_segment(seg, s_from, s_to, src, tgt, s_node, d_node, add) -> None:
    """Direct edges along a shared segment between a source and a target placed on it."""
    a = pd.DataFrame({"k": _seg_index(seg, s_from.u[src], s_from.v[src]), "i": np.arange(src.size)})
    b = pd.DataFrame({"k": _seg_index(seg, s_to.u[tgt], s_to.v[tgt]), "j": np.arange(tgt.size)})
    m = a.merge(b, on="k")
    if m.empty:
        return
    k, i, j = m["k"].to_numpy(), m["i"].to_numpy(), m["j"].to_numpy()
    ts, td = s_from.t[src][i], s_to.t[tgt][j]
    fwd = (td >= ts) & (seg.e_uv[k] >= 0)
    bwd = (td < ts) & (seg.e_vu[k] >= 0)
    e = np.where(fwd, seg.e_uv[k], np.maximum(seg.e_vu[k], 0))
    add(fwd | bwd, s_node[i], d_node[j], e, np.abs(td - ts))


def _batches(n: int, size: int) -> list[np.ndarray]:
    return [np.arange(i, min(i + size, n)) for i in range(0, n, size)]


def route_batch(g, lookup: InEdges, sources: np.ndarray, targets: np.ndarray, limit: float,
                with_paths: bool, want: np.ndarray | None = None) -> tuple:
    """One batch: Dijkstra from ``sources`` (graph node ids) with ``limit``; for each reachable target,
    the routed metric, the other metric along the path and optionally the path (public for Dask workers).

    ``want`` (bool, len(sources) x len(targets)) restricts the pairs kept. Returns
    ``(row, col, w, o, paths)`` with ``row`` indexing ``sources`` and ``col`` indexing ``targets``.
    """
    dist, pred = dijkstra(g, directed=True, indices=sources, limit=limit, return_predecessors=True)
    dt = dist[:, targets]
    ok = np.isfinite(dt)
    if want is not None:
        ok &= want
    row, col = np.nonzero(ok)
    w = dt[row, col]
    del dist, dt
    cur = targets[col].astype(np.int64)
    acc = np.zeros(row.size)
    steps: list[np.ndarray] = [cur.copy()] if with_paths else []
    active = np.arange(row.size)
    while active.size:
        p = pred[row[active], cur[active]].astype(np.int64)
        alive = p >= 0
        active, p = active[alive], p[alive]
        if not active.size:
            break
        acc[active] += lookup.other_of(p, cur[active])
        cur[active] = p
        if with_paths:
            step = np.full(row.size, -1, np.int64)
            step[active] = p
            steps.append(step)
    paths = None
    if with_paths:
        walk = np.stack(steps, axis=1) if steps else np.empty((row.size, 0), np.int64)
        paths = [r[r >= 0][::-1] for r in walk]
    return row, col, w, acc, paths


def _want(pairs, src: np.ndarray, tgt: np.ndarray) -> np.ndarray | None:
    """Dense (len(src) x len(tgt)) mask of the listed pairs (positions into the full point lists)."""
    if pairs is None:
        return None
    fi, ti = (np.asarray(a, dtype=np.int64) for a in pairs)
    pos_s = np.full(int(max(src.max(initial=-1), fi.max(initial=-1))) + 1, -1)
    pos_s[src] = np.arange(src.size)
    pos_t = np.full(int(max(tgt.max(initial=-1), ti.max(initial=-1))) + 1, -1)
    pos_t[tgt] = np.arange(tgt.size)
    r, c = pos_s[fi], pos_t[ti]
    ok = (r >= 0) & (c >= 0)
    want = np.zeros((src.size, tgt.size), bool)
    want[r[ok], c[ok]] = True
    return want


def _run(g, lookup, s_node, d_node, limit, batches, want, client, with_paths) -> list[tuple]:
    """All batches, locally or as Dask tasks; results in batch order."""
    if client is None:
        return [route_batch(g, lookup, s_node[b], d_node, limit, with_paths,
                            None if want is None else want[b]) for b in batches]
    g_f, k_f, d_f = client.scatter([g, lookup, d_node], broadcast=True)
    futures = [client.submit(route_batch, g_f, k_f, s_node[b], d_f, limit, with_paths,
                             None if want is None else want[b], pure=False) for b in batches]
    return client.gather(futures)


def _solve(net, s_from, s_to, keep_f, keep_t, fid, tid, *, max_km, max_min, pairs, weight, access_speed_kmh,
           batch_size, memory_mb, client, with_paths) -> pd.DataFrame:
    src, tgt = np.flatnonzero(keep_f), np.flatnonzero(keep_t)
    if pairs is not None:
        src = np.intersect1d(src, np.asarray(pairs[0], dtype=np.int64))
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(COLUMNS, [np.asarray(fid).dtype,
                          np.asarray(tid).dtype, float, float, float])})
    if src.size == 0 or tgt.size == 0:
        return empty.assign(path=pd.Series(dtype=object)) if with_paths else empty
    g, lookup, s_node, d_node = augmented_graph(net, s_from, s_to, src, tgt, weight)
    limit = {"distance": max_km, "time": max_min}[weight]
    limit = np.inf if limit is None else float(limit)
    nt = g.shape[0]
    size = batch_size or max(1, min(src.size, int(memory_mb * 1e6 / (nt * 12 * 2))))
    want = _want(pairs, src, tgt)
    batches = [b for b in _batches(src.size, size) if want is None or want[b].any()]
    results = _run(g, lookup, s_node, d_node, limit, batches, want, client, with_paths)
    rows = [b[r[0]] for b, r in zip(batches, results)]
    i = src[np.concatenate(rows)] if rows else np.empty(0, np.int64)
    j = tgt[np.concatenate([r[1] for r in results])] if results else np.empty(0, np.int64)
    w = np.concatenate([r[2] for r in results]) if results else np.empty(0)
    o = np.concatenate([r[3] for r in results]) if results else np.empty(0)
    dist, tmin = (w, o) if weight == "distance" else (o, w)
    access = s_from.snap_km[i] + s_to.snap_km[j]
    dist = dist + access
    tmin = tmin + access / access_speed_kmh * 60.0
    ok = np.ones(i.size, bool)
    if max_km is not None:
        ok &= dist <= max_km
    if max_min is not None:
        ok &= tmin <= max_min
    out = pd.DataFrame({"from_id": np.asarray(fid)[i], "to_id": np.asarray(tid)[j], "distance_km": dist,
                        "time_min": tmin, "access_km": access})
    if with_paths:
        n = net.n_nodes
        out["path"] = [p[p < n] for r in results for p in r[4]]
    out = out[ok]
    order = np.lexsort((j[ok], i[ok]))
    return out.iloc[order].reset_index(drop=True)
