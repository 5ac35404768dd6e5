from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from siting.core.errors import DataError, DefectCollector


@dataclass(frozen=True, eq=False)
class ODMatrix:
    """A validated origin–destination matrix (sparse: only the listed pairs).

    Attributes
    ----------
    from_id, to_id
        Ids as strings (object arrays), one entry per pair, no duplicate pair.
    distance_km
        Road distance per pair, km (finite, >= 0).
    time_min
        Travel time per pair, minutes, or ``None`` if the file had no ``time_min`` column.
    source
        File the matrix was read from.
    """

    from_id: np.ndarray
    to_id: np.ndarray
    distance_km: np.ndarray
    time_min: np.ndarray | None = None
    source: str = ""
    _index: pd.MultiIndex = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", pd.MultiIndex.from_arrays([self.from_id, self.to_id]))

    def __len__(self) -> int:
        return int(self.distance_km.size)

    def _positions(self, from_ids: ArrayLike, to_ids: ArrayLike) -> np.ndarray:
        f = np.asarray(from_ids).astype(str).ravel()
        t = np.asarray(to_ids).astype(str).ravel()
        if f.shape != t.shape:
            raise ValueError(f"{f.size} from ids but {t.size} to ids")
        return self._index.get_indexer(pd.MultiIndex.from_arrays([f, t]))

    def lookup(self, from_ids: ArrayLike, to_ids: ArrayLike) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Distances (and times) of the given pairs.

        Parameters
        ----------
        from_ids, to_ids
            Equal-length sequences of ids (converted to str).

        Returns
        -------
        (distance_km, time_min, found)
            float64 arrays with NaN where the pair is not in the matrix, ``time_min`` is ``None`` if the
            matrix has no times, and ``found`` is a boolean mask.
        """
        pos = self._positions(from_ids, to_ids)
        found = pos >= 0
        dist = np.full(pos.size, np.nan)
        dist[found] = self.distance_km[pos[found]]
        time = None
        if self.time_min is not None:
            time = np.full(pos.size, np.nan)
            time[found] = self.time_min[pos[found]]
        return dist, time, found

    def missing_pairs(self, from_ids: ArrayLike, to_ids: ArrayLike) -> list[tuple[str, str]]:
        """The (from, to) pairs among those given that the matrix does not contain, in input order."""
        f = np.asarray(from_ids).astype(str).ravel()
        t = np.asarray(to_ids).astype(str).ravel()
        pos = self._positions(f, t)
        return [(str(f[i]), str(t[i])) for i in np.flatnonzero(pos < 0)]

    def require(self, from_ids: ArrayLike, to_ids: ArrayLike) -> tuple[np.ndarray, np.ndarray | None]:
        """Like :meth:`lookup`, but raise :class:`DataError` listing every missing pair."""
        dist, time, found = self.lookup(from_ids, to_ids)
        if not found.all():
            col = DefectCollector(self.source or "OD matrix")
            for a, b in self.missing_pairs(from_ids, to_ids):
                col.add(f"no distance for pair from {a!r} to {b!r}")
            col.raise_if_any(DataError)
        return dist, time


def _read_table(path: Path, found: DefectCollector) -> pd.DataFrame | None:
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            df = pd.read_parquet(path)
            return df.astype({c: str for c in df.columns if df[c].dtype == object})
        from siting.geo.io import read_csv_any  # local import: distance must not need geo at import time

        return read_csv_any(path, found, dtype=str)
    except (OSError, ValueError, ImportError) as exc:
        found.add(f"cannot read file: {' '.join(str(exc).split())}")
        return None


def read_od_matrix(
    path: str | Path,
    *,
    id_from: str = "from_id",
    id_to: str = "to_id",
    distance_col: str = "distance_km",
    time_col: str = "time_min",
) -> ODMatrix:
    """Read and validate an origin–destination matrix file (CSV or Parquet).

    Columns: ``from_id``, ``to_id``, ``distance_km`` (km, finite, >= 0) and optionally ``time_min``
    (minutes, finite, >= 0). Every problem (missing file or column, missing/non-numeric/negative/infinite
    value, duplicate pair) is reported at once with file, row and column.

    Raises
    ------
    DataError
        With one defect per problem.
    """
    p = Path(path)
    found = DefectCollector(str(p))
    if not p.is_file():
        found.add("file not found")
        found.raise_if_any(DataError)
    df = _read_table(p, found)
    found.raise_if_any(DataError)
    assert df is not None
    missing = [c for c in (id_from, id_to, distance_col) if c not in df.columns]
    for c in missing:
        found.add(f"required column is missing (columns present: {', '.join(map(str, df.columns))})", column=c)
    found.raise_if_any(DataError)
    n = len(df)
    if n == 0:
        found.add("the file has no data rows")
    ids = {}
    for c in (id_from, id_to):
        s = df[c]
        blank = s.isna() | (s.astype(str).str.strip() == "")
        for i in np.flatnonzero(blank.to_numpy()):
            found.add("id is empty", row=int(i) + 1, column=c)
        ids[c] = s.astype(str).str.strip().to_numpy(dtype=object)
    values = {}
    for c in [distance_col] + ([time_col] if time_col in df.columns else []):
        raw = df[c]
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64)
        for i in np.flatnonzero(~np.isfinite(num)):
            r = raw.iloc[i]
            what = "is missing" if (pd.isna(r) or str(r).strip() == "") else f"is not a finite number ({r!r})"
            found.add(f"value {what}", row=int(i) + 1, column=c)
        for i in np.flatnonzero(num < 0):
            found.add(f"value is negative ({num[i]!r})", row=int(i) + 1, column=c)
        values[c] = num
    key = pd.DataFrame({"f": ids[id_from], "t": ids[id_to]})
    dup = key.duplicated(keep=False).to_numpy()
    if dup.any():
        first = {}
        for i in np.flatnonzero(dup):
            k = (key.f.iat[i], key.t.iat[i])
            if k in first:
                found.add(
                    f"duplicate pair ({k[0]!r}, {k[1]!r}), first seen in row {first[k]}",
                    row=int(i) + 1,
                    column=f"{id_from},{id_to}",
                )
            else:
                first[k] = int(i) + 1
    found.raise_if_any(DataError)
    return ODMatrix(
        from_id=ids[id_from],
        to_id=ids[id_to],
        distance_km=values[distance_col],
        time_min=values.get(time_col),
        source=str(p),
    )


@dataclass(frozen=True, eq=False)
class ODPairs:
    """The pairs of an :class:`ODMatrix` between two point sets (indices into them), sorted by (ia, ib).

    ``time_min`` is ``None`` when the matrix has no times.
    """

    ia: np.ndarray
    ib: np.ndarray
    distance_km: np.ndarray
    time_min: np.ndarray | None

    def __len__(self) -> int:
        return int(self.ia.size)


def od_pairs(od: ODMatrix, from_ids: ArrayLike, to_ids: ArrayLike, *, max_distance_km: float = np.inf,
             max_time_min: float = np.inf) -> ODPairs:
    """The listed pairs of ``od`` between ``from_ids`` and ``to_ids``, within the given limits.

    The one OD join of the package (``siting locate`` and scenarios both use it). An id may name several
    points (e.g. one county seat in two demand components): every point carrying it gets the pair.
    Pairs whose distance exceeds ``max_distance_km``, or whose time exceeds ``max_time_min`` (only when the
    matrix has times), are dropped.

    Parameters
    ----------
    od
        The matrix.
    from_ids, to_ids
        Ids of the origin points and of the destination points (converted to str).
    max_distance_km, max_time_min
        Limits (``inf`` = none).

    Returns
    -------
    ODPairs
        Indices into ``from_ids`` / ``to_ids`` with the pair's distance (and time), sorted by (ia, ib).
    """
    f = np.asarray(from_ids, dtype=object).astype(str).ravel()
    t = np.asarray(to_ids, dtype=object).astype(str).ravel()
    n = len(od)
    odf = pd.DataFrame({"f": od.from_id.astype(str), "t": od.to_id.astype(str), "k": np.arange(n)})
    j = odf.merge(pd.DataFrame({"f": f, "ia": np.arange(f.size)}), on="f").merge(
        pd.DataFrame({"t": t, "ib": np.arange(t.size)}), on="t")
    k = j["k"].to_numpy(np.int64)
    d = np.asarray(od.distance_km, dtype=np.float64)[k]
    tm = None if od.time_min is None else np.asarray(od.time_min, dtype=np.float64)[k]
    ok = d <= max_distance_km
    if tm is not None:
        ok &= tm <= max_time_min
    ia, ib = j["ia"].to_numpy(np.int64)[ok], j["ib"].to_numpy(np.int64)[ok]
    d = d[ok]
    tm = None if tm is None else tm[ok]
    order = np.lexsort((ib, ia))
    return ODPairs(ia[order], ib[order], d[order], None if tm is None else tm[order])
