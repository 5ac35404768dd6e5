"""``siting pilot``: the drone / unmanned-vehicle pilot (which 1-2 districts save most with drone legs)."""

from __future__ import annotations

from pathlib import Path

import click

from siting.cli.common import stdout

__all__ = ["pilot"]


@click.command("pilot")
@click.argument("pilot_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory (default maps/<name>/).")
@click.option("--overwrite", is_flag=True, help="Replace an earlier output directory.")
def pilot(pilot_file: Path, out_dir: Path | None, overwrite: bool) -> int:
    """Pick the 1-2 districts where drone legs save most against road legs (PILOT_FILE: a pilot TOML).

    \b
    Example:
      siting pilot models/chongqing-drone-pilot.toml --out maps/drone-pilot
    Writes summary.json, pilot_districts.csv (every district ranked by net saving) and pilot_townships.csv
    (every township's road and drone leg). Exit codes: 0 ok, 2 bad input.
    """
    from siting.pipeline.pilot import run_pilot

    o = run_pilot(pilot_file, out_dir=out_dir, overwrite=overwrite)
    s = o.summary
    if not o.picked:
        stdout.print(f"{s['scenario']}: no district saves money with drone legs under these assumptions", markup=False)
    for k, p in enumerate(s["picked"], start=1):
        stdout.print(f"{k}. {p['unit_name']} ({p['unit']}): net saving {p['net_saving_cny_per_year']:,.0f} CNY/yr "
                     f"({p['townships_flown']} townships flown; gross {p['saving_cny_per_year']:,.0f}; "
                     f"{p['minutes_saved_per_parcel']:g} min saved per parcel)", markup=False)
    stdout.print(f"outputs in {o.out_dir}", markup=False)
    return 0
