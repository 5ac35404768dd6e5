"""On-disk cache of routing results: one Parquet file per (network, points, options).

The key is a SHA-256 over the network's :attr:`~siting.routing.RoadNetwork.fingerprint` (nodes, edges,
weights), the point coordinates and ids, the listed pairs and the options, so any change gives a new file
and a stale result is never read. Files are written to a temporary name and renamed into place (atomic on
one file system), so an interrupted run leaves no half-written cache entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["key", "load", "save"]


def key(fingerprint: str, *arrays: object) -> str:
    """Hex SHA-256 of a network fingerprint and any arrays, tuples of arrays, dicts or scalars."""
    h = hashlib.sha256(fingerprint.encode())
    for a in arrays:
        _feed(h, a)
    return h.hexdigest()


def _feed(h, a: object) -> None:
    if a is None:
        h.update(b"\x00none")
    elif isinstance(a, dict):
        h.update(json.dumps(a, sort_keys=True, default=str).encode())
    elif isinstance(a, (tuple, list)):
        h.update(f"seq{len(a)}".encode())
        for x in a:
            _feed(h, x)
    else:
        arr = np.asarray(a)
        if arr.dtype == object:
            h.update(json.dumps([str(x) for x in arr.ravel()]).encode())
        else:
            h.update(str(arr.dtype).encode() + str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr).tobytes())


def _path(cache_dir: str | os.PathLike, k: str) -> Path:
    return Path(cache_dir) / f"road_od-{k[:32]}.parquet"


def load(cache_dir: str | os.PathLike, k: str) -> pd.DataFrame | None:
    """The cached table for key ``k``, or ``None`` (absent or unreadable: recomputed)."""
    p = _path(cache_dir, k)
    if not p.exists():
        return None
    try:
        df = pd.read_parquet(p)
    except (OSError, ValueError):
        return None
    if "path" in df.columns:
        df["path"] = [np.asarray(x, dtype=np.int64) for x in df["path"]]
    return df


def save(cache_dir: str | os.PathLike, k: str, df: pd.DataFrame) -> Path:
    """Write ``df`` under key ``k`` atomically; returns the file."""
    d = Path(cache_dir)
    d.mkdir(parents=True, exist_ok=True)
    p = _path(d, k)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".road_od-", suffix=".tmp")
    os.close(fd)
    try:
        df.to_parquet(tmp, index=False)
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return p
