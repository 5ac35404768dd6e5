"""Budget–coverage frontier by the epsilon-constraint method.

For each budget ``B_k`` on an even grid from ``budget_from`` to ``budget_to`` the scenario is solved in its
"maximise covered demand under a budget" mode::

    maximise   covered demand
    subject to annual cost <= B_k        (the epsilon constraint)
               every other rule of the scenario (counts, radii, hierarchy, ...)

Each point is one run of a :mod:`siting.sweep` (same executors, same resume, outputs under
``DIR/runs/<id>/``). Because a larger budget only enlarges the feasible set, the maximum covered demand is
non-decreasing in the budget; :class:`FrontierResult` lists any pair of proven-optimal points that breaks
this (a modelling or solver fault), and the CLI reports them.

Outputs: ``DIR/frontier.csv`` (budget, covered demand and share, cost actually spent, counts, status),
``DIR/frontier.png`` and ``DIR/frontier.html``, next to the sweep's own ``sweep.csv``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siting.sweep.plot import Chart, Series, pareto_front, write_charts
from siting.sweep.table import write_csv_atomic
from siting.core.errors import Defect, ScenarioError
from siting.sweep.runner import RunFunction, run_sweep
from siting.sweep.grid import SweepGrid

__all__ = ["BUDGET_KEY", "OBJECTIVE_KEY", "COVERAGE_MODE", "budget_grid", "run_frontier", "FrontierResult"]

BUDGET_KEY = "objective.budget_cny_per_year"  #: dotted scenario key of the annual budget, CNY/yr
OBJECTIVE_KEY = "objective.kind"  #: dotted scenario key of the objective mode
COVERAGE_MODE = "coverage"  #: the mode "maximise covered demand under a budget"


@dataclass(frozen=True)
class FrontierResult:
    """What :func:`run_frontier` did.

    Attributes
    ----------
    table
        ``frontier.csv`` as a DataFrame, one row per budget in increasing order.
    violations
        ``(budget_low, budget_high)`` pairs of proven-optimal points where the higher budget covers less.
    csv_path, plots, sweep
        Paths written, and the underlying :class:`~siting.sweep.SweepResult`.
    """

    table: pd.DataFrame
    violations: tuple[tuple[float, float], ...]
    csv_path: Path
    plots: tuple[Path, ...]
    sweep: Any = field(repr=False, default=None)


def budget_grid(budget_from: float, budget_to: float, steps: int) -> tuple[float, ...]:
    """``steps`` evenly spaced budgets from ``budget_from`` to ``budget_to`` (both included), CNY/yr."""
    problems = []
    if steps < 1:
        problems.append(f"--steps must be at least 1 (got {steps})")
    if not (math.isfinite(budget_from) and math.isfinite(budget_to)) or budget_from < 0 or budget_to < 0:
        problems.append(f"budgets must be finite and >= 0 (got {budget_from} to {budget_to})")
    elif budget_to < budget_from:
        problems.append(f"--budget-to ({budget_to}) is below --budget-from ({budget_from})")
    elif steps == 1 and budget_to != budget_from:
        problems.append("--steps 1 needs --budget-to equal to --budget-from")
    if problems:
        raise ScenarioError([Defect(text) for text in problems])
    values = np.linspace(budget_from, budget_to, steps)
    return tuple(float(round(v, 2)) for v in values)


def _first(frame: pd.DataFrame, names: tuple[str, ...]) -> pd.Series:
    for name in names:
        if name in frame:
            return pd.to_numeric(frame[name], errors="coerce")
    return pd.Series(np.nan, index=frame.index)


def frontier_violations(table: pd.DataFrame) -> tuple[tuple[float, float], ...]:
    ok = table[(table["status"] == "optimal") & table["covered"].notna()].sort_values("budget_cny")
    out = []
    b, c = ok["budget_cny"].to_numpy(float), ok["covered"].to_numpy(float)
    for i in range(len(ok)):
        for j in range(i + 1, len(ok)):
            if c[j] < c[i] - 1e-6 * max(1.0, abs(c[i])):
                out.append((float(b[i]), float(b[j])))
    return tuple(out)


def run_frontier(
    scenario: str | Path,
    *,
    budget_from: float,
    budget_to: float,
    steps: int,
    out_dir: str | Path,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    solver: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    budget_key: str = BUDGET_KEY,
    objective_key: str = OBJECTIVE_KEY,
    coverage_mode: str = COVERAGE_MODE,
    run_fn: RunFunction | None = None,
    resolve: Callable[[str, Mapping[str, Any]], Any] | None = None,
    on_row: Callable[[dict[str, Any], int, int, bool], None] | None = None,
) -> FrontierResult:
    """Maximum covered demand for each budget (epsilon-constraint), with ``frontier.csv`` and its chart.

    Parameters
    ----------
    scenario
        Scenario file; it must allow the coverage objective (``objective_key = coverage_mode``).
    budget_from, budget_to, steps
        The budget grid, CNY/yr (:func:`budget_grid`).
    out_dir, executor, workers, scheduler, solver, overwrite, run_fn, resolve, on_row
        As in :func:`siting.sweep.run_sweep`.
    budget_key, objective_key, coverage_mode
        Dotted scenario keys of the budget and the objective mode, and the coverage mode's name.
    """
    budgets = budget_grid(budget_from, budget_to, steps)
    grid = SweepGrid(((budget_key, budgets),))
    res = run_sweep(
        scenario,
        grid,
        out_dir=out_dir,
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        solver=solver,
        fixed={objective_key: coverage_mode},
        overwrite=overwrite,
        plots=False,
        run_fn=run_fn,
        resolve=resolve,
        on_row=on_row,
    )
    frame = res.table
    budget_col = res.keys[0]
    table = pd.DataFrame(
        {
            "budget_cny": frame[budget_col].astype(float),
            "status": frame["status"],
            "covered": _first(frame, ("objective",)),
            "covered_share": _first(frame, ("coverage.share_served", "coverage.covered_share")),
            "cost_cny": _first(frame, ("cost_cny.total",)),
            "gap": _first(frame, ("gap",)),
        }
    )
    for col in frame.columns:
        if col.startswith("count."):
            table[col] = frame[col]
    table["run_id"] = frame["run_id"]
    table["error"] = frame["error"]
    table = table.sort_values("budget_cny", kind="stable").reset_index(drop=True)
    out = res.out_dir
    csv_path = out / "frontier.csv"
    write_csv_atomic(table, csv_path)
    violations = frontier_violations(table)
    plots = _write_plots(table, out, title=Path(scenario).stem, violations=violations)
    return FrontierResult(table, violations, csv_path, plots, res)


def _tip(r: pd.Series) -> str:
    parts = [f"budget {r['budget_cny']:,.0f} CNY/yr", f"status {r['status']}"]
    if pd.notna(r["covered"]):
        parts.append(f"covered {r['covered']:,.6g}")
    if pd.notna(r["covered_share"]):
        parts.append(f"share {100 * r['covered_share']:.2f}%")
    if pd.notna(r["cost_cny"]):
        parts.append(f"spent {r['cost_cny']:,.0f} CNY/yr")
    if isinstance(r["error"], str):
        parts.append(r["error"])
    parts.append(f"run {r['run_id']}")
    return "\n".join(parts)


def _write_plots(table: pd.DataFrame, out: Path, *, title: str, violations) -> tuple[Path, ...]:
    ok = table[table["covered"].notna() & (table["status"] != "error")]
    charts = []
    if not ok.empty:
        use_share = bool(ok["covered_share"].notna().all())
        y = ok["covered_share"] if use_share else ok["covered"]
        ylabel = "share of demand covered" if use_share else "covered demand"
        tips = tuple(_tip(r) for _, r in ok.iterrows())
        series = [Series("maximum coverage at budget", tuple(ok["budget_cny"]), tuple(y.astype(float)), tips)]
        spent = ok["cost_cny"].notna()
        if spent.any():
            front = pareto_front(ok["cost_cny"][spent].to_numpy(float), y[spent].to_numpy(float))
            sub = ok[spent].iloc[front]
            series.append(
                Series(
                    "cost actually spent (Pareto front)",
                    tuple(sub["cost_cny"].astype(float)),
                    tuple(y[spent].iloc[front].astype(float)),
                    tuple(tips[k] for k in np.flatnonzero(spent.to_numpy())[front]),
                    dashed=True,
                )
            )
        notes = tuple(f"budget {a:,.0f} covers more than budget {b:,.0f}: not monotone" for a, b in violations)
        notes += tuple(f"budget {r['budget_cny']:,.0f}: {r['error']}" for _, r in table.iterrows()
                       if isinstance(r["error"], str))
        charts.append(Chart(f"{title}: maximum covered demand against the annual budget", "budget, CNY/yr",
                            ylabel, tuple(series), notes=notes))
    intro = ("Epsilon-constraint frontier: each point maximises the covered demand with total annual cost at "
             "most the budget. The dashed line places the same solutions at the cost they actually spend. "
             "Hover a point for its run.")
    return write_charts(charts, table, out / "frontier.png", out / "frontier.html", title=f"Frontier of {title}",
                        intro=intro)
