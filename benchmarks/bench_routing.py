"""Road routing benchmark: all township pairs within 60 km on a generated Chongqing-sized network.

Network: ``benchmarks/gen_mountain_roads.py`` (about 250 k nodes and 300 k links inside the 38 district
polygons; three rivers crossed only at bridges, ridges thinned, valleys kept). Points: the 1,031
townships of data/geo. Every method below runs in its own Python subprocess (``_isolated.run_isolated``):
the time is wall time from the network in memory to the OD table (``prep`` = graph or index building,
counted in the time), the peak memory is that subprocess's maximum resident set (whole process, imports
included). All methods route on the same graph (the network plus one node per township on its snapped
segment, see ``siting.routing.route``) and their tables are checked against ``siting`` (same pairs, same
distances).

Methods
-------
siting
    ``siting.routing.road_od(..., max_km=60)``: scipy.sparse.csgraph Dijkstra with ``limit``, batches of
    sources, one process (one core); fills the cache.
siting-cached
    A re-run in a fresh process: imports + ``load_network`` (the saved ``.npz``; counted as prep) +
    ``road_od`` answered from the Parquet cache.
siting-dask2
    ``road_od(..., client=Client(LocalCluster(n_workers=2, threads_per_worker=1)))``; cluster start-up is
    reported as prep but not counted in the time.
naive
    A full single-source Dijkstra (scipy, no limit) per township, then the pairs within 60 km.
igraph
    ``igraph.Graph.distances(sources, targets, weights)`` (full Dijkstra per source in C; no limit exists).
pandana
    Contraction hierarchies (``pandana.Network``, built here), then ``shortest_path_lengths`` for the pairs
    within 60 km in a straight line (the only candidates a 60 km road radius can contain).

Examples
--------
::

    nice -n 5 .venv/bin/python benchmarks/bench_routing.py
    nice -n 5 .venv/bin/python benchmarks/bench_routing.py --methods siting,siting-cached,naive --radius 60
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _isolated import cell, run_isolated

METHODS = ("siting", "siting-cached", "siting-dask2", "naive", "igraph", "pandana")
SNAP_MAX_KM = 5.0


def _load(work: Path):
    from siting.routing import load_network

    net = load_network(work / "net.npz")
    with np.load(work / "points.npz") as z:
        return net, z["lon"], z["lat"]


def _graph_for(net, lon, lat):
    """The augmented graph road_od routes on (internal; used here so every library sees the same graph)."""
    from siting.routing import snap_points
    from siting.routing.route import augmented_graph

    s = snap_points(net, lon, lat, snap_max_km=SNAP_MAX_KM)
    idx = np.arange(lon.size)
    g, _lookup, s_node, d_node = augmented_graph(net, s, s, idx, idx, "distance")
    return g, s_node, d_node, s.snap_km


def _table(i, j, d_km, access, radius):
    import pandas as pd

    total = d_km + access[i] + access[j]
    ok = total <= radius
    return pd.DataFrame({"from_id": i[ok], "to_id": j[ok], "distance_km": total[ok]})


def _child(method: str, work: Path, radius: float) -> dict:
    t0 = time.perf_counter()
    if method == "siting-cached":
        from siting.routing import road_od

        net, lon, lat = _load(work)
        t1 = time.perf_counter()
        od = road_od(net, lon, lat, lon, lat, max_km=radius, snap_max_km=SNAP_MAX_KM, cache_dir=work / "cache")
        t2 = time.perf_counter()
        return {"seconds": t2 - t0, "pairs": len(od), "prep": t1 - t0, "od": od, "od_s": t2 - t1}
    net, lon, lat = _load(work)
    t0 = time.perf_counter()
    prep = 0.0
    if method == "siting":
        from siting.routing import road_od

        od = road_od(net, lon, lat, lon, lat, max_km=radius, snap_max_km=SNAP_MAX_KM, cache_dir=work / "cache")
    elif method == "siting-dask2":
        from dask.distributed import Client, LocalCluster

        from siting.routing import road_od

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            prep = time.perf_counter() - t0
            t0 = time.perf_counter()
            od = road_od(net, lon, lat, lon, lat, max_km=radius, snap_max_km=SNAP_MAX_KM, client=client)
            seconds = time.perf_counter() - t0
        return {"seconds": seconds, "pairs": len(od), "prep": prep, "od": od}
    else:
        g, s_node, d_node, access = _graph_for(net, lon, lat)
        if method == "naive":
            from scipy.sparse.csgraph import dijkstra

            prep = time.perf_counter() - t0
            rows = [dijkstra(g, directed=True, indices=int(s))[d_node] for s in s_node]
            dist = np.vstack(rows)
        elif method == "igraph":
            import igraph

            coo = g.tocoo()
            ig = igraph.Graph(n=g.shape[0], edges=np.column_stack([coo.row, coo.col]), directed=True)
            ig.es["w"] = coo.data
            prep = time.perf_counter() - t0
            dist = np.asarray(ig.distances(source=s_node.tolist(), target=d_node.tolist(), weights="w"))
        elif method == "pandana":
            import pandana
            import pandas as pd

            from siting.geo import pairs_within
            from siting.routing import snap_points

            coo = g.tocoo()
            s = snap_points(net, lon, lat, snap_max_km=SNAP_MAX_KM)
            x = np.concatenate([net.lon, s.road_lon, s.road_lon])
            y = np.concatenate([net.lat, s.road_lat, s.road_lat])
            pn = pandana.Network(pd.Series(x), pd.Series(y), pd.Series(coo.row), pd.Series(coo.col),
                                 pd.DataFrame({"w": coo.data}), twoway=False)
            prep = time.perf_counter() - t0
            i, j, _ = pairs_within(lon, lat, lon, lat, radius)
            d = np.asarray(pn.shortest_path_lengths(s_node[i], d_node[j], imp_name="w"), dtype=float)
            od = _table(i, j, d, access, radius)
            return {"seconds": time.perf_counter() - t0, "pairs": len(od), "prep": prep, "od": od}
        else:
            raise SystemExit(f"unknown method {method}")
        i, j = np.nonzero(np.isfinite(dist))
        od = _table(i, j, dist[i, j], access, radius)
    return {"seconds": time.perf_counter() - t0, "pairs": len(od), "prep": prep, "od": od}


def _run_child(method: str, work: Path, radius: float) -> None:
    rec = _child(method, work, radius)
    od = rec.pop("od")
    od[["from_id", "to_id", "distance_km"]].to_parquet(work / f"od_{method}.parquet", index=False)
    print("RESULT " + json.dumps({"status": "ok", **rec}), flush=True)


def _prepare(work: Path, seed: int) -> dict:
    from gen_mountain_roads import generate

    from siting.geo import load_townships
    from siting.routing import build_network, save_network

    t0 = time.perf_counter()
    lon, lat, line, speed, code, names, info = generate(seed=seed)
    t1 = time.perf_counter()
    net = build_network(lon, lat, line, speed_kmh=speed, class_code=code, road_class=names,
                        source="generated mountain network", snap_tolerance_m=1.0)
    t2 = time.perf_counter()
    save_network(net, work / "net.npz")
    tw = load_townships()
    np.savez(work / "points.npz", lon=tw.geometry.x.to_numpy(), lat=tw.geometry.y.to_numpy())
    return {**info, "nodes": net.n_nodes, "links": net.n_edges // 2, "km": net.total_km,
            "generate_s": t1 - t0, "topology_s": t2 - t1, "summary": net.summary()}


def _compare(work: Path, method: str) -> tuple[str, float]:
    import pandas as pd

    ref = pd.read_parquet(work / "od_siting.parquet").set_index(["from_id", "to_id"])["distance_km"]
    p = work / f"od_{method}.parquet"
    if not p.exists():
        return "-", float("nan")
    got = pd.read_parquet(p).set_index(["from_id", "to_id"])["distance_km"]
    near = (ref - 60.0).abs() < 1e-6
    same = set(got.index) ^ set(ref.index)
    same = {k for k in same if not near.get(k, False)}
    common = ref.index.intersection(got.index)
    diff = float((ref[common] - got[common]).abs().max()) if len(common) else float("nan")
    return ("yes" if not same else f"{len(same)} differ"), diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--radius", type=float, default=60.0, help="km")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _run_child(args.child, Path(args.work), args.radius)
        return
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench_routing_") as tmp:
        work = Path(tmp)
        info = _prepare(work, args.seed)
        print(info.pop("summary"))
        print(f"generated: {info['junctions']:,} junctions, {info['links']:,} two-way links, {info['nodes']:,} nodes, "
              f"{info['bridges']} bridges, {info['km']:,.0f} km; generate {info['generate_s']:.1f} s, "
              f"topology {info['topology_s']:.1f} s; 1,031 townships, radius {args.radius:g} km", flush=True)
        rows = []
        for m in args.methods.split(","):
            rec = run_isolated([sys.executable, __file__, "--child", m, "--work", str(work),
                                "--radius", str(args.radius)], timeout=args.timeout)
            same, diff = _compare(work, m) if m != "siting" else ("(ref)", 0.0)
            rows.append((m, rec, same, diff))
            print(f"  {m}: {cell(rec.get('seconds'))} s, {rec.get('peak_mb')} MB, {rec.get('status')}"
                  f"{' ' + rec['error'] if 'error' in rec else ''}", flush=True)
    load1 = os.getloadavg()
    ref = next((r for m, r, *_ in rows if m == "siting"), None)
    for m, rec, *_ in rows:
        if "od_s" in rec:
            print(f"{m}: of {rec['seconds']:.2f} s, {rec['prep']:.2f} s are imports and loading the network, "
                  f"{rec['od_s']:.3f} s the cached road_od call")
    print(f"\nload average (1/5/15 min) before {load0[0]:.1f}/{load0[1]:.1f}/{load0[2]:.1f}, after "
          f"{load1[0]:.1f}/{load1[1]:.1f}/{load1[2]:.1f} on {os.cpu_count()} cores (shared machine)\n")
    print("| method | time (s) | of which prep (s) | peak memory (MB) | pairs | same pairs as siting | max abs diff (km) | time / siting |")
    print("|---|---:|---:|---:|---:|---|---:|---:|")
    for m, rec, same, diff in rows:
        ratio = rec.get("seconds", float("nan")) / ref["seconds"] if ref and ref.get("seconds") else float("nan")
        print(f"| {m} | {cell(rec.get('seconds'))} | {cell(rec.get('prep'))} | {cell(rec.get('peak_mb'), 0)} | "
              f"{rec.get('pairs', '-')} | {same} | {cell(diff, 6)} | {cell(ratio)} |")


if __name__ == "__main__":
    main()
