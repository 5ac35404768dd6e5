"""``siting verify RUN_DIR``: re-check a finished run from its files alone."""

from __future__ import annotations

import click

from siting.cli.common import console_err, stdout

__all__ = ["verify"]


@click.command("verify", epilog="\b\nExit codes: 0 every check passed, 1 a check failed (an input changed, the "
                                "GeoPackage was edited, a constraint or cost does not hold), 2 not a run directory.")
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--quiet", "-q", is_flag=True, help="Print only failed checks and the verdict.")
def verify(run_dir: str, quiet: bool) -> int:
    """Re-check the run in RUN_DIR: input hashes, the problem rebuilt from the inputs, the solution read back
    from solution.gpkg, every constraint and cost recomputed by the independent verifier, and agreement with
    summary.json and manifest.json."""
    from siting.provenance.audit import audit

    report = audit(run_dir)
    for check in report.checks:
        if not (quiet and check.ok):
            (stdout.print(str(check), markup=False) if check.ok else console_err(str(check)))
    verdict = report.lines()[-1]
    if report.ok:
        stdout.print(f"{report.run_dir}: {verdict}", markup=False)
        return 0
    console_err(f"{report.run_dir}: {verdict}")
    return 1
