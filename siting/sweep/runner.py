"""Scenario sweeps: many full ``siting run`` solves over a grid of overrides, resumable, on any executor.

A sweep takes one scenario file and a grid of dotted-key overrides (``--set tiers.collection.radius_km=10,15``
on the command line, or a ``[sweep]`` table in the file). The runs are the Cartesian product of the
dimensions, in *run order* (first dimension slowest). Each run is a complete, verified scenario run
(:func:`siting.pipeline.run.run_scenario`) whose outputs go to ``DIR/runs/<id>/``, where ``<id>`` is a 12-hex-digit
SHA-256 of the resolved run: the scenario's content (parsed TOML without its ``[sweep]`` table, so comments
and layout do not count), the overrides, the solver options and the content of the data files it reads.

Layout of a sweep directory::

    DIR/sweep.json        the grid, the scenario's fingerprint, the solver options, the run ids
    DIR/sweep.csv         one row per run, sorted by run order (rewritten atomically after each run)
    DIR/tradeoff.png      cost against the varied values (and a Pareto front of cost vs coverage)
    DIR/tradeoff.html     the same, self-contained SVG with hover details
    DIR/runs/<id>/        summary.json, solution.gpkg, map.html of each run, plus sweep-run.json

Resuming
    ``sweep-run.json`` is written into a run's directory after the run has finished and its outputs are in
    place; a later sweep over the same grid (or a grid sharing some points) skips every run whose marker
    carries the same id, so an interrupted sweep resumes where it stopped. A run that failed on its input
    (:class:`~siting.core.errors.InputError`: bad value, infeasible data) is recorded as finished with its error;
    any other failure (solver crash, worker killed) is retried next time. ``overwrite=True`` solves again.
    The id covers the user's data files (CSV, GeoPackage, OD matrix, ``data_dir``) but not the built-in
    ``data/geo`` layers or the code: after upgrading ``siting``, sweep with ``overwrite=True``.

Determinism
    Every run uses one solver thread (``threads=1``) and the same seed whatever the executor, and rows are
    built from the written ``summary.json`` and sorted by run order, so ``local``, ``dask`` and ``serial``
    sweeps produce identical tables apart from the ``seconds`` column.

Failures
    A run that raises is recorded with ``status = "error"`` and a one-line ``error``; the sweep goes on.

Executors
    ``local`` (default): parallel processes (``spawn``), ``workers`` = CPU count by default. ``dask``: the
    same run function submitted to ``dask.distributed`` at ``scheduler``, or to a LocalCluster on loopback
    with ``workers`` single-threaded worker processes. With a remote scheduler, ``out_dir`` and the scenario
    (with its data files) must be on a filesystem every worker sees at the same path. ``serial``: one after
    another in this process.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from siting.sweep.executors import EXECUTORS, check_executor, default_workers, map_unordered
from siting.sweep.grid import SWEEP_TABLE, file_digest, SweepGrid, SweepPoint, grid_from_table, load_toml, merge_grids, parse_set, parse_values, run_id, scenario_fingerprint
from siting.sweep.table import HEAD_COLUMNS, SCALAR_FIELDS, TAIL_COLUMNS, flatten_summary, jsonable, one_line, rows_frame, write_csv_atomic, write_json_atomic
from siting.core.errors import DefectCollector, InputError, OutputError, ScenarioError
from siting.core.options import SolverOptions

__all__ = [
    "EXECUTORS",
    "SweepGrid",
    "SweepPoint",
    "SweepResult",
    "RunTask",
    "Resolved",
    "parse_set",
    "parse_values",
    "sweep_grid",
    "plan_runs",
    "run_sweep",
    "execute_run",
    "default_workers",
    "MARKER",
]

MARKER = "sweep-run.json"  #: written into a run directory once the run is finished
RunFunction = Callable[..., Any]


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (picklable: sent to worker processes and Dask workers)."""

    point: SweepPoint
    run_id: str
    scenario_path: str
    run_dir: str
    options: SolverOptions
    fixed: tuple[tuple[str, Any], ...] = ()
    run_fn: RunFunction | None = None

    @property
    def overrides(self) -> dict[str, Any]:
        return {**dict(self.fixed), **self.point.as_dict()}


@dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out_dir, csv_path
        The sweep directory and its ``sweep.csv``.
    table
        The rows of ``sweep.csv`` as a DataFrame (sorted by ``run``).
    keys
        The varied keys (columns of ``table``; a key clashing with a result column is named ``set.<key>``).
    solved, resumed, failed
        Runs solved now, runs skipped because already finished, runs with ``status == "error"``.
    plots
        Paths of the trade-off views written.
    """

    out_dir: Path
    csv_path: Path
    table: pd.DataFrame
    keys: tuple[str, ...]
    solved: int
    resumed: int
    failed: int
    plots: tuple[Path, ...] = field(default_factory=tuple)


def _default_run_fn() -> RunFunction:
    from siting.pipeline.run import run_scenario  # imported in the worker, so this module loads without the pipeline

    return run_scenario


def _summary_of(result: Any) -> Mapping[str, Any]:
    summary = result if isinstance(result, Mapping) else getattr(result, "summary", None)
    if not isinstance(summary, Mapping):
        raise TypeError(f"the run function returned {type(result).__name__}, which has no summary dict")
    return summary


def _read_json(path: Path) -> Any:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def execute_run(task: RunTask) -> dict[str, Any]:
    """Run one sweep point and return its outcome; never raises (runs in a worker process).

    The outcome is ``{"run", "run_id", "summary" (dict or None), "error" (str or None), "final" (bool),
    "seconds"}``. On success the summary is the one written to ``run_dir/summary.json`` (falling back to
    the returned result's when the run function wrote none) and ``sweep-run.json`` marks the run finished.
    An :class:`~siting.core.errors.InputError` is recorded in the marker too (``final``: it would fail again).
    """
    t0 = time.perf_counter()
    run_dir = Path(task.run_dir)
    outcome: dict[str, Any] = {"run": task.point.index, "run_id": task.run_id, "summary": None, "error": None}
    try:
        fn = task.run_fn if task.run_fn is not None else _default_run_fn()
        result = fn(task.scenario_path, overrides=task.overrides, out_dir=run_dir, options=task.options)
        written = _read_json(run_dir / "summary.json")
        summary = jsonable(written if isinstance(written, Mapping) else _summary_of(result))
        outcome.update(summary=summary, final=True, summary_json=isinstance(written, Mapping))
    except Exception as exc:  # a failed run never aborts the sweep
        outcome.update(error=one_line(exc), final=isinstance(exc, InputError))
    outcome["seconds"] = round(time.perf_counter() - t0, 4)
    if outcome["final"]:
        try:
            run_dir.mkdir(parents=True, exist_ok=True)
            marker = {
                "run_id": task.run_id,
                "run": task.point.index,
                "overrides": dict(task.overrides),
                "options": task.options.to_dict(),
                "summary_json": outcome.get("summary_json", False),
                **{k: outcome[k] for k in ("summary", "error", "seconds")},
            }
            write_json_atomic(marker, run_dir / MARKER)
        except OSError as exc:
            outcome.update(error=one_line(exc), summary=None, final=False)
    return outcome


def _crash_outcome(task: RunTask, exc: BaseException) -> dict[str, Any]:
    return {
        "run": task.point.index,
        "run_id": task.run_id,
        "summary": None,
        "error": f"worker failed: {one_line(exc)}",
        "final": False,
        "seconds": None,
    }


def _finished(run_dir: Path, rid: str) -> dict[str, Any] | None:
    """The recorded outcome of a finished run, or ``None`` if the run must be (re)done.

    Finished = the marker names this run id, and, for a solved run whose function wrote ``summary.json``,
    that file is still there and complete.
    """
    marker = _read_json(run_dir / MARKER)
    if not isinstance(marker, Mapping) or marker.get("run_id") != rid:
        return None
    summary = marker.get("summary")
    if summary is None and not marker.get("error"):
        return None
    if summary is not None and marker.get("summary_json") and not isinstance(_read_json(run_dir / "summary.json"), Mapping):
        return None
    return {"run_id": rid, "summary": summary, "error": marker.get("error"), "final": True,
            "seconds": marker.get("seconds")}


def sweep_grid(scenario: str | Path, sets: Sequence[str] = (), *, doc: Mapping[str, Any] | None = None) -> SweepGrid:
    """The grid of a sweep: the scenario's ``[sweep]`` table, with ``--set`` options replacing or adding keys."""
    doc = load_toml(scenario) if doc is None else doc
    base = grid_from_table(doc[SWEEP_TABLE], file=str(scenario)) if SWEEP_TABLE in doc else SweepGrid()
    return merge_grids(base, parse_set(sets))


def _column_names(keys: Sequence[str]) -> dict[str, str]:
    reserved = set(HEAD_COLUMNS) | set(TAIL_COLUMNS) | set(SCALAR_FIELDS)
    return {k: (f"set.{k}" if k in reserved else k) for k in keys}


@dataclass(frozen=True)
class Resolved:
    """What a resolver says about one run: its base solver options and the data files it will read."""

    options: SolverOptions
    inputs: tuple[Path, ...] = ()


def _scenario_inputs(scen: Any) -> tuple[Path, ...]:
    """The user data files a validated scenario reads (the built-in ``data/geo`` layers ship with the code)."""
    paths: set[Path] = set()
    sources = [src for comp in scen.demand for src in comp.sources]
    for tier in scen.tiers:
        sources.extend(tier.sources)
        if tier.gateway is not None:
            sources.append(tier.gateway[-1])
    paths.update(Path(src.path) for src in sources if getattr(src, "path", None) is not None)
    if scen.od_matrix is not None:
        paths.add(Path(scen.od_matrix))
    if scen.data_dir is not None:
        paths.update(p for p in Path(scen.data_dir).iterdir() if p.is_file())
    return tuple(sorted(p for p in paths if p.is_file()))


def _scenario_resolver(path: str, overrides: Mapping[str, Any]) -> Resolved:
    """Validate one run's scenario (file + overrides): its ``[solver]`` options and its data files."""
    from siting.pipeline.run import DEFAULT_OPTIONS
    from siting.scenario.load import load_scenario

    scen = load_scenario(path, overrides=dict(overrides))
    return Resolved(scen.solver_options(DEFAULT_OPTIONS), _scenario_inputs(scen))


def _default_options(_path: str, _overrides: Mapping[str, Any]) -> Resolved:
    return Resolved(SolverOptions())


def _effective(base: SolverOptions, solver: Mapping[str, Any]) -> SolverOptions:
    # one solver thread per run: parallelism comes from the executor, and results do not depend on it
    return dataclasses.replace(base, **dict(solver), threads=1, verbose=False)


def plan_runs(
    scenario: str | Path,
    grid: SweepGrid,
    *,
    out_dir: str | Path,
    solver: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    run_fn: RunFunction | None = None,
    resolve: Callable[[str, Mapping[str, Any]], Resolved | SolverOptions] | None = None,
    doc: Mapping[str, Any] | None = None,
) -> list[RunTask]:
    """The tasks of a sweep, in run order, with their solver options, content-hash ids and run directories.

    Every run's scenario is validated first (``resolve``; by default :func:`siting.scenario.load_scenario`
    with the run's overrides), and its solver options are the scenario's ``[solver]`` table (which an
    override may change) with ``solver`` fields imposed and one thread. Invalid input in any run (an unknown
    key, a value of the wrong type) raises one :class:`~siting.core.errors.ScenarioError` listing every defect,
    before anything is solved.
    """
    scenario = Path(scenario).resolve()
    doc = load_toml(scenario) if doc is None else doc
    fingerprint = scenario_fingerprint(doc)
    if resolve is None:
        resolve = _scenario_resolver if run_fn is None else _default_options
    solver = dict(solver or {})
    unknown = sorted(set(solver) - {f.name for f in dataclasses.fields(SolverOptions)})
    if unknown:
        raise ScenarioError(f"unknown solver option {unknown[0]!r}")
    fixed_items = tuple((fixed or {}).items())
    clash = sorted(set(dict(fixed_items)) & set(grid.keys))
    if clash:
        raise ScenarioError(f"--set {clash[0]}: this key is fixed by the command and cannot be varied")
    runs_dir = Path(out_dir).resolve() / "runs"
    found = DefectCollector(str(scenario))
    seen: set[str] = set()
    tasks = []
    for point in grid.points():
        overrides = {**dict(fixed_items), **point.as_dict()}
        try:
            resolved = resolve(str(scenario), overrides)
            if isinstance(resolved, SolverOptions):
                resolved = Resolved(resolved)
            options = _effective(resolved.options, solver)
        except InputError as exc:
            for defect in exc.defects:
                text = str(defect)
                if text not in seen:  # the same bad key fails every run: say it once
                    seen.add(text)
                    found.extend([defect])
            continue
        rid = run_id(fingerprint, overrides, options.to_dict(), inputs=[file_digest(p) for p in resolved.inputs])
        tasks.append(RunTask(point, rid, str(scenario), str(runs_dir / rid), options, fixed_items, run_fn))
    found.raise_if_any(ScenarioError)
    return tasks


def _check_out_dir(out_dir: Path, overwrite: bool) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} exists and is not a directory")
    is_sweep = (out_dir / "sweep.json").exists() or (out_dir / "runs").is_dir()
    if out_dir.is_dir() and any(out_dir.iterdir()) and not is_sweep and not overwrite:
        raise OutputError(f"{out_dir} is not empty and holds no sweep; choose another --out or pass --overwrite")


def _row(task: RunTask, outcome: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {"run": task.point.index, "run_id": task.run_id}
    row.update({names[k]: v for k, v in task.point.overrides})
    if outcome.get("summary") is not None:
        row.update(flatten_summary(outcome["summary"]))
        row["error"] = None
        if outcome["summary"].get("verified") is False:
            row["error"] = "the independent verifier rejected this solution (see its summary.json)"
    else:
        row["status"] = "error"
        row["seconds"] = outcome.get("seconds")
        row["error"] = outcome.get("error") or "unknown error"
    return row


def _write_plan(out: Path, scenario: Path, doc: Mapping[str, Any], grid: SweepGrid, tasks: list[RunTask], *,
                fixed: Mapping[str, Any] | None, solver: Mapping[str, Any] | None) -> None:
    """``sweep.json``: the scenario, the grid and every planned run with its id and options."""
    write_json_atomic(
        {
            "scenario": str(scenario.resolve()),
            "scenario_sha256": scenario_fingerprint(doc),
            "grid": [[k, list(v)] for k, v in grid.dims],
            "fixed": dict(fixed or {}),
            "solver": dict(solver or {}),
            "runs": [
                {"run": t.point.index, "run_id": t.run_id, "overrides": t.overrides, "options": t.options.to_dict()}
                for t in tasks
            ],
        },
        out / "sweep.json",
    )


def _resume(tasks: list[RunTask], rows: dict[int, dict[str, Any]], names: Mapping[str, str], *, overwrite: bool,
            on_row: Callable[[dict[str, Any], int, int, bool], None] | None) -> list[RunTask]:
    """Fill ``rows`` with the runs already finished; clear unfinished run directories; return the runs to do."""
    todo: list[RunTask] = []
    total = len(tasks)
    for task in tasks:
        run_dir = Path(task.run_dir)
        done = None if overwrite else _finished(run_dir, task.run_id)
        if done is not None:
            rows[task.point.index] = _row(task, done, names)
            if on_row:
                on_row(rows[task.point.index], len(rows), total, True)
            continue
        if run_dir.exists():  # unfinished (interrupted, crashed) or being overwritten: start clean
            shutil.rmtree(run_dir)
        for stale in run_dir.parent.glob(f".{task.run_id}.tmp-*"):  # a killed write_run's temporary folder
            shutil.rmtree(stale, ignore_errors=True)
        todo.append(task)
    return todo


def run_sweep(
    scenario: str | Path,
    grid: SweepGrid,
    *,
    out_dir: str | Path,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    solver: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    plots: bool = True,
    run_fn: RunFunction | None = None,
    resolve: Callable[[str, Mapping[str, Any]], Resolved | SolverOptions] | None = None,
    on_row: Callable[[dict[str, Any], int, int, bool], None] | None = None,
) -> SweepResult:
    """Run every point of ``grid`` on ``scenario``; write ``sweep.csv`` (and trade-off views).

    Parameters
    ----------
    scenario
        Path of the scenario TOML file.
    grid
        The dimensions (see :func:`sweep_grid`); an empty grid is one run of the scenario as it is.
    out_dir
        Sweep directory (created). Runs already finished in it are not solved again.
    executor, workers, scheduler
        ``"local"`` (processes, default ``workers`` = CPU count), ``"dask"`` (``scheduler`` address, or a
        LocalCluster of ``workers`` processes on loopback) or ``"serial"``.
    solver
        :class:`~siting.core.options.SolverOptions` fields imposed on every run (``{"time_limit_s": 60}``) over the
        scenario's ``[solver]`` table; ``threads`` is always 1 (one solver thread per run).
    fixed
        Overrides applied to every run without being a dimension (e.g. the objective mode of a frontier).
    overwrite
        Solve every run again, even those already finished; allow a non-empty ``out_dir``.
    plots
        Write ``tradeoff.png`` and ``tradeoff.html``.
    run_fn
        The run function, ``run_fn(path, *, overrides, out_dir, options)`` returning an object with a
        ``summary`` dict (default :func:`siting.pipeline.run.run_scenario`). It must be importable by name (a
        module-level function) for the ``local`` and ``dask`` executors.
    resolve
        ``resolve(path, overrides) -> Resolved`` (or a bare ``SolverOptions``) validates a run's scenario and
        gives its base solver options and the data files it reads (hashed into the run id); default: the
        scenario loader (:func:`siting.scenario.load_scenario`) with the real run function, else
        ``SolverOptions()`` and no files.
    on_row
        Called in this process after each run with ``(row, done, total, resumed)``.

    Returns
    -------
    SweepResult
    """
    check_executor(executor, workers=workers, scheduler=scheduler)
    scenario = Path(scenario)
    doc = load_toml(scenario)
    out = Path(out_dir).resolve()
    _check_out_dir(out, overwrite)
    tasks = plan_runs(scenario, grid, out_dir=out, solver=solver, fixed=fixed, run_fn=run_fn, resolve=resolve, doc=doc)
    names = _column_names(grid.keys)
    keys = tuple(names[k] for k in grid.keys)
    csv_path = out / "sweep.csv"
    out.mkdir(parents=True, exist_ok=True)
    _write_plan(out, scenario, doc, grid, tasks, fixed=fixed, solver=solver)
    rows: dict[int, dict[str, Any]] = {}
    total = len(tasks)
    todo = _resume(tasks, rows, names, overwrite=overwrite, on_row=on_row)
    resumed = len(rows)

    def flush() -> pd.DataFrame:
        frame = rows_frame(list(rows.values()), keys)
        write_csv_atomic(frame, csv_path)
        return frame

    frame = flush()
    by_index = {t.point.index: t for t in todo}
    for outcome in map_unordered(
        execute_run, todo, executor=executor, workers=workers, scheduler=scheduler, on_crash=_crash_outcome
    ):
        task = by_index[outcome["run"]]
        rows[task.point.index] = _row(task, outcome, names)
        frame = flush()
        if on_row:
            on_row(rows[task.point.index], len(rows), total, False)

    plot_paths: tuple[Path, ...] = ()
    if plots:
        from siting.sweep.plot import write_tradeoff

        plot_paths = write_tradeoff(frame, keys, out, title=scenario.stem)
    failed = int((frame["status"] == "error").sum()) if "status" in frame else 0
    return SweepResult(out, csv_path, frame, keys, len(todo), resumed, failed, plot_paths)
