"""Helpers shared by the sub-commands: terminal output and option parsing."""

from __future__ import annotations

import sys

from rich.console import Console

__all__ = ["console_err", "stdout"]

_stderr = Console(stderr=True, highlight=False, soft_wrap=True)
stdout = Console(highlight=False, soft_wrap=True)


def console_err(message: str) -> None:
    """Print one line to standard error, with no markup interpretation."""
    _stderr.print(message, markup=False)
    sys.stderr.flush()
