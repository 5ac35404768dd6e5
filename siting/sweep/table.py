"""The sweep table: one flat row per run from a run's ``summary.json``, and atomic CSV/JSON writes.

Private helper of :mod:`siting.sweep`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "HEAD_COLUMNS",
    "TAIL_COLUMNS",
    "flatten_summary",
    "rows_frame",
    "write_csv_atomic",
    "write_json_atomic",
    "write_text_atomic",
    "jsonable",
    "one_line",
    "open_atomic_tmp",
]

#: summary fields copied as they are, in this order, after the run columns and the varied keys
SCALAR_FIELDS = ("status", "termination", "objective", "bound", "gap", "verified")
#: nested summary dicts flattened into ``prefix.key[.subkey]`` columns
NESTED_FIELDS = (("cost_cny", "cost_cny"), ("counts_by_tier", "count"), ("coverage", "coverage"))
HEAD_COLUMNS = ("run", "run_id")
TAIL_COLUMNS = ("seconds", "error")


def jsonable(obj: Any) -> Any:
    """What writing ``obj`` as JSON and reading it back gives (tuples become lists, numpy scalars numbers,
    NaN and infinities ``None``), so that a summary returned by a worker equals the one read from disk."""
    return _nan_to_none(json.loads(json.dumps(obj, default=_json_default, allow_nan=True)))


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalar
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "value") and isinstance(getattr(obj, "value"), str):  # str Enum
        return obj.value
    return str(obj)


def one_line(exc: BaseException, *, limit: int = 400) -> str:
    """``Type: message`` on one line (several defects joined by ``; ``), at most ``limit`` characters.

    The defects of an input error are shown without their file (the run's scenario), the first three and a
    count of the rest.
    """
    defects = getattr(exc, "defects", None)
    if defects:
        lines = [str(dataclasses.replace(d, file=None)) for d in defects[:3]]
        if len(defects) > 3:
            lines.append(f"and {len(defects) - 3} more")
    else:
        lines = str(exc).splitlines()
    text = "; ".join(" ".join(str(line).split()) for line in lines if str(line).strip())
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}", v, out)
    elif isinstance(value, (list, tuple)):
        return  # lists (facility ids, ...) stay in summary.json
    else:
        out[prefix] = value


def flatten_summary(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The sweep-table columns of one run's summary: scalars, then flattened cost, counts and coverage."""
    row: dict[str, Any] = {}
    for name in SCALAR_FIELDS:
        if name in summary:
            row[name] = summary[name]
    for name, prefix in NESTED_FIELDS:
        if isinstance(summary.get(name), Mapping):
            _flatten(prefix, summary[name], row)
    row["seconds"] = summary.get("seconds")
    return row


def rows_frame(rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> pd.DataFrame:
    """Rows (sorted by ``run``) as a frame with a deterministic column order.

    ``run, run_id``, the varied keys, the summary scalars, the flattened columns in order of first
    appearance (scanning rows in run order), then ``seconds, error``.
    """
    rows = sorted(rows, key=lambda r: r["run"])
    fixed = [*HEAD_COLUMNS, *keys]
    middle: list[str] = []
    seen = set(fixed) | set(TAIL_COLUMNS)
    for name in SCALAR_FIELDS:
        if any(name in r for r in rows):
            middle.append(name)
            seen.add(name)
    for r in rows:
        for col in r:
            if col not in seen:
                middle.append(col)
                seen.add(col)
    columns = [*fixed, *middle, *TAIL_COLUMNS]
    frame = pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)
    for col in columns:  # keep integer columns (counts, varied ints) integer where a failed run leaves gaps
        values = [r.get(col) for r in rows if r.get(col) is not None]
        if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            frame[col] = frame[col].astype("Int64")
    return frame


def open_atomic_tmp(path: Path) -> tuple[int, str]:
    """A temporary file next to ``path`` (same file system), with the mode a plain ``open`` would give it.

    ``mkstemp`` creates files with mode 0600 whatever the umask; a colleague on a shared server could then not
    read the sweep's outputs. The mode is set to ``0o666 & ~umask``, as for every other output.
    """
    from siting.outputs.tables import current_umask

    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    return fd, tmp


def _atomic(path: Path, write: Any) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = open_atomic_tmp(path)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_csv_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` as UTF-8 CSV through a temporary file and a rename."""
    _atomic(path, lambda fh: frame.to_csv(fh, index=False, lineterminator="\n"))


def write_json_atomic(obj: Any, path: Path) -> None:
    """Write ``obj`` as indented JSON (NaN/inf as ``null``) through a temporary file and a rename."""
    _atomic(path, lambda fh: fh.write(json.dumps(jsonable(obj), indent=2, ensure_ascii=False) + "\n"))


def write_text_atomic(text: str, path: Path) -> None:
    """Write ``text`` through a temporary file and a rename."""
    _atomic(path, lambda fh: fh.write(text))


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_to_none(v) for v in obj]
    return obj
