"""``siting data``: inspect and validate the reference geodata."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.table import Table

from siting.geo.chongqing import STRUCTURES, default_data_dir, load_districts, load_logistics_points, load_townships, load_units
from siting.cli.common import stdout

__all__ = ["data", "check_summary"]


def check_summary(*, data_dir: Path | None = None, structure: str = "2024") -> dict:
    """Load and validate every Chongqing layer; return the counts as a JSON-able dict.

    Raises :class:`~siting.core.errors.DataError` (every problem at once) if any file is bad.
    """
    districts = load_districts(data_dir=data_dir, structure=structure)
    units = load_units(data_dir=data_dir, structure=structure)
    towns = load_townships(data_dir=data_dir, structure=structure)
    points = load_logistics_points(data_dir=data_dir, structure=structure)
    regions = {}
    for region, grp in units.groupby("region", sort=True):
        tw = towns[towns["region"] == region]
        regions[str(region)] = {
            "units": int(len(grp)),
            "townships": int(len(tw)),
            "population": int(tw["population"].sum()),
        }
    return {
        "data_dir": str(Path(data_dir) if data_dir is not None else default_data_dir()),
        "structure": structure,
        "districts": int(len(districts)),
        "units": int(len(units)),
        "units_by_kind": {str(k): int(v) for k, v in units["kind"].value_counts().sort_index().items()},
        "zones": [str(z) for z in units.loc[units["kind"] == "zone", "name_zh"]],
        "townships": int(len(towns)),
        "population": int(towns["population"].sum()),
        "population_census_districts": int(districts["pop_census2020"].sum()),
        "townships_estimated_coords": int(towns["coord_estimated"].sum()),
        "townships_by_coord_method": {str(k): int(v) for k, v in towns["coord_method"].value_counts().sort_index().items()},
        "units_with_approximate_geometry": [str(u) for u in units.loc[units["geometry_approximate"], "unit_id"]],
        "logistics_points": int(len(points)),
        "regions": regions,
        "crs": "EPSG:4326",
    }


@click.group("data")
def data() -> None:
    """Reference geodata (Chongqing): check and summarise."""


@data.command("check")
@click.option("--data-dir", type=click.Path(path_type=Path), default=None,
              help="Folder with the geodata files [default: $SITING_DATA_DIR, else the data installed with siting, "
                   "else the checkout's data/geo].")
@click.option("--structure", type=click.Choice(STRUCTURES), default="2024", show_default=True,
              help="Administrative structure: 2024 (38 districts, 41 planning units) or 2025 (after the Nov 2025 "
                   "reform: 两江新区 replaces 江北区/渝北区).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
def check(data_dir: Path | None, structure: str, as_json: bool) -> None:
    """Load and validate every layer; print counts (exit 2 with one line per problem if the data is bad)."""
    summary = check_summary(data_dir=data_dir, structure=structure)
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False))
        return
    table = Table(title=f"Chongqing geodata, structure {structure} ({summary['data_dir']})")
    table.add_column("layer")
    table.add_column("count", justify="right")
    table.add_column("note")
    table.add_row("districts/counties", f"{summary['districts']:,}", f"census 2020: {summary['population_census_districts']:,} people")
    kinds = ", ".join(f"{k} {v}" for k, v in summary["units_by_kind"].items())
    table.add_row("planning units", f"{summary['units']:,}", kinds)
    table.add_row("townships", f"{summary['townships']:,}", f"population estimate {summary['population']:,}")
    table.add_row("  with estimated point", f"{summary['townships_estimated_coords']:,}",
                  ", ".join(f"{k} {v}" for k, v in summary["townships_by_coord_method"].items() if k != "geonames"))
    table.add_row("logistics points", f"{summary['logistics_points']:,}", "airports, rail, ports")
    for region, r in summary["regions"].items():
        table.add_row(f"region {region}", f"{r['units']:,} units", f"{r['townships']:,} townships, {r['population']:,} people")
    stdout.print(table)
    stdout.print(f"ok: every layer valid (CRS {summary['crs']})", markup=False)
