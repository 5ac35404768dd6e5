"""``siting compare RUN_DIR RUN_DIR [...]``: side-by-side table of finished runs and a map of differences."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import click
from rich.table import Table

from siting.core.errors import DataError, Defect
from siting.cli.common import stdout

__all__ = ["compare"]


def _fmt(metric: str, value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if metric.startswith("share") or metric == "gap":
            return f"{100 * value:.2f}%"
        if "(km)" in metric or metric == "seconds":
            return f"{value:,.2f}"
        return f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@click.command("compare")
@click.argument("run_dirs", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Directory for compare.json, compare.csv, compare_parameters.csv and the differences map compare.html "
    "[default: compare-<first run>-<UTC timestamp>, next to the first RUN_DIR].",
)
@click.option("--overwrite", is_flag=True, help="Replace --out if it holds an earlier comparison or run.")
@click.option(
    "--boundaries",
    type=click.Path(path_type=Path),
    default=None,
    help="Polygons (GeoJSON, GeoPackage, ...) drawn under the differences map, e.g. data/geo/districts.geojson.",
)
@click.option("--label", "labels", multiple=True, help="Name of each run in the table (once per RUN_DIR, in order).")
def compare(run_dirs: tuple[Path, ...], out_dir: Path | None, overwrite: bool, boundaries: Path | None, labels: tuple[str, ...]) -> int:
    """Compare finished runs: objective, cost by tier and type, counts, coverage, gap and status side by side.

    Each RUN_DIR is the output directory of `siting run` or `siting locate` (summary.json + solution.gpkg).
    Also lists the parameters that differ (the --set values, scenario keys, model parameters, solver options
    and input files, from each run's manifest.json) and writes a map of the sites opened in one run and not
    another.
    """
    from siting.outputs.compare import (  # noqa: PLC0415
        compare_table,
        default_out_dir,
        load_runs,
        parameter_differences,
        site_differences,
        write_compare,
    )
    from siting.outputs.tables import prepare_out_dir  # noqa: PLC0415

    if out_dir is None and run_dirs:
        out_dir = default_out_dir(run_dirs, stamp=datetime.now(UTC).strftime("%Y%m%d-%H%M%S"))
    elif out_dir is None:
        out_dir = Path(f"compare-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}")
    prepare_out_dir(out_dir, overwrite=overwrite)  # refuse a bad --out before reading anything
    poly = None
    if boundaries is not None:
        import geopandas as gpd  # noqa: PLC0415

        try:
            poly = gpd.read_file(boundaries)
        except Exception as exc:  # noqa: BLE001 - any reader failure is a bad input file
            raise DataError(Defect(f"cannot be read as polygons: {' '.join(str(exc).split())}", str(boundaries))) from exc
    runs = load_runs(run_dirs, labels=list(labels) if labels else None)
    table = compare_table(runs)
    diff = site_differences(runs)

    view = Table(title="siting compare", show_lines=False, header_style="bold")
    view.add_column("metric")
    for label in table.columns:
        view.add_column(str(label), justify="right")
    for metric, row in table.iterrows():
        view.add_row(str(metric), *[_fmt(str(metric), v) for v in row.tolist()])
    stdout.print(view)
    params = parameter_differences(runs)
    if len(params):
        pview = Table(title="parameters that differ", show_lines=False, header_style="bold")
        pview.add_column("parameter")
        for label in params.columns:
            pview.add_column(str(label), justify="right")
        for key, row in params.iterrows():
            pview.add_row(str(key), *["—" if v is None else str(v) for v in row.tolist()])
        stdout.print(pview)
    else:
        stdout.print("parameters: the same in every run (as recorded in manifest.json)", markup=False)
    for r in runs:
        only = diff["only_in"][r.label]
        if only:
            shown = ", ".join(only[:10]) + (f", … ({len(only)} in all)" if len(only) > 10 else "")
            stdout.print(f"only in {r.label}: {shown}", markup=False)
    written = write_compare(runs, out_dir, boundaries=poly, overwrite=overwrite)
    stdout.print(f"wrote {written / 'compare.html'} (map of differences), compare.csv, compare_parameters.csv, "
                 "compare.json", markup=False)
    return 0
