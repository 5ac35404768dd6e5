"""``siting run``: solve a multi-tier scenario file and write its summary, GeoPackage and map."""

from __future__ import annotations

from dataclasses import replace

import click

from siting.core.errors import DefectCollector, ScenarioError
from siting.cli.common import check_solver_flags, console_err, stdout
from siting.geo.shipped import find_scenario

__all__ = ["run"]

_EPILOG = """\b
Examples:
  siting run chongqing-express                      (a shipped scenario by name; see `siting scenarios`)
  siting run chongqing-express --set tiers.collection.radius_km=20 --out maps/express-20km
  siting run my-scenario.toml --out /tmp/example --quiet

\b
--set KEY=VALUE overrides one parameter by its dotted key in the scenario file (repeatable); VALUE is a
TOML value (number, true/false, "string", [array], {table}) or a bare string.
--time-limit bounds the HiGHS solve; a run stopped early on an uncapacitated cost model is then polished by
local search for at most 20 s (the bound, hence the gap's lower side, stays HiGHS's). Infeasibility visible in
the data is reported before solving, every problem on its own line; if HiGHS proves infeasibility, the
constraint families at fault are named.
Outputs (default maps/<scenario-name>/, relative to the current directory): summary.json, solution.gpkg
(layers facilities, assignments, demand), CSVs, map.html, report.html. Written atomically.
Exit codes: 0 ok, 1 the solution failed verification, 2 bad input or infeasible, 3 solver failure.
"""


@click.command("run", epilog=_EPILOG)
@click.argument("scenario", type=click.Path())
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--time-limit", "time_limit", type=float, default=None, help="Solver time limit, seconds.")
@click.option("--gap", type=float, default=None, help="Relative MIP gap at which to stop (e.g. 0.005).")
@click.option("--threads", type=int, default=None, help="Solver threads.")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="Override a scenario parameter (repeatable).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier output directory.")
@click.option("--quiet", "-q", is_flag=True, help="No progress output (no HiGHS log).")
@click.option("--max-memory-mb", type=float, default=None,
              help="Refuse a model whose estimated memory exceeds this (default: 80% of the memory available).")
def run(scenario: str, out_dir: str | None, time_limit: float | None, gap: float | None, threads: int | None,
        sets: tuple[str, ...], overwrite: bool, quiet: bool, max_memory_mb: float | None) -> int:
    """Solve the multi-tier facility-location SCENARIO (a TOML file, or the name of a shipped scenario such as
    chongqing-express) and write its outputs."""
    from siting.pipeline.run import DEFAULT_OPTIONS, run_scenario
    from siting.scenario.load import load_scenario, parse_value

    found = DefectCollector()
    overrides: dict[str, object] = {}
    for item in sets:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            found.add(f"expected KEY=VALUE, got {item!r}", file="--set")
            continue
        overrides[key.strip()] = parse_value(value.strip())
    check_solver_flags(found, time_limit=time_limit, gap=gap, threads=threads, max_memory_mb=max_memory_mb)
    found.raise_if_any(ScenarioError)

    scen = load_scenario(find_scenario(scenario), overrides=overrides)
    options = scen.solver_options(DEFAULT_OPTIONS)
    changes: dict[str, object] = {"verbose": not quiet}
    if time_limit is not None:
        changes["time_limit_s"] = time_limit
    if gap is not None:
        changes["mip_rel_gap"] = gap
    if threads is not None:
        changes["threads"] = threads
    options = replace(options, **changes)
    log = None if quiet else (lambda line: console_err(line))
    argv = (click.get_current_context().find_root().obj or {}).get("argv")
    outcome = run_scenario(scen, out_dir=out_dir, options=options, overwrite=overwrite, log=log, command=argv,
                           max_memory_bytes=None if max_memory_mb is None else int(max_memory_mb * 2**20))
    s = outcome.summary
    if True:  # the result lines are the command's output, also with --quiet
        cert = f" (bound {s['bound']:,.0f}, gap {100 * s['gap']:.3g}%)" if s.get("gap") is not None else ""
        if s.get("objective_kind") == "coverage":
            head = (f"covered {s['objective']:,.0f} {s['weight_unit']}{cert}; "
                    f"total {s['cost_cny'].get('total', float('nan')):,.0f} CNY/yr")
        else:
            head = f"total {s['cost_cny'].get('total', float('nan')):,.0f} CNY/yr{cert}"
        stdout.print(f"[bold]{scen.name}[/bold]: {s.get('status_text', s['status'])}; {head}", markup=True)
        counts = ", ".join(f"{k} {v}" for k, v in s["counts_by_tier"].items())
        stdout.print(f"open: {counts}; solved in {s['seconds']:.1f} s", markup=False)
        for tier, c in s["cost_cny"].items():
            if tier in ("total", "by_type"):
                continue
            stdout.print(f"  {tier:<12} fixed {c['fixed']:>16,.0f}  handling {c['handling']:>16,.0f}  "
                         f"transport {c['transport']:>16,.0f}  CNY/yr", markup=False)
        cov = s.get("coverage", {})
        if cov:
            stdout.print(f"demand served: {100 * cov['share_served']:.2f}% of {cov['demand_total']:,.0f} {s['weight_unit']}; "
                         f"mean distance {cov['mean_distance_km'] or 0:.2f} km", markup=False)
        stdout.print(f"verified: {'yes' if outcome.ok else 'NO'}; outputs in {outcome.out_dir}", markup=False)
    if not outcome.ok:
        for v in (outcome.check.violations if outcome.check else ["no solution"]):
            console_err(f"verification failed: {v}")
        return 1
    return 0
