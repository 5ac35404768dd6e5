"""``siting scenarios``: list the shipped scenarios, show where one is, copy one for editing."""

from __future__ import annotations

from pathlib import Path

import click

from siting.cli.common import stdout
from siting.geo.shipped import (
    copy_scenario,
    default_data_dir,
    find_scenario,
    shipped_scenarios,
)

__all__ = ["scenarios"]

_EPILOG = """\b
Examples:
  siting scenarios                                  list the shipped scenarios
  siting scenarios copy chongqing-express ./plan    copy one (with the files it reads) for editing
  siting run chongqing-express                      run a shipped scenario by name, from any directory
  siting run ./plan/chongqing-express.toml          run your edited copy

\b
The shipped scenarios and the Chongqing reference data (data/geo) are installed with the package;
`chongqing:` sources read that data wherever the scenario file lives. Set SITING_DATA_DIR to a folder with
your own copy of the data/geo files to use it instead.
"""


@click.group("scenarios", invoke_without_command=True, epilog=_EPILOG)
@click.pass_context
def scenarios(ctx: click.Context) -> None:
    """The scenarios that ship with siting: list them (default), print a path, copy one for editing."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_scenarios)


@scenarios.command("list")
def list_scenarios() -> None:
    """List the shipped scenarios: name and description."""
    found = shipped_scenarios()
    if not found:
        stdout.print("no shipped scenarios found (is the package installed completely?)", markup=False)
        return
    width = max(len(s.name) for s in found)
    for s in found:
        stdout.print(f"{s.name:<{width}}  {s.description}", markup=False)
    stdout.print(f"\nrun one with `siting run NAME`; copy one for editing with `siting scenarios copy NAME DIR`"
                 f"\nreference data: {default_data_dir()}", markup=False)


@scenarios.command("path")
@click.argument("name")
def path(name: str) -> None:
    """Print the file of the shipped scenario NAME."""
    stdout.print(str(find_scenario(name)), markup=False, soft_wrap=True)


@scenarios.command("copy")
@click.argument("name")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace files that exist in DEST.")
def copy(name: str, dest: Path, overwrite: bool) -> None:
    """Copy the shipped scenario NAME into folder DEST, with the data files it reads, for editing."""
    written = copy_scenario(name, dest, overwrite=overwrite)
    for p in written:
        stdout.print(f"wrote {p}", markup=False)
    stdout.print(f"run it with: siting run {written[0]}", markup=False)
