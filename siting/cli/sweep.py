"""``siting sweep`` and ``siting frontier``: many scenario runs over a grid, locally or on Dask."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from siting.core.errors import Interrupted
from siting.cli.common import console_err, stdout
from siting.geo.shipped import find_scenario

__all__ = ["sweep", "frontier"]

_EXECUTORS = ("local", "dask", "serial")


def _executor_options(fn):
    fn = click.option("--overwrite", is_flag=True, help="Solve every run again, even those already finished.")(fn)
    fn = click.option("--gap", "gap", type=float, default=None, metavar="G",
                      help="Relative MIP gap of every run (default: the scenario's [solver] table).")(fn)
    fn = click.option("--time-limit", "time_limit", type=float, default=None, metavar="S",
                      help="Time limit per run, seconds (default: the scenario's [solver] table).")(fn)
    fn = click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
                      help="Sweep directory (default: sweeps/<scenario>/). Finished runs in it are reused.")(fn)
    fn = click.option("--workers", type=int, default=None, metavar="N",
                      help="Worker processes (default: the CPU count); one solver thread each.")(fn)
    fn = click.option("--scheduler", default=None, metavar="ADDR",
                      help="Address of a running dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask); "
                           "without it a LocalCluster is started on loopback.")(fn)
    fn = click.option("--executor", type=click.Choice(_EXECUTORS), default="local", show_default=True,
                      help="local: parallel processes; dask: dask.distributed; serial: one after another here.")(fn)
    return fn


def _solver(time_limit: float | None, gap: float | None) -> dict[str, Any]:
    solver: dict[str, Any] = {}
    if time_limit is not None:
        if not (time_limit > 0 and math.isfinite(time_limit)):
            raise click.BadParameter("must be a positive number of seconds", param_hint="--time-limit")
        solver["time_limit_s"] = float(time_limit)
    if gap is not None:
        if not (0 <= gap < 1):
            raise click.BadParameter("must be in [0, 1)", param_hint="--gap")
        solver["mip_rel_gap"] = float(gap)
    return solver


def _num(v: Any) -> str:
    if isinstance(v, float):
        return "—" if not math.isfinite(v) else f"{v:,.6g}" if abs(v) < 1e7 else f"{v:,.0f}"
    return "—" if v is None else str(v)


def _progress(keys: tuple[str, ...]):
    def show(row: dict[str, Any], done: int, total: int, resumed: bool) -> None:
        values = " ".join(f"{k}={row.get(k)}" for k in keys)
        head = f"[{done}/{total}] {row['run_id']} {values}"
        if row.get("status") == "error":
            tail = f"error: {row.get('error')}"
        else:
            tail = f"{row.get('status')} objective {_num(row.get('objective'))}"
            if row.get("error"):
                tail += f" ({row['error']})"
        when = "finished earlier" if resumed else f"{_num(row.get('seconds'))} s"
        stdout.print(f"{head}  {tail}  [{when}]", markup=False, highlight=False)

    return show


@contextmanager
def _resumable(out: Path) -> Iterator[None]:
    """On Ctrl-C or SIGTERM, say that finished runs are kept (the CLI then exits 130/143 as usual)."""
    try:
        yield
    except (KeyboardInterrupt, Interrupted):
        console_err(f"interrupted: the runs finished so far are kept in {out}; run the same command again to resume")
        raise


def _close(failed: int, total: int, paths: list[Path]) -> int:
    for path in paths:
        stdout.print(f"wrote {path}", markup=False, highlight=False)
    if failed:
        stdout.print(f"{failed} of {total} runs failed or were rejected by the verifier; see the error column",
                     markup=False, highlight=False)
        return 1
    return 0


@click.command("sweep")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--set", "sets", multiple=True, metavar="KEY=V1,V2,...",
              help="Vary a dotted scenario key over TOML values (repeat for a Cartesian grid); adds to or "
                   "replaces the scenario's [sweep] table. Example: --set tiers.collection.radius_km=10,15,20")
@_executor_options
def sweep(scenario: Path, sets: tuple[str, ...], executor: str, scheduler: str | None, workers: int | None,
          out: Path | None, time_limit: float | None, gap: float | None, overwrite: bool) -> int:
    """Run SCENARIO over a grid of values and tabulate the results.

    Every run is a full, verified `siting run`, written to DIR/runs/<id>/ (id = hash of the resolved
    scenario and solver options). DIR/sweep.csv gets one row per run, DIR/tradeoff.png and
    DIR/tradeoff.html chart cost against the varied values. Runs already finished in DIR are skipped, so an
    interrupted sweep resumes when run again. Exit status 1 if any run failed.
    """
    from siting.sweep.runner import run_sweep, sweep_grid

    scenario = find_scenario(scenario)  # a file, or the name of a shipped scenario
    grid = sweep_grid(scenario, sets)
    out = out if out is not None else Path("sweeps") / scenario.stem
    stdout.print(f"sweep of {scenario}: {len(grid)} runs over "
                 f"{', '.join(grid.keys) or 'no varied key'} ({executor}) -> {out}", markup=False, highlight=False)
    with _resumable(out):
        res = run_sweep(scenario, grid, out_dir=out, executor=executor, workers=workers, scheduler=scheduler,
                        solver=_solver(time_limit, gap), overwrite=overwrite, on_row=_progress(grid.keys))
    failed = int(((res.table["status"] == "error") | res.table["error"].notna()).sum())
    return _close(failed, len(res.table), [res.csv_path, *res.plots])


@click.command("frontier")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--budget-from", "budget_from", type=float, required=True, metavar="A", help="Lowest budget, CNY/yr.")
@click.option("--budget-to", "budget_to", type=float, required=True, metavar="B", help="Highest budget, CNY/yr.")
@click.option("--steps", type=int, default=11, show_default=True, metavar="K", help="Number of budgets.")
@_executor_options
def frontier(scenario: Path, budget_from: float, budget_to: float, steps: int, executor: str,
             scheduler: str | None, workers: int | None, out: Path | None, time_limit: float | None,
             gap: float | None, overwrite: bool) -> int:
    """Maximum covered demand for each budget from A to B (epsilon-constraint on the annual cost).

    Solves SCENARIO in its coverage mode (maximise covered demand subject to total annual cost <= budget)
    at K evenly spaced budgets; writes DIR/frontier.csv, DIR/frontier.png and DIR/frontier.html, plus the
    per-run outputs and sweep.csv as `siting sweep` does.
    """
    from siting.sweep.frontier import BUDGET_KEY, run_frontier

    scenario = find_scenario(scenario)  # a file, or the name of a shipped scenario
    out = out if out is not None else Path("sweeps") / f"{scenario.stem}-frontier"
    stdout.print(f"frontier of {scenario}: {steps} budgets from {budget_from:,.0f} to {budget_to:,.0f} CNY/yr "
                 f"({executor}) -> {out}", markup=False, highlight=False)
    with _resumable(out):
        res = run_frontier(scenario, budget_from=budget_from, budget_to=budget_to, steps=steps, out_dir=out,
                           executor=executor, workers=workers, scheduler=scheduler, solver=_solver(time_limit, gap),
                           overwrite=overwrite, on_row=_progress((BUDGET_KEY,)))
    for lo, hi in res.violations:
        stdout.print(f"warning: budget {hi:,.0f} covers less than budget {lo:,.0f} although both are optimal",
                     markup=False, highlight=False)
    failed = int((res.table["status"] == "error").sum())
    return _close(failed, len(res.table), [res.csv_path, *res.plots])
