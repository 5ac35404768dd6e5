"""``siting bench``: benchmark commands (OR-Library)."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from siting.cli.common import stdout

__all__ = ["bench"]


@click.group("bench")
def bench() -> None:
    """Benchmarks on published instances."""


def _fmt(x: Any, nd: int = 3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        if not math.isfinite(x):
            return "-"
        return f"{x:.{nd}f}" if abs(x) < 1e6 else f"{x:.{nd}f}"
    return str(x)


@bench.command("orlib")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, dir_okay=True))
@click.option("--instances", default=None, metavar="A,B,...",
              help="Only these instances (pmed1, cap41, capa8000, or capa for all four capacities).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line instead of a table.")
@click.option("--time-limit", "time_limit_s", type=click.FloatRange(min=0, min_open=True), default=None,
              metavar="S", help="Time limit per instance in seconds (a run that hits it is not optimal).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="HiGHS threads.")
@click.option("--no-isolate", is_flag=True,
              help="Run in this process (peak_mb is then the whole process's peak so far).")
def orlib(directory: str, instances: str | None, as_json: bool, time_limit_s: float | None,
          threads: int | None, no_isolate: bool) -> int:
    """Solve OR-Library p-median (pmedN) and warehouse-location (capNN, capa/b/c) instances in DIRECTORY.

    DIRECTORY is laid out like the OR-Library copy: pmed/pmedN.txt, cap/capNN.txt, the optima listings
    pmed/pmedopt.txt, cap/capopt.txt, cap/uncapopt.txt and/or optima.csv. A cap instance is solved
    capacitated (set cap) and, where the uncapacitated optima list it, uncapacitated (set uncap).
    Every solution is re-checked by the independent verifier. Exit code 1 if an objective differs from its
    published optimum (relative tolerance 1e-6) or a verification fails.
    """
    from siting.bench.runner import discover, run_cases

    wanted = [w for w in instances.split(",")] if instances else None
    cases = discover(directory, wanted)
    keys = ("instance", "set", "n", "p_or_m", "known_optimum", "objective", "status", "gap", "seconds",
            "peak_mb")

    def emit(rec: dict[str, Any]) -> None:
        if as_json:
            out = {k: rec.get(k) for k in keys}
            out.update({k: v for k, v in rec.items() if k not in out})
            print(json.dumps(out), flush=True)

    records = run_cases(cases, time_limit_s=time_limit_s, threads=threads, isolate=not no_isolate,
                        on_result=emit)
    failed = [r for r in records if r["matches"] is False or r.get("verified") is False]
    if not as_json:
        from rich.table import Table

        table = Table(title=f"OR-Library benchmarks in {directory}")
        for col in ("instance", "set", "n", "p/m", "known optimum", "objective", "match", "verified", "status",
                    "gap", "seconds", "build s", "peak MB"):
            table.add_column(col, justify="left" if col in ("instance", "set", "status") else "right")
        for r in records:
            match = {True: "yes", False: "NO", None: "-"}[r["matches"]]
            ver = {True: "yes", False: "NO", None: "-"}[r.get("verified")]
            table.add_row(r["instance"], r["set"], str(r["n"]), str(r["p_or_m"]), _fmt(r["known_optimum"]),
                          _fmt(r["objective"]), match, ver, r["status"], _fmt(r["gap"], 6), _fmt(r["seconds"], 2),
                          _fmt(r.get("build_seconds"), 2), _fmt(r["peak_mb"], 0))
        from rich.console import Console

        # a pipe gets rich's 80-column default: widen so that numbers are never cut
        con = stdout if stdout.is_terminal else Console(highlight=False, width=150)
        con.print(table)
        total = sum(r["seconds"] for r in records)
        con.print(f"{len(records)} runs, {len(records) - len(failed)} without mismatch, {total:.1f} s in all")
    if failed:
        from siting.cli.common import console_err

        for r in failed:
            if r["matches"] is False:
                console_err(f"mismatch: {r['instance']} ({r['set']}): objective {r['objective']} but published "
                            f"optimum {r['known_optimum']} (status {r['status']})")
            if r.get("verified") is False:
                console_err(f"verification failed: {r['instance']} ({r['set']}): "
                            + "; ".join(r.get("verify_problems", [])))
        return 1
    return 0
