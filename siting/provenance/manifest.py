"""The run manifest: where every number of a run came from, in ``manifest.json`` next to its outputs.

A manifest is a JSON object with

``manifest_version``
    :data:`MANIFEST_VERSION`.
``kind``
    ``"locate"`` (single-level model, ``siting locate``) or ``"run"`` (scenario, ``siting run``).
``created_utc``
    When the run finished (ISO 8601); the only field that differs between two identical runs, with
    ``timings`` and ``command``.
``command``
    The command line (``argv``) when the run came from the CLI, else ``null``.
``parameters``
    Everything needed to rebuild the problem from the inputs: for ``locate`` the model, its parameters and
    the column options (:func:`locate_parameters`); for ``run`` the resolved scenario.
``inputs``
    One record per input file: ``role`` (``demand``, ``candidates``, ``od_matrix``, ``scenario``, ``data``,
    ``roads``, ``circuity``, ``reference``), ``path`` (absolute), ``bytes`` and ``sha256`` of the content.
``software``
    Versions of siting, Python, Pyomo, highspy (and the HiGHS library Pyomo reported), geopandas, shapely,
    pyogrio, numpy, pandas, scipy, and the platform.
``solver``
    The solver options (time limit, relative gap, threads, random seed, extra HiGHS options) and ``seed``.
``timings``
    ``build_seconds``, ``solve_seconds``, ``seconds`` and the wall time of the whole command.
``certificate``
    ``status``, ``termination``, ``objective``, ``bound``, ``gap``, ``sense``, ``solver`` and the
    independent verifier's ``verification`` (``ok``, ``checks``, ``problems``, ``objective``).
``outputs``
    SHA-256 of ``summary.json`` and ``solution.gpkg`` as written (added by
    :func:`siting.outputs.tables.write_run`).

Reproducibility and ties: every run fixes HiGHS's ``random_seed`` (:data:`DEFAULT_SEED`, recorded under
``solver``), and every index set reaches Pyomo in one canonical order (demand and candidates in file order,
allowed pairs sorted by demand then candidate index, see :class:`siting.core.problem.Problem`; sets built with
``sorted``). HiGHS's branch-and-bound is deterministic for a given model, seed and option set, so equal
inputs and options give the same facilities and objective, run after run and under any sweep executor
(tests/test_determinism.py). Among equally good solutions the one returned is the one HiGHS reaches first
under that seed and order: a tie is broken by the solver deterministically, not by a rule on ids. Outputs
then list facilities in candidate order (sorted indices) and assignments by demand, then facility. The
thread count is recorded; HiGHS's MIP search does not depend on it, but give ``--threads`` to make runs
on different machines use identical options.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import sys
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST_VERSION",
    "DEFAULT_SEED",
    "file_sha256",
    "input_record",
    "package_versions",
    "certificate",
    "locate_parameters",
    "build_manifest",
    "manifest_to_json",
    "read_manifest",
]

MANIFEST_VERSION = 1
DEFAULT_SEED = 0  #: HiGHS ``random_seed`` of every run unless the caller gives another (SolverOptions.seed)
_PACKAGES = ("siting", "pyomo", "highspy", "geopandas", "shapely", "pyogrio", "pyproj", "numpy", "pandas", "scipy")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, as 64 hex digits."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def input_record(path: str | os.PathLike[str], role: str) -> dict[str, Any]:
    """``{"role", "path", "bytes", "sha256"}`` of one input file (``path`` made absolute)."""
    p = Path(os.path.normpath(Path(path).expanduser().absolute()))
    return {"role": role, "path": str(p), "bytes": p.stat().st_size, "sha256": file_sha256(p)}


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a result depends on, plus Python and the platform."""
    out: dict[str, str | None] = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    out["python"] = sys.version.split()[0]
    out["platform"] = platform.platform()
    return out


def _num(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def certificate(info: Any, verdict: Any = None) -> dict[str, Any]:
    """The certificate of a solve: a :class:`~siting.core.results.SolveInfo` and, if given, the verifier's verdict.

    ``verdict`` is any object with ``ok``, ``checks``, ``problems`` and ``objective`` (the single-level
    :class:`siting.single.verify.Verdict`, or the scenario verifier's), or a dict with those keys.
    """
    d = info.to_dict()
    out = {k: d[k] for k in ("status", "termination", "objective", "bound", "gap", "sense", "solver")}
    out["status_text"] = info.describe()
    if verdict is not None:
        get = verdict.get if isinstance(verdict, Mapping) else (lambda k, default=None: getattr(verdict, k, default))
        obj = get("objective", None)
        out["verification"] = {
            "ok": bool(get("ok")),
            "checks": [str(c) for c in (get("checks", ()) or ())],
            "problems": [str(p) for p in (get("problems", ()) or ())],
            "objective": _num(float(obj)) if obj is not None else None,
        }
    return out


def locate_parameters(
    *,
    model: str,
    params: Mapping[str, Any],
    demand: str | os.PathLike[str],
    candidates: str | os.PathLike[str],
    od_matrix: str | os.PathLike[str] | None = None,
    id_col: str | None = None,
    weight_col: str | None = None,
    name_col: str | None = None,
    fixed_col: str | None = None,
    cap_col: str | None = None,
    req_col: str | None = None,
    forb_col: str | None = None,
    max_distance_km: float | None = None,
    circuity: float | None = None,
    reading: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``parameters`` of a ``locate`` manifest: enough to rebuild its :class:`~siting.core.problem.Problem`
    with :func:`siting.pipeline.locate.problem_from_files` and re-run or re-check the model."""

    def plain(v: Any) -> Any:
        return v.to_dict() if hasattr(v, "to_dict") else v

    return {
        "model": model,
        "params": {k: plain(v) for k, v in params.items()},
        "files": {
            "demand": str(Path(demand).expanduser().absolute()),
            "candidates": str(Path(candidates).expanduser().absolute()),
            "od_matrix": None if od_matrix is None else str(Path(od_matrix).expanduser().absolute()),
        },
        "columns": {"id": id_col, "weight": weight_col, "name": name_col, "fixed_cost": fixed_col,
                    "capacity": cap_col, "required": req_col, "forbidden": forb_col},
        "max_distance_km": max_distance_km,
        "circuity": circuity,
        "reading": dict(reading or {}),  # how the files were read (--lon/--lat/--crs/--allow-far)
    }


def build_manifest(
    *,
    kind: str,
    parameters: Mapping[str, Any],
    inputs: Mapping[str, str | os.PathLike[str] | None],
    info: Any,
    verdict: Any = None,
    command: list[str] | None = None,
    wall_seconds: float | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble a manifest (see the module docstring); hashes every input file now.

    Parameters
    ----------
    kind
        ``"locate"`` or ``"run"``.
    parameters
        Resolved parameters (:func:`locate_parameters`, or the resolved scenario).
    inputs
        role -> path of every input file (``None`` entries are skipped; a role may hold a list of paths).
    info
        The :class:`~siting.core.results.SolveInfo` of the solve.
    verdict
        The independent verifier's verdict.
    command
        ``argv`` of the CLI command.
    wall_seconds
        Wall time of the whole command so far.
    extra
        Further top-level entries.
    """
    if kind not in ("locate", "run"):
        raise ValueError(f"kind must be 'locate' or 'run', got {kind!r}")
    records = []
    for role, path in inputs.items():
        paths = path if isinstance(path, list | tuple) else [path]
        for p in paths:
            if p is not None:
                records.append(input_record(p, role))
    options = dict(getattr(info, "options", {}) or {})
    timings = {"build_seconds": round(float(info.build_seconds), 4), "solve_seconds": round(float(info.solve_seconds), 4),
               "seconds": round(float(info.seconds), 4)}
    if wall_seconds is not None:
        timings["wall_seconds"] = round(float(wall_seconds), 4)
    out = {
        "manifest_version": MANIFEST_VERSION,
        "kind": kind,
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": list(command) if command is not None else None,
        "parameters": dict(parameters),
        "inputs": records,
        "software": package_versions(),
        "solver": {"name": getattr(info, "solver", "highs"), "options": options, "seed": options.get("seed")},
        "timings": timings,
        "certificate": certificate(info, verdict),
    }
    out.update(dict(extra or {}))
    return out


def manifest_to_json(manifest: Mapping[str, Any]) -> str:
    """UTF-8 JSON text of a manifest (NaN and infinities as null, non-ASCII kept)."""

    def clean(v: Any) -> Any:
        if isinstance(v, Mapping):
            return {str(k): clean(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [clean(x) for x in v]
        if isinstance(v, float):
            return v if math.isfinite(v) else None
        if hasattr(v, "item") and not isinstance(v, str | bytes):  # numpy scalars
            return clean(v.item())
        if isinstance(v, os.PathLike):
            return os.fspath(v)
        return v

    return json.dumps(clean(manifest), ensure_ascii=False, indent=2, allow_nan=False) + "\n"


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and minimally check ``run_dir/manifest.json``; :class:`~siting.core.errors.InputError` if unusable."""
    from siting.core.errors import DefectCollector, InputError

    path = Path(run_dir) / "manifest.json"
    found = DefectCollector(str(path))
    if not Path(run_dir).is_dir():
        found.add("not a directory", file=str(run_dir))
        found.raise_if_any(InputError)
    if not path.is_file():
        found.add("no manifest.json: not a run directory written by this version of siting")
        found.raise_if_any(InputError)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        found.add(f"cannot read the manifest: {' '.join(str(exc).split())}")
        found.raise_if_any(InputError)
    if not isinstance(data, dict):
        found.add("the manifest is not a JSON object")
        found.raise_if_any(InputError)
    for key in ("manifest_version", "kind", "parameters", "inputs", "certificate"):
        if key not in data:
            found.add("key is missing", row=key)
    if data.get("kind") not in (None, "locate", "run"):
        found.add(f"unknown kind {data.get('kind')!r}", row="kind")
    if isinstance(data.get("manifest_version"), int) and data["manifest_version"] > MANIFEST_VERSION:
        found.add(f"manifest version {data['manifest_version']} is newer than this siting understands "
                  f"({MANIFEST_VERSION}); upgrade siting", row="manifest_version")
    found.raise_if_any(InputError)
    return data
