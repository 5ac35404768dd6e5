"""``siting run``: solve a multi-tier scenario file and write its summary, GeoPackage and map."""

from __future__ import annotations

from dataclasses import replace

import click

from siting.core.errors import DefectCollector, ScenarioError
from siting.cli.common import check_solver_flags, console_err, console_err_rich, stdout
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
A demand point more than 500 km (great circle) from every candidate of every tier, a candidate that far
from every demand point, or a gateway point that far from every candidate of its tier, is refused as a
probable wrong coordinate (file, row and id named) unless --allow-far (or [scenario] allow_far = true).
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
@click.option("--lang", type=click.Choice(["en", "zh"]), default=None,
              help="Language of the map, report and these lines (default: [scenario] lang, else en).")
@click.option("--allow-far", is_flag=True,
              help="Accept points more than 500 km from every point of the other side (siting.core.limits.FAR_KM); "
                   "the same as --set scenario.allow_far=true.")
def run(scenario: str, out_dir: str | None, time_limit: float | None, gap: float | None, threads: int | None,
        sets: tuple[str, ...], overwrite: bool, quiet: bool, max_memory_mb: float | None, lang: str | None,
        allow_far: bool) -> int:
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
    if allow_far:  # an override like any --set, so that the manifest records it and an audit rebuilds the same
        overrides["scenario.allow_far"] = True
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
    from siting.outputs.terminal import progress_for, run_result_lines

    log = None if quiet else (lambda line: console_err(line))
    argv = (click.get_current_context().find_root().obj or {}).get("argv")
    lang = lang or (scen.raw.get("scenario") or {}).get("lang") or "en"
    progress = progress_for(console_err_rich, quiet=quiet, lang=lang, solver_log=options.verbose)
    outcome = run_scenario(scen, out_dir=out_dir, options=options, overwrite=overwrite, log=log, command=argv,
                           max_memory_bytes=None if max_memory_mb is None else int(max_memory_mb * 2**20),
                           progress=progress, lang=lang)
    # the result lines are the command's output, also with --quiet
    lines = run_result_lines(outcome.summary, name=scen.name, ok=outcome.ok, out_dir=outcome.out_dir, lang=lang)
    stdout.print(lines[0], markup=True)
    for line in lines[1:]:
        stdout.print(line, markup=False)
    if not outcome.ok:
        for v in (outcome.check.violations if outcome.check else ["no solution"]):
            console_err(f"verification failed: {v}")
        return 1
    return 0
