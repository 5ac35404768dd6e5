"""What a run shows on the terminal: progress of the long steps, and the result lines, in English or Chinese.

Progress: the CLI makes a reporter with :func:`progress_for` and passes it to the pipeline
(``run_scenario(progress=...)``, ``locate(progress=...)``), which wraps each long step in
``with progress.step("load"):`` (keys: ``load``, ``build``, ``solve``, ``polish``, ``verify``, ``write``; the
labels are in :mod:`siting.outputs.i18n`). On a terminal each step shows a spinner while it runs and one line
when it ends (``✓ solving (HiGHS): done in 8.4 s``), on standard error; when standard error is not a terminal
(a pipe, a log file, CI) or with ``--quiet``, the reporter is :data:`NO_PROGRESS` and prints nothing. While
HiGHS streams its own log, the solve step shows no spinner (the two would garble each other).

Result lines: :func:`run_result_lines` and :func:`locate_result_lines` give the lines ``siting run`` and
``siting locate`` print at the end (the README quotes them: keep the English layout stable).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from siting.outputs.i18n import DEFAULT_LANG, status_label, text, tier_label, unit_label

__all__ = ["Progress", "NO_PROGRESS", "TerminalProgress", "progress_for", "run_result_lines", "locate_result_lines"]


class Progress:
    """A progress reporter that reports nothing (the default of every pipeline function)."""

    @contextmanager
    def step(self, key: str) -> Iterator[None]:
        """Mark the block as the long step ``key`` (``load``, ``build``, ``solve``, ``polish``, ``verify``, ``write``)."""
        yield


#: the silent reporter
NO_PROGRESS = Progress()


class TerminalProgress(Progress):
    """Spinner and a closing line per step, on a :class:`rich.console.Console` (standard error).

    Parameters
    ----------
    console
        Where to draw (``rich.console.Console(stderr=True)``).
    lang
        ``"en"`` or ``"zh"``.
    solver_log
        HiGHS writes its log to the terminal during the ``solve`` step: no spinner there.
    """

    def __init__(self, console: Any, *, lang: str = DEFAULT_LANG, solver_log: bool = False):
        self.console = console
        self.lang = lang
        self.solver_log = solver_log
        self.done: list[tuple[str, float]] = []  #: (step key, seconds) of every finished step

    @contextmanager
    def step(self, key: str) -> Iterator[None]:
        label = text(self.lang, f"step.{key}")
        t0 = time.perf_counter()
        if self.solver_log and key in ("solve", "polish"):
            self.console.print(f"… {label}", markup=False, highlight=False)
            yield
        else:
            with self.console.status(f"{label} …", spinner="dots"):
                yield
        seconds = time.perf_counter() - t0
        self.done.append((key, seconds))
        self.console.print("✓ " + text(self.lang, "step.done", step=label, s=f"{seconds:.1f}"), markup=False, highlight=False)


def progress_for(console: Any, *, quiet: bool = False, lang: str = DEFAULT_LANG, solver_log: bool = False) -> Progress:
    """A :class:`TerminalProgress` when ``console`` is a terminal and not ``quiet``, else :data:`NO_PROGRESS`."""
    if quiet or not getattr(console, "is_terminal", False):
        return NO_PROGRESS
    return TerminalProgress(console, lang=lang, solver_log=solver_log)


def _n(x: Any, fmt: str = ",.0f") -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "nan"
    return format(v, fmt) if math.isfinite(v) else "nan"


def run_result_lines(summary: Mapping[str, Any], *, name: str, ok: bool, out_dir: Any, lang: str = DEFAULT_LANG) -> list[str]:
    """The lines ``siting run`` prints at the end (the first with the scenario name in rich bold markup)."""
    s = summary
    cost = s.get("cost_cny") or {}
    cert = text(lang, "cli.cert", bound=_n(s.get("bound")), gap=f"{100 * s['gap']:.3g}") if s.get("gap") is not None else ""
    total = _n(cost.get("total", float("nan")))
    if s.get("objective_kind") == "coverage":
        head = text(lang, "cli.head_coverage", covered=_n(s.get("objective")), unit=unit_label(lang, s.get("weight_unit")), cert=cert, total=total)
    else:
        head = text(lang, "cli.head_cost", total=total, cert=cert)
    status = s.get("status_text", s["status"]) if lang == "en" else status_label(lang, s["status"])
    lines = [f"[bold]{name}[/bold]: {status}; {head}"]
    counts = ", ".join(f"{tier_label(lang, k)} {v}" for k, v in s["counts_by_tier"].items())
    lines.append(text(lang, "cli.open", counts=counts, s=f"{s['seconds']:.1f}"))
    for tier, c in cost.items():
        if tier in ("total", "by_type"):
            continue
        lines.append(text(lang, "cli.tier_costs", tier=tier_label(lang, tier), fixed=_n(c["fixed"]),
                          handling=_n(c["handling"]), transport=_n(c["transport"])))
    cov = s.get("coverage") or {}
    if cov:
        lines.append(text(lang, "cli.served", share=f"{100 * cov['share_served']:.2f}", total=_n(cov["demand_total"]),
                          unit=unit_label(lang, s.get("weight_unit")), d=f"{cov['mean_distance_km'] or 0:.2f}"))
    yes = (text(lang, "yes") if lang == "zh" else "yes") if ok else ("否" if lang == "zh" else "NO")
    lines.append(text(lang, "cli.verified", ok=yes, out=out_dir))
    return lines


def locate_result_lines(summary: Mapping[str, Any], *, model: str, status_text: str, objective: float, bound: float,
                        seconds: float, checks: Sequence[str] | None, out_dir: Any, lang: str = DEFAULT_LANG) -> list[str]:
    """The lines ``siting locate`` prints at the end (``checks=None``: the solution failed verification)."""
    ids = summary["facility_ids"]
    more = "，…（共 {n} 个）" if lang == "zh" else ", ... ({n} in all)"
    shown = ", ".join(ids[:10]) + (more.format(n=len(ids)) if len(ids) > 10 else "")
    status = status_text if lang == "en" else status_label(lang, summary.get("status"))
    lines = [text(lang, "cli.locate", model=model, status=status, obj=f"{objective:.10g}", bound=f"{bound:.10g}",
                  n=len(ids), shown=shown, s=f"{seconds:.2f}")]
    if checks is None:
        lines.append(text(lang, "cli.locate_failed", out=out_dir))
    else:
        lines.append(text(lang, "cli.locate_ok", n=len(checks), out=out_dir))
    return lines
