"""``siting locate``: one single-level model on the user's own point files."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import click

from siting.core.errors import DataError, DefectCollector, ScenarioError, SolverError
from siting.model import MODELS
from siting.cli.common import check_solver_flags, console_err, console_err_rich, stdout

__all__ = ["locate"]

_EPILOG = """\b
Models:
""" + "\n".join(f"  {name:<11} {spec.summary}" for name, spec in MODELS.items()) + """

\b
Files: GeoPackage, GeoJSON, Shapefile, Excel .xlsx, or CSV with lon/lat columns (WGS84; lon_gcj02/lat_gcj02
and lon_bd09/lat_bd09 are converted; --crs gcj02 or --crs bd09 converts plain lon/lat columns; --crs EPSG:NNNN
reads projected x/y). --lon/--lat/--id/--crs apply to both files. A demand point more than 500 km from every
candidate (or a candidate that far from every demand point) is refused as a wrong coordinate unless --allow-far. Distances are great-circle x --circuity, or taken from --od-matrix
(CSV/Parquet with from_id, to_id, distance_km[, time_min]; unlisted pairs are not allowed).
Outputs (default maps/locate-MODEL, relative to the current directory): summary.json, solution.gpkg
(layers facilities, assignments, demand), CSVs, map.html, report.html. Written atomically.
Exit codes: 0 ok, 1 the solution failed verification, 2 bad input or infeasible, 3 solver failure.
"""


@click.command("locate", epilog=_EPILOG)
@click.argument("model", type=click.Choice(list(MODELS), case_sensitive=False))
@click.option("--demand", "demand_file", required=True, type=click.Path(dir_okay=False), help="Demand points file.")
@click.option("--candidates", "cand_file", required=True, type=click.Path(dir_okay=False),
              help="Candidate sites file.")
@click.option("--p", "p", type=int, default=None,
              help="Number of facilities (p-median, p-center, mclp, attendance, lscp-b).")
@click.option("--radius-km", type=float, default=None, help="Coverage radius, km (lscp, lscp-b, mclp).")
@click.option("--weight", "weight_col", default=None,
              help="Demand weight column (default: weight/demand/population/pop/volume if present, else 1 per point).")
@click.option("--lon", "lon_col", default=None, metavar="COL",
              help="Longitude (or projected x) column in both files (default: lon/lng/longitude/x/经度).")
@click.option("--lat", "lat_col", default=None, metavar="COL",
              help="Latitude (or projected y) column in both files (default: lat/latitude/y/纬度).")
@click.option("--crs", "crs", default=None, metavar="wgs84|gcj02|bd09|EPSG:N",
              help="Coordinates of both files: wgs84 (GPS, Tianditu), gcj02 (Amap, Tencent), bd09 (Baidu), or an "
                   "EPSG code of projected x/y columns (e.g. EPSG:32648). Default: from the column names, else "
                   "wgs84; a vector file's own CRS wins.")
@click.option("--allow-far", is_flag=True,
              help="Accept points more than 500 km from every point of the other file (siting.core.limits.FAR_KM).")
@click.option("--id", "id_col", default=None,
              help="Id column in both files (default: id/code/code9/adcode if present, else the row number).")
@click.option("--name", "name_col", default=None, help="Name column in both files (default: name/name_zh if present).")
@click.option("--fixed-cost", "fixed_col", default=None, help="Candidate fixed-cost column, CNY.")
@click.option("--capacity", "cap_col", default=None, help="Candidate capacity column (blank = unlimited).")
@click.option("--required", "req_col", default=None, help="Candidate column: true = must open (existing site).")
@click.option("--forbidden", "forb_col", default=None, help="Candidate column: true = may not open.")
@click.option("--od-matrix", "od_file", default=None, type=click.Path(dir_okay=False),
              help="Origin-destination matrix (from_id = demand id, to_id = candidate id).")
@click.option("--max-distance-km", type=float, default=None, help="Impedance cutoff: farther pairs are not allowed.")
@click.option("--budget-cny", type=float, default=None, help="Upper bound on total fixed cost (needs --fixed-cost).")
@click.option("--decay", default=None,
              help="Distance decay kind[:beta[:cutoff_km]], kind = linear|power|exponential "
                   "(p-median/uflp/cflp: impedance transform; attendance: decay factor).")
@click.option("--objective", type=click.Choice(["count", "fixed_cost"]), default=None,
              help="lscp only: minimise the number of sites (default) or their fixed cost.")
@click.option("--cost-per-unit-km", type=float, default=None,
              help="uflp/cflp: transport cost, CNY per unit of demand per km (default 1).")
@click.option("--circuity", type=float, default=None, help="Road detour factor on great-circle distance (default 1.0).")
@click.option("--time-limit", "time_limit", type=float, default=None, help="Solver time limit, seconds.")
@click.option("--gap", type=float, default=None, help="Relative MIP gap at which to stop (default 1e-6).")
@click.option("--threads", type=int, default=None, help="Solver threads.")
@click.option("--out", "out_dir", default=None, type=click.Path(file_okay=False), help="Output directory.")
@click.option("--overwrite", is_flag=True, help="Replace an earlier output directory.")
@click.option("--verbose", is_flag=True, help="Show the HiGHS log.")
@click.option("--max-memory-mb", type=float, default=None,
              help="Refuse a model estimated to need more memory than this (default: 80% of the available memory).")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", help="Language of the map, report and these lines.")
def locate(model: str, demand_file: str, cand_file: str, p: int | None, radius_km: float | None,
           weight_col: str | None, lon_col: str | None, lat_col: str | None, crs: str | None, allow_far: bool,
           id_col: str | None, name_col: str | None, fixed_col: str | None,
           cap_col: str | None, req_col: str | None, forb_col: str | None, od_file: str | None,
           max_distance_km: float | None, budget_cny: float | None, decay: str | None,
           objective: str | None, cost_per_unit_km: float | None, circuity: float | None,
           time_limit: float | None, gap: float | None, threads: int | None, out_dir: str | None,
           overwrite: bool, verbose: bool, max_memory_mb: float | None, lang: str) -> int:
    """Place facilities on your own data with one single-level MODEL, solved exactly by HiGHS."""
    from siting.pipeline.locate import locate as run_locate
    from siting.pipeline.locate import model_params, result_tables
    from siting.geo.adapt import problem_from_files
    from siting.provenance.manifest import build_manifest, locate_parameters
    from siting.outputs import prepare_out_dir, write_run
    from siting.core.options import SolverOptions
    from siting.single.verify import verify
    from siting.outputs.terminal import locate_result_lines, progress_for

    progress = progress_for(console_err_rich, lang=lang, solver_log=verbose)
    started = time.perf_counter()
    model = model.lower()
    spec = MODELS[model]
    found = DefectCollector()
    if spec.capacitated and cap_col is None:
        found.add(f"model {model} needs --capacity", file="--capacity")
    if budget_cny is not None and fixed_col is None:
        found.add("--budget-cny needs --fixed-cost (the column of fixed costs)", file="--budget-cny")
    if objective == "fixed_cost" and fixed_col is None:
        found.add("--objective fixed_cost needs --fixed-cost", file="--objective")
    if od_file is not None and circuity is not None:
        found.add("--circuity does not apply with --od-matrix (its distances are used as given)", file="--circuity")
    if circuity is not None and not (math.isfinite(circuity) and circuity >= 1):
        found.add(f"must be a number >= 1, got {circuity}", file="--circuity")
    check_solver_flags(found, time_limit=time_limit, gap=gap, threads=threads, max_memory_mb=max_memory_mb)
    reading = _reading(found, lon_col=lon_col, lat_col=lat_col, crs=crs, allow_far=allow_far)
    params: dict[str, Any] = {}
    try:
        params = model_params(spec, p=p, radius_km=radius_km, budget_cny=budget_cny, decay=decay,
                              max_distance_km=max_distance_km, objective=objective,
                              cost_per_unit_km=cost_per_unit_km)
    except ScenarioError as exc:
        found.extend(exc.defects)
    options_bad = bool(found)
    if not options_bad:  # refuse a bad --out before reading or solving anything
        out = prepare_out_dir(out_dir if out_dir is not None else Path("maps") / f"locate-{model}",
                              overwrite=overwrite)

    with progress.step("load"):
        problem, dem, cand = problem_from_files(
            demand_file, cand_file, id_col=id_col, weight_col=weight_col, name_col=name_col, fixed_col=fixed_col,
            cap_col=cap_col, req_col=req_col, forb_col=forb_col, od_matrix=od_file, max_distance_km=max_distance_km,
            circuity=circuity, found=found,  # option and file problems are reported together
            error=ScenarioError if options_bad else DataError, **reading,
        )
    options = SolverOptions(time_limit_s=time_limit, mip_rel_gap=gap if gap is not None else 1e-6,
                            threads=threads, verbose=verbose)
    result = run_locate(problem, model, options=options, check=False, progress=progress,
                        max_memory_bytes=None if max_memory_mb is None else int(max_memory_mb * 2**20), **params)
    if not result.info.has_solution:
        raise SolverError(f"{model}: {result.info.describe()}; nothing was written")
    with progress.step("verify"):
        verdict = verify(problem, result)
    summary, facilities, assignments, demand = result_tables(problem, result, dem, cand, verdict=verdict)
    manifest = build_manifest(
        kind="locate",
        parameters=locate_parameters(
            model=model, params=result.params, demand=demand_file, candidates=cand_file, od_matrix=od_file,
            id_col=id_col, weight_col=weight_col, name_col=name_col, fixed_col=fixed_col, cap_col=cap_col,
            req_col=req_col, forb_col=forb_col, max_distance_km=max_distance_km, circuity=circuity,
            reading=reading),
        inputs={"demand": demand_file, "candidates": cand_file, "od_matrix": od_file},
        info=result.info, verdict=verdict, command=(click.get_current_context().find_root().obj or {}).get("argv"),
        wall_seconds=time.perf_counter() - started,
    )
    with progress.step("write"):
        written = write_run(out, summary=summary, facilities=facilities, assignments=assignments, demand=demand,
                            title=f"siting locate {model}", overwrite=overwrite, lang=lang,
                            map_options={"coverage_km": radius_km} if radius_km else None, manifest=manifest)
    lines = locate_result_lines(summary, model=model, status_text=result.info.describe(), objective=result.objective,
                                bound=result.info.bound, seconds=result.info.seconds,
                                checks=list(verdict.checks) if verdict.ok else None, out_dir=written, lang=lang)
    stdout.print(lines[0], markup=False)
    if not verdict.ok:
        for line in verdict.problems:
            console_err(f"verification failed: {line}")
    stdout.print(lines[1], markup=False)
    return 0 if verdict.ok else 1


def _reading(found: DefectCollector, *, lon_col: str | None, lat_col: str | None, crs: str | None,
             allow_far: bool) -> dict[str, Any]:
    """How to read both files (keyword arguments of :func:`siting.geo.adapt.problem_from_files`): ``--crs``
    wgs84/gcj02/bd09 names the coordinate system, anything else is a CRS (EPSG code) for x/y columns."""
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    out: dict[str, Any] = {"lon_col": lon_col, "lat_col": lat_col, "coord_system": None, "crs": None,
                           "allow_far": allow_far}
    if crs is not None:
        if crs.strip().lower() in ("wgs84", "gcj02", "bd09"):
            out["coord_system"] = crs.strip().lower()
        else:
            try:
                CRS.from_user_input(crs)
                out["crs"] = crs
            except (CRSError, TypeError, ValueError):
                found.add(f"unknown CRS {crs!r}; use wgs84, gcj02, bd09 or an EPSG code such as EPSG:32648",
                          file="--crs")
    return {k: v for k, v in out.items() if v not in (None, False)}
