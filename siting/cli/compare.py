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
    help="Directory for compare.json, compare.csv and the differences map compare.html "
    "[default: out/compare-<UTC timestamp>].",
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
    Also writes a map of the sites opened in one run and not another.
    """
    from siting.outputs.compare import compare_table, load_runs, site_differences, write_compare  # noqa: PLC0415
    from siting.outputs.tables import prepare_out_dir  # noqa: PLC0415

    if out_dir is None:
        out_dir = Path("out") / f"compare-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"
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
    for r in runs:
        only = diff["only_in"][r.label]
        if only:
            shown = ", ".join(only[:10]) + (f", … ({len(only)} in all)" if len(only) > 10 else "")
            stdout.print(f"only in {r.label}: {shown}", markup=False)
    written = write_compare(runs, out_dir, boundaries=poly, overwrite=overwrite)
    stdout.print(f"wrote {written / 'compare.html'} (map of differences), compare.csv, compare.json", markup=False)
    return 0
