"""Points that are probably at a wrong coordinate: a point in Paris among points in Chongqing.

A demand point farther than :data:`siting.core.limits.FAR_KM` (great circle) from every candidate, or a
candidate that far from every demand point, is refused by ``siting locate``
(:func:`siting.geo.adapt.far_point_defects`) and by ``siting run``
(:func:`siting.scenario.build.build_problem`, which also refuses a gateway point that far from every candidate
of its tier), unless the user accepts it (``--allow-far``, or ``[scenario] allow_far = true``). Each such point
is one :class:`~siting.core.errors.Defect` naming its file (or the shipped layer it came from), its row there,
its id, the distance and the nearest point of the other side; defects of one side share a cause, so that a
long report groups them.

A record read as both a demand point and a candidate (the same row of the same file, e.g. a villages file
that is the demand and the bottom tier's candidates) is not its own neighbour: otherwise every such point
would be 0 km from "a candidate" and a wrong coordinate in that file would never show.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from siting.core.errors import Defect, DefectCollector
from siting.core.limits import BOUNDS_DOC, FAR_KM
from siting.geo.distance import nearest_km

__all__ = ["PlacedPoints", "far_defects"]


@dataclass(frozen=True)
class PlacedPoints:
    """Points with where each was read, for messages.

    ``label`` says what one point is (``"demand point"``, ``"candidate"``, ``"hub candidate"``); ``source``
    is, per point, the file (or shipped layer name, e.g. ``"chongqing:townships"``) it was read from;
    ``row`` its row in that file as the file's own defects number it (``None`` where unknown, e.g. a shipped
    layer); ``column`` the column named in the defect (``None``: none).
    """

    label: str
    ids: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    source: np.ndarray
    row: np.ndarray
    column: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_frame(cls, gdf: Any, *, file: str, label: str) -> PlacedPoints:
        """A :func:`~siting.geo.read_points` GeoDataFrame (columns ``id``, ``lon``, ``lat``; its
        ``attrs["row_offset"]`` numbers the rows) read from ``file``."""
        n = len(gdf)
        return cls(label, gdf["id"].to_numpy(dtype=object), gdf["lon"].to_numpy(float), gdf["lat"].to_numpy(float),
                   np.full(n, file, dtype=object), np.arange(n) + int(gdf.attrs.get("row_offset", 1)),
                   np.full(n, "lon,lat", dtype=object))

    def records(self) -> np.ndarray:
        """One key per point naming its record: (source, row), or (source, id) where the row is unknown."""
        return np.array([f"{s}\x00{'row ' + str(r) if r is not None else 'id ' + str(i)}"
                         for s, r, i in zip(self.source, self.row, self.ids)], dtype=object)

    @classmethod
    def concat(cls, label: str, parts: list[PlacedPoints]) -> PlacedPoints:
        """The points of ``parts`` one after the other, as ``label``."""
        def cat(attr: str) -> np.ndarray:
            return np.concatenate([getattr(q, attr) for q in parts]) if parts else np.zeros(0, dtype=object)

        column = None if any(q.column is None for q in parts) else cat("column")
        return cls(label, cat("ids"), cat("lon").astype(float), cat("lat").astype(float), cat("source"), cat("row"),
                   column)

    def unique(self) -> PlacedPoints:
        """The points with each record once (the first), for a union of sources that may repeat a file."""
        _, first = np.unique(self.records(), return_index=True)
        k = np.sort(first)
        return PlacedPoints(self.label, self.ids[k], self.lon[k], self.lat[k], self.source[k], self.row[k],
                            None if self.column is None else self.column[k])


def far_defects(points: PlacedPoints, others: PlacedPoints, *, far_km: float = FAR_KM,
                escape: str = "pass --allow-far") -> list[Defect]:
    """One defect per point of ``points`` farther than ``far_km`` (great circle) from every point of
    ``others`` other than its own record (:meth:`PlacedPoints.records`). ``escape`` ends each message with how to
    accept such points. Nothing is reported when either side is empty, nor for a point whose only counterpart
    is its own record."""
    if not len(points) or not len(others):
        return []
    pos = {k: j for j, k in enumerate(others.records())}
    skip = np.array([pos.get(k, -1) for k in points.records()], dtype=np.int64)
    d_km, near = nearest_km(points.lon, points.lat, others.lon, others.lat, skip=skip)
    out = DefectCollector()
    # near < 0: the other side's only point is this very record; nothing to compare it with
    for i in np.flatnonzero((d_km > far_km) & (near >= 0)):
        row = points.row[i]
        out.add(f"{points.label} {points.ids[i]!r} at ({points.lon[i]:.4f}, {points.lat[i]:.4f}) is "
                f"{d_km[i]:,.0f} km from the nearest {others.label} ({others.ids[near[i]]!r}); the rule is "
                f"{far_km:g} km ({BOUNDS_DOC}.FAR_KM): check its coordinates, or {escape}",
                file=str(points.source[i]), row=None if row is None else int(row),
                column=None if points.column is None or points.column[i] is None else str(points.column[i]),
                cause=f"far {points.label}")
    return out.defects
