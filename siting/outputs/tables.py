"""The outputs contract, its validation, and the atomic writer of a run directory.

A pipeline (``siting locate``, ``siting run``) turns its result into three GeoDataFrames in EPSG:4326 and a
summary dict, then calls :func:`write_run`, which writes::

    out_dir/
      summary.json          the summary, UTF-8, NaN written as null; one schema for every run, documented in
                            :mod:`siting.outputs.summary` (checked by :func:`validate_summary`)
      solution.gpkg         layers facilities, assignments, demand (EPSG:4326; TEXT, REAL, MEDIUMINT, BOOLEAN),
                            and a default QGIS style per layer (``layer_styles``, see :mod:`siting.outputs.qgis`)
      facilities.csv        UTF-8 with BOM (Excel shows Chinese names), lon/lat columns instead of geometry
      assignments.csv       same, with from_lon, from_lat, to_lon, to_lat
      demand.csv            same, one row per demand point (with the serving chain where the pipeline adds it)
      map.html              self-contained Folium map (works offline), see :mod:`siting.outputs.maps`
      report.html           self-contained report with embedded charts, see :mod:`siting.outputs.report`
      chart_cost.png, chart_distance.png

Everything is written into a temporary directory next to ``out_dir`` (same file system) and renamed into
place at the end; on any exception, ``KeyboardInterrupt`` included, the temporary directory is removed, so
nothing half-written is ever left. :func:`prepare_out_dir` performs the checks of the destination up front,
so that pipelines can refuse a bad ``--out`` before they spend time solving.

Frames that violate the contract raise :class:`FrameContractError` (a ``TypeError``): that is a bug in the
calling pipeline, not a problem with the user's input, so the CLI shows a traceback rather than exit code 2.
"""

from __future__ import annotations

import enum
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from siting.core.errors import OutputError
from siting.outputs.summary import COVERAGE_KEYS, SUMMARY_KEYS, SUMMARY_VERSION

__all__ = [
    "FACILITY_COLUMNS",
    "ASSIGNMENT_COLUMNS",
    "DEMAND_COLUMNS",
    "SUMMARY_KEYS",
    "FrameContractError",
    "RunFrames",
    "validate_frames",
    "validate_summary",
    "summary_to_json",
    "prepare_out_dir",
    "atomic_dir",
    "write_gpkg",
    "write_csvs",
    "write_run",
    "live_temp_dirs",
    "current_umask",
]

# column -> kind: "str" (never null), "str?" (str or None), "float" (float64, NaN allowed), "int" (int32), "bool"
FACILITY_COLUMNS: dict[str, str] = {
    "facility_id": "str",
    "name": "str",
    "tier": "str",
    "tier_level": "int",
    "unit": "str?",
    "region": "str?",
    "volume": "float",
    "capacity": "float",
    "utilisation": "float",
    "fixed_cost_cny": "float",
    "handling_cost_cny": "float",
    "transport_cost_cny": "float",
    "required": "bool",
}
ASSIGNMENT_COLUMNS: dict[str, str] = {
    "from_id": "str",
    "to_id": "str",
    "tier": "str",
    "distance_km": "float",
    "volume": "float",
    "cost_cny": "float",
}
DEMAND_COLUMNS: dict[str, str] = {
    "demand_id": "str",
    "name": "str",
    "weight": "float",
    "assigned_to": "str?",
    "distance_km": "float",
    "covered": "bool",
}
_GEOMETRY = {"facilities": "Point", "assignments": "LineString", "demand": "Point"}
_COLUMNS = {"facilities": FACILITY_COLUMNS, "assignments": ASSIGNMENT_COLUMNS, "demand": DEMAND_COLUMNS}
_ID = {"facilities": "facility_id", "demand": "demand_id"}

#: a non-empty directory is only replaced with ``overwrite=True`` when it holds one of these (our outputs)
OUTPUT_MARKERS = ("summary.json", "compare.json")


class FrameContractError(TypeError):
    """The frames or summary handed to :func:`write_run` break the outputs contract (a programming error)."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__(
            f"{len(problems)} violation(s) of the outputs contract:\n" + "\n".join(f"  - {p}" for p in problems)
        )


@dataclass(frozen=True)
class RunFrames:
    """The three contract frames after validation, with normalised dtypes and a ``geometry`` column."""

    facilities: gpd.GeoDataFrame
    assignments: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame


# --- validation ---------------------------------------------------------------------------------------------


def _normalise_column(name: str, kind: str, values: pd.Series, where: str, problems: list[str]) -> pd.Series:
    """Return ``values`` converted to the contract dtype of ``kind``, or record why it cannot be."""
    label = f"{where}.{name}"
    if kind in ("str", "str?"):
        out = values.astype(object).where(values.notna(), None)
        bad = [v for v in out if not (isinstance(v, str) or (v is None and kind == "str?"))]
        if bad:
            problems.append(
                f"{label}: expected {'str or None' if kind == 'str?' else 'str'}, got "
                f"{type(bad[0]).__name__} ({bad[0]!r}) in {len(bad)} row(s)"
            )
        return out
    if kind == "bool":
        if pd.api.types.is_bool_dtype(values) and not values.isna().any():
            return values.astype(bool)
        if values.dtype == object and all(isinstance(v, bool | np.bool_) for v in values):
            return values.astype(bool)
        problems.append(f"{label}: expected bool with no missing values, got dtype {values.dtype}")
        return values
    if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
        problems.append(f"{label}: expected {'int' if kind == 'int' else 'float'}, got dtype {values.dtype}")
        return values
    arr = values.to_numpy(dtype="float64", na_value=np.nan)
    if kind == "float":
        return pd.Series(arr, index=values.index, name=name)
    # int
    if np.isnan(arr).any() or not np.all(np.mod(arr, 1) == 0) or (arr.size and np.abs(arr).max() > 2**31 - 1):
        problems.append(f"{label}: expected int32 values with no missing values")
        return values
    return pd.Series(arr.astype("int32"), index=values.index, name=name)


def _validate_frame(kind: str, frame: Any, problems: list[str]) -> gpd.GeoDataFrame | None:
    if not isinstance(frame, gpd.GeoDataFrame):
        problems.append(f"{kind}: expected a GeoDataFrame, got {type(frame).__name__}")
        return None
    try:
        geom = frame.geometry
    except AttributeError:
        problems.append(f"{kind}: has no active geometry column")
        return None
    if frame.crs is None or frame.crs.to_epsg() != 4326:
        problems.append(f"{kind}: CRS must be EPSG:4326, got {frame.crs!r}")
    spec = _COLUMNS[kind]
    if len(frame) == 0:  # an empty layer (no solution): its columns can be supplied, nothing can be wrong
        empty = {"str": object, "str?": object, "float": "float64", "int": "int32", "bool": bool}
        frame = frame.assign(**{c: pd.Series([], dtype=empty[k]) for c, k in spec.items() if c not in frame.columns})
        geom = frame.geometry
    missing = [c for c in spec if c not in frame.columns]
    if missing:
        problems.append(f"{kind}: missing column(s) {', '.join(missing)}")
    data: dict[str, Any] = {}
    for col, ckind in spec.items():
        if col in frame.columns:
            data[col] = _normalise_column(col, ckind, frame[col], kind, problems)
    # extra columns are kept when GeoPackage can store them
    for col in frame.columns:
        if col in spec or col == frame.geometry.name:
            continue
        s = frame[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            data[col] = s
        elif s.dtype == object or pd.api.types.is_string_dtype(s):
            data[col] = s.astype(object).where(s.notna(), None).map(lambda v: v if v is None else str(v))
        else:
            problems.append(f"{kind}.{col}: extra column of dtype {s.dtype} cannot be stored; drop it")
    want = _GEOMETRY[kind]
    types = geom.geom_type
    bad = types.isna() | (types != want)
    if bad.any():
        first = types[bad].iloc[0]
        problems.append(f"{kind}: geometry must be {want}, got {first} in {int(bad.sum())} row(s)")
    elif len(geom) and (geom.is_empty.any()):
        problems.append(f"{kind}: {int(geom.is_empty.sum())} empty geometries")
    idcol = _ID.get(kind)
    if idcol and idcol in data and data[idcol].duplicated().any():
        dups = sorted(set(data[idcol][data[idcol].duplicated()].map(str)))[:5]
        problems.append(f"{kind}.{idcol}: duplicated id(s) {', '.join(dups)}")
    out = gpd.GeoDataFrame(data, geometry=gpd.GeoSeries(geom.to_numpy(), index=frame.index, crs="EPSG:4326"))
    return out.reset_index(drop=True)


def validate_frames(facilities: Any, assignments: Any, demand: Any) -> RunFrames:
    """Check the three frames against the outputs contract; return them with normalised dtypes.

    Raises
    ------
    FrameContractError
        With every violation found (missing columns, wrong types, wrong geometry or CRS, dangling ids).
    """
    problems: list[str] = []
    fac = _validate_frame("facilities", facilities, problems)
    asg = _validate_frame("assignments", assignments, problems)
    dem = _validate_frame("demand", demand, problems)
    if fac is not None and "facility_id" in fac:
        ids = set(fac["facility_id"])
        if asg is not None and "to_id" in asg:
            dangling = sorted(set(asg["to_id"]) - ids)
            if dangling:
                problems.append(f"assignments.to_id: not in facilities: {', '.join(map(str, dangling[:5]))}")
        if dem is not None and "assigned_to" in dem:
            dangling = sorted({v for v in dem["assigned_to"] if v is not None} - ids)
            if dangling:
                problems.append(f"demand.assigned_to: not in facilities: {', '.join(map(str, dangling[:5]))}")
    if problems:
        raise FrameContractError(problems)
    assert fac is not None and asg is not None and dem is not None
    return RunFrames(fac, asg, dem)


def _jsonable(value: Any) -> Any:
    """``value`` with numpy scalars, NaN/inf (-> None), enums, paths and tuples made JSON-friendly."""
    if isinstance(value, Mapping):
        return {str(k.value if isinstance(k, enum.Enum) else k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset | np.ndarray | pd.Index | pd.Series):
        seq = sorted(value, key=str) if isinstance(value, set | frozenset) else list(value)
        return [_jsonable(v) for v in seq]
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if value is None or isinstance(value, str):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    raise FrameContractError([f"summary: value of type {type(value).__name__} is not JSON-able: {value!r}"])


def validate_summary(summary: Mapping[str, Any], frames: RunFrames | None = None) -> dict[str, Any]:
    """Check the summary's keys (and, given the frames, its facility ids and counts); return it JSON-able."""
    problems: list[str] = []
    if not isinstance(summary, Mapping):
        raise FrameContractError([f"summary: expected a dict, got {type(summary).__name__}"])
    out = _jsonable(summary)
    if "model" not in out and "scenario" not in out:
        problems.append("summary: needs 'model' or 'scenario'")
    missing = [k for k in SUMMARY_KEYS if k not in out]
    if missing:
        problems.append(f"summary: missing key(s) {', '.join(missing)}")
    if "facility_ids" in out and not isinstance(out["facility_ids"], list):
        problems.append("summary.facility_ids: expected a list")
    if "counts_by_tier" in out and not isinstance(out["counts_by_tier"], dict):
        problems.append("summary.counts_by_tier: expected a dict tier -> count")
    if (out.get("summary_version") or 0) >= SUMMARY_VERSION and isinstance(out.get("coverage"), dict) and out["coverage"]:
        gone = [k for k in COVERAGE_KEYS if k not in out["coverage"]]
        if gone:
            problems.append(f"summary.coverage: missing key(s) {', '.join(gone)} (see siting.outputs.summary)")
    if frames is not None and not problems:
        fac_ids = sorted(map(str, frames.facilities["facility_id"]))
        if sorted(map(str, out["facility_ids"])) != fac_ids:
            problems.append(
                f"summary.facility_ids ({len(out['facility_ids'])}) differ from facilities.facility_id ({len(fac_ids)})"
            )
        counts = frames.facilities["tier"].value_counts().to_dict()
        given = {str(k): int(v) for k, v in out["counts_by_tier"].items() if v}
        if given != {str(k): int(v) for k, v in counts.items()}:
            problems.append(f"summary.counts_by_tier {given} differ from the facilities frame {counts}")
    if problems:
        raise FrameContractError(problems)
    return out


def summary_to_json(summary: Mapping[str, Any]) -> str:
    """The summary as UTF-8 JSON text (indented, non-ASCII kept, NaN as null)."""
    return json.dumps(_jsonable(summary), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


# --- destination checks and the atomic directory ------------------------------------------------------------


def prepare_out_dir(out_dir: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Check that ``out_dir`` can receive a run's outputs; call it before solving.

    Parameters
    ----------
    out_dir
        The directory to be written. It may not exist yet (its parents are created when writing).
    overwrite
        Allow replacing an existing non-empty directory, provided it holds earlier outputs of ``siting``
        (a ``summary.json`` or ``compare.json``), so that ``--out . --overwrite`` cannot delete a project.

    Returns
    -------
    Path
        The absolute path of ``out_dir``.

    Raises
    ------
    OutputError
        ``out_dir`` is a file; is non-empty and ``overwrite`` is false; is non-empty, ``overwrite`` is true
        but it does not hold earlier outputs; contains the working directory; or its nearest existing parent
        is not a writable directory.
    """
    out = Path(out_dir).expanduser().absolute()
    if out.exists() or out.is_symlink():
        if not out.is_dir():
            raise OutputError(f"{out}: exists and is not a directory")
        if out.is_symlink():
            raise OutputError(f"{out}: is a symbolic link; give the real directory")
        if any(out.iterdir()):
            if not overwrite:
                raise OutputError(f"{out}: exists and is not empty; choose another output directory or overwrite it")
            if not any((out / m).is_file() for m in OUTPUT_MARKERS):
                raise OutputError(
                    f"{out}: is not empty and holds no earlier siting output ({' or '.join(OUTPUT_MARKERS)}); "
                    "refusing to replace it"
                )
            cwd = Path.cwd().absolute()
            if cwd == out or out in cwd.parents:
                raise OutputError(f"{out}: contains the working directory; refusing to replace it")
    parent = out.parent
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if not parent.is_dir():
        raise OutputError(f"{out}: cannot be created, {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{out}: cannot be created, {parent} is not writable")
    return out


def current_umask() -> int:
    """The process's umask (read by setting and restoring it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_LIVE_TMP: set[Path] = set()  # temporary directories being written now (removed on a hard exit, see siting.cli)


def live_temp_dirs() -> list[Path]:
    """The temporary output directories of :class:`atomic_dir` that exist right now (not yet committed)."""
    return sorted(_LIVE_TMP)


class atomic_dir:  # noqa: N801 - used as a context manager, reads like a function
    """Context manager: a temporary directory next to ``out_dir`` that becomes ``out_dir`` on success.

    On a clean exit the directory is renamed into place (an existing one, checked by
    :func:`prepare_out_dir`, is renamed away first and deleted after). On any exception, including
    ``KeyboardInterrupt``, the temporary directory is deleted and ``out_dir`` is left as it was.

    Examples
    --------
    >>> with atomic_dir(out, overwrite=False) as tmp:  # doctest: +SKIP
    ...     (tmp / "summary.json").write_text("{}")
    """

    def __init__(self, out_dir: str | os.PathLike[str], *, overwrite: bool = False):
        self.out = prepare_out_dir(out_dir, overwrite=overwrite)
        self.overwrite = overwrite
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.tmp-", dir=self.out.parent))
            self.tmp.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700: give it the mode a mkdir would
            _LIVE_TMP.add(self.tmp)
        except OSError as exc:
            raise OutputError(f"{self.out}: cannot create a temporary directory next to it ({exc})") from exc
        return self.tmp

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        assert self.tmp is not None
        try:
            if exc_type is None:
                self._commit(self.tmp)
        finally:
            if self.tmp.exists():  # failure, or the commit itself failed
                shutil.rmtree(self.tmp, ignore_errors=True)
            _LIVE_TMP.discard(self.tmp)
        return False

    def _commit(self, tmp: Path) -> None:
        out = self.out
        # re-check: something may have appeared in out_dir while we were solving and writing
        prepare_out_dir(out, overwrite=self.overwrite)
        if not out.exists():
            os.rename(tmp, out)
            return
        if not any(out.iterdir()):
            os.rmdir(out)
            os.rename(tmp, out)
            return
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.rmdir(old)
        os.rename(out, old)
        try:
            os.rename(tmp, out)
        except BaseException:
            os.rename(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)


# --- writers ------------------------------------------------------------------------------------------------


def write_gpkg(path: str | os.PathLike[str], frames: RunFrames) -> None:
    """Write the three layers (EPSG:4326) to one GeoPackage with typed fields."""
    for layer, gdf in (("facilities", frames.facilities), ("assignments", frames.assignments), ("demand", frames.demand)):
        pyogrio.write_dataframe(
            gdf,
            path,
            layer=layer,
            driver="GPKG",
            geometry_type=_GEOMETRY[layer],
            promote_to_multi=False,
            encoding="UTF-8",
        )
    from siting.outputs.qgis import write_layer_styles  # noqa: PLC0415 - the styles need the layers first

    write_layer_styles(path, frames)
    os.chmod(path, 0o666 & ~current_umask())  # SQLite creates 0644 whatever the umask (e.g. 002 on a shared server)


def write_csvs(out_dir: str | os.PathLike[str], frames: RunFrames) -> None:
    """Write ``facilities.csv``, ``assignments.csv`` and ``demand.csv`` (UTF-8 with BOM, coordinates as lon/lat)."""
    out = Path(out_dir)
    fac = pd.DataFrame(frames.facilities.drop(columns="geometry"))
    fac["lon"] = frames.facilities.geometry.x.round(6)
    fac["lat"] = frames.facilities.geometry.y.round(6)
    fac.to_csv(out / "facilities.csv", index=False, encoding="utf-8-sig")
    asg = pd.DataFrame(frames.assignments.drop(columns="geometry"))
    coords = [np.asarray(g.coords) for g in frames.assignments.geometry]
    for j, end in ((0, "from"), (-1, "to")):
        asg[f"{end}_lon"] = [round(float(c[j, 0]), 6) for c in coords]
        asg[f"{end}_lat"] = [round(float(c[j, 1]), 6) for c in coords]
    asg.to_csv(out / "assignments.csv", index=False, encoding="utf-8-sig")
    dem = pd.DataFrame(frames.demand.drop(columns="geometry"))  # with the serving chain when the pipeline adds it
    dem["lon"] = frames.demand.geometry.x.round(6)
    dem["lat"] = frames.demand.geometry.y.round(6)
    dem.to_csv(out / "demand.csv", index=False, encoding="utf-8-sig")


def _map_options(summary: Mapping[str, Any], map_options: Mapping[str, Any] | None, lang: str) -> dict[str, Any]:
    """The keyword options of ``make_map``: language, Tianditu key (``TIANDITU_KEY``), coverage radii by default."""
    from siting.outputs.i18n import check_lang  # noqa: PLC0415
    from siting.outputs.maps import MAP_OPTIONS, TIANDITU_ENV  # noqa: PLC0415

    options = {"lang": check_lang(lang), "tianditu_key": os.environ.get(TIANDITU_ENV) or None, **dict(map_options or {})}
    unknown = sorted(set(options) - MAP_OPTIONS)
    if unknown:
        raise TypeError(f"map_options: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(MAP_OPTIONS))}")
    if "coverage_km" not in options:  # default: the radii the model used, from summary["coverage"]["radius_km"]
        radius = (summary.get("coverage") or {}).get("radius_km")
        if isinstance(radius, dict):
            radius = {str(k): float(v) for k, v in radius.items() if isinstance(v, int | float) and v > 0} or None
        if isinstance(radius, int | float | dict) and not isinstance(radius, bool):
            options["coverage_km"] = radius
    return options


def write_run(
    out_dir: str | os.PathLike[str],
    *,
    summary: Mapping[str, Any],
    facilities: gpd.GeoDataFrame,
    assignments: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame | None = None,
    title: str | None = None,
    overwrite: bool = False,
    map_options: Mapping[str, Any] | None = None,
    manifest: Mapping[str, Any] | None = None,
    lang: str = "en",
) -> Path:
    """Validate and write every output of one run, atomically.

    Parameters
    ----------
    out_dir
        Destination directory (see :func:`prepare_out_dir` for what is refused).
    summary
        JSON-able dict with at least ``model`` or ``scenario`` and :data:`SUMMARY_KEYS`.
    facilities, assignments, demand
        GeoDataFrames in EPSG:4326 with the columns of :data:`FACILITY_COLUMNS`,
        :data:`ASSIGNMENT_COLUMNS` and :data:`DEMAND_COLUMNS`.
    boundaries
        Optional polygons (district boundaries) drawn as the map's base; any CRS.
    title
        Title of the map and report (default: the summary's ``scenario`` or ``model``).
    overwrite
        Replace an existing non-empty output directory of an earlier run.
    map_options
        Keyword options of :func:`siting.outputs.maps.make_map` (``coverage_km``, ``simplify_deg``, ``osm``,
        ``show_demand``). Without ``coverage_km``, the summary's ``coverage.radius_km`` (a number or a dict
        tier -> km) gives the coverage circles, which are layers that start hidden.
    manifest
        The run's provenance record (see :mod:`siting.provenance.manifest`). Written last, as ``manifest.json`` in the
        same temporary directory, with ``outputs`` added: the SHA-256 of ``summary.json`` and
        ``solution.gpkg`` as written, so that ``siting verify`` can tell whether they were changed since.
    lang
        Language of the map and report: ``"en"`` or ``"zh"`` (:mod:`siting.outputs.i18n`). Without
        ``tianditu_key`` in ``map_options``, the environment variable ``TIANDITU_KEY`` (if set) adds the
        optional Tianditu basemap.

    Returns
    -------
    Path
        The absolute path of the written directory.

    Raises
    ------
    OutputError
        The destination cannot be used (checked before any work).
    FrameContractError
        The frames or summary break the contract (a bug in the caller).
    """
    from siting.outputs import report  # noqa: PLC0415 - report and maps import this module
    from siting.outputs.maps import make_map, save_map  # noqa: PLC0415

    writer = atomic_dir(out_dir, overwrite=overwrite)  # checks the destination first
    frames = validate_frames(facilities, assignments, demand)
    clean_summary = validate_summary(summary, frames)
    text = summary_to_json(clean_summary)
    options = _map_options(clean_summary, map_options, lang)
    with writer as tmp:
        (tmp / "summary.json").write_text(text, encoding="utf-8")
        write_gpkg(tmp / "solution.gpkg", frames)
        write_csvs(tmp, frames)
        m = make_map(
            summary=clean_summary,
            facilities=frames.facilities,
            assignments=frames.assignments,
            demand=frames.demand,
            boundaries=boundaries,
            title=title,
            **options,
        )
        save_map(m, tmp / "map.html")
        report.write_report(
            tmp,
            summary=clean_summary,
            facilities=frames.facilities,
            assignments=frames.assignments,
            demand=frames.demand,
            title=title,
            lang=options["lang"],
        )
        if manifest is not None:
            from siting.provenance.manifest import file_sha256, manifest_to_json  # noqa: PLC0415

            record = dict(manifest)
            record["outputs"] = {name: file_sha256(tmp / name) for name in ("summary.json", "solution.gpkg")}
            (tmp / "manifest.json").write_text(manifest_to_json(record), encoding="utf-8")
    return writer.out
