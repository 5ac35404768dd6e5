"""The ``siting`` command line.

This package is the only place that knows about exit codes:

==== =====================================================================
0    success
1    the run finished but its answer failed a check (verifier, benchmark)
2    bad input: every problem printed on its own line, no traceback
3    the solver failed for a reason that is not the input
130  interrupted (SIGINT); 143 terminated (SIGTERM); no output left behind
==== =====================================================================

Each sub-command lives in its own module and is registered below.
"""

from __future__ import annotations

import sys

import click

from siting import __version__
from siting.core.errors import InputError, Interrupted, OutputError, SitingError, SolverError
from siting.cli.common import console_err, report_input_error
from siting.cli.interrupt import guard

__all__ = ["cli", "main"]

EXIT_OK, EXIT_CHECK_FAILED, EXIT_INPUT, EXIT_SOLVER = 0, 1, 2, 3


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", "-V", prog_name="siting")
def cli() -> None:
    """Facility-location optimisation: exact MIP models (Pyomo + HiGHS) on real geodata, with maps.

    Start with `siting scenarios` and `siting run chongqing-express`, or `siting locate --help` for your own data.
    """


# --- sub-commands (one module each) -----------------------------------------------------------
from siting.cli.bench import bench  # noqa: E402
from siting.cli.compare import compare  # noqa: E402
from siting.cli.data import data  # noqa: E402
from siting.cli.locate import locate  # noqa: E402
from siting.cli.run import run  # noqa: E402
from siting.cli.scenarios import scenarios  # noqa: E402
from siting.cli.sweep import frontier, sweep  # noqa: E402
from siting.cli.verify import verify  # noqa: E402

from siting.cli.pilot import pilot  # noqa: E402

for _command in (data, scenarios, locate, run, sweep, frontier, compare, verify, bench, pilot):
    cli.add_command(_command)
# --- end of sub-commands ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI and turn errors into one-line messages and exit codes."""
    try:
        with guard():  # SIGINT/SIGTERM: no partial output, exit 130/143 (see siting.cli.interrupt)
            rv = cli.main(args=argv, prog_name="siting", standalone_mode=False,
                          obj={"argv": ["siting", *(sys.argv[1:] if argv is None else argv)]})
    except click.exceptions.Abort:
        console_err("interrupted; no output was written")
        return 130
    except click.UsageError as exc:  # one line, like every other input problem
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx is not None else ""
        console_err(f"error: {' '.join(exc.format_message().split())}{where}")
        return EXIT_INPUT
    except click.ClickException as exc:
        exc.show()
        return EXIT_INPUT
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except KeyboardInterrupt:
        console_err("interrupted; no output was written")
        return 130
    except Interrupted as exc:
        console_err(str(exc))
        return 128 + exc.signum
    except InputError as exc:  # one line per problem; a flood grouped by cause, the full list in a CSV
        report_input_error(exc, sys.argv[1:] if argv is None else argv)
        return EXIT_INPUT
    except OutputError as exc:
        console_err(f"error: {exc}")
        return EXIT_INPUT
    except SolverError as exc:
        console_err(f"solver error: {exc}")
        return EXIT_SOLVER
    except SitingError as exc:
        console_err(f"error: {exc}")
        return EXIT_INPUT
    return rv if isinstance(rv, int) else EXIT_OK


def _entry() -> None:  # pragma: no cover - thin wrapper for the console script
    sys.exit(main())
