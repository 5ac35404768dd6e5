"""Run one benchmark case in its own Python subprocess and measure it (shared by the benchmark scripts).

The child prints one line ``RESULT {json}``; the parent reads it, and takes the child's peak resident memory
from ``os.wait4`` (the child's own rusage, not the parent's). The child gets its solver time limit; after
``timeout + grace`` seconds its whole process group is killed and the record says ``"killed"``.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path


def run_isolated(cmd: list[str], *, timeout: float, grace: float = 60.0, env: dict | None = None) -> dict:
    """Run ``cmd``; return its ``RESULT`` record plus ``wall`` (s), ``peak_mb`` and, on failure, ``error``.

    ``status`` is ``"error"`` when the child printed no record and ``"killed"`` when it overran.
    """
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, text=True, start_new_session=True, env=env)
        deadline = t0 + timeout + grace  # the solver's own time limit first, then a hard stop
        timed_out = False
        while True:  # os.wait4 (not Popen.wait) so that we get this child's own rusage
            pid, _status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                _, _status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = -1 if timed_out else 0  # reaped above
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    rec: dict = {"seconds": math.nan, "objective": math.nan, "status": "error", "wall": time.perf_counter() - t0}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            rec.update(json.loads(line[7:]))
    if timed_out:
        rec["status"] = "killed"
    elif rec["status"] == "error":
        rec["error"] = (err.strip().splitlines() or ["?"])[-1]
    rec["peak_mb"] = round(usage.ru_maxrss / 1024.0, 1)
    return rec


def write_results_csv(out_dir: str | os.PathLike, prefix: str, fields: list[str], records: list[dict]) -> Path:
    """Write ``records`` to ``out_dir/<prefix>_<UTC stamp>.csv`` atomically (temporary file, then rename)."""
    import csv
    from datetime import datetime, timezone

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{prefix}_{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}.csv"
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(records)
    tmp.replace(path)
    return path


def cell(x: float | None, nd: int = 2) -> str:
    """A number for a table cell, ``-`` for missing or non-finite values."""
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{nd}f}"


# ------------------------------------------------------------------------------------------ previous version
#: ``--previous`` default: the last release before this change (the package layout with siting.algorithms).
PREVIOUS_DEFAULT = "0b3d0d3"  # the release before issue 17's third session (parent-basis warm start, support separation)


def extract_previous(ref: str, repo: str | os.PathLike) -> Path:
    """Extract git ``ref`` of ``repo`` (``git archive``) into a new temporary directory and return it; the
    caller removes it (``shutil.rmtree``)."""
    out = Path(tempfile.mkdtemp(prefix="siting_prev_"))
    archive = subprocess.run(["git", "-C", str(repo), "archive", "--format=tar", ref], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)
    return out


def previous_env(prev_dir: str | os.PathLike) -> dict:
    """Environment for a child that must import ``siting`` from ``prev_dir`` (first on ``PYTHONPATH``, ahead
    of the editable install of the current tree)."""
    env = os.environ.copy()
    env["PYTHONPATH"] = str(prev_dir) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["SITING_PREVIOUS_TREE"] = str(prev_dir)
    return env


def import_first(*names: str):
    """The first importable of ``"module:attribute"`` names (the package layout changed between versions:
    ``siting.algorithms.pmedian`` now, ``siting.formulations.fast`` in the flat layout of 709f874)."""
    import importlib

    errors = []
    for name in names:
        mod, _, attr = name.partition(":")
        try:
            return getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as exc:
            errors.append(f"{name}: {exc}")
    raise ImportError("; ".join(errors))


def check_previous_tree() -> None:
    """In a child started with :func:`previous_env`: fail loudly unless ``siting`` comes from that tree."""
    import siting

    tree = os.environ.get("SITING_PREVIOUS_TREE")
    if tree and not Path(siting.__file__).resolve().is_relative_to(Path(tree).resolve()):
        raise RuntimeError(f"siting imported from {siting.__file__}, not from the previous tree {tree}")
