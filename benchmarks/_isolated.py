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


def run_isolated(cmd: list[str], *, timeout: float, grace: float = 60.0) -> dict:
    """Run ``cmd``; return its ``RESULT`` record plus ``wall`` (s), ``peak_mb`` and, on failure, ``error``.

    ``status`` is ``"error"`` when the child printed no record and ``"killed"`` when it overran.
    """
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        proc = subprocess.Popen(cmd, stdout=fo, stderr=fe, text=True, start_new_session=True)
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
