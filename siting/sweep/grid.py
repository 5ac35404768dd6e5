"""Sweep grids: ``--set KEY=V1,V2`` parsing, the ``[sweep]`` table, Cartesian products and run ids.

Private helper of :mod:`siting.sweep`. Nothing here solves or writes anything.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from siting.core.errors import DefectCollector, ScenarioError

__all__ = [
    "SweepGrid",
    "SweepPoint",
    "parse_values",
    "parse_set",
    "grid_from_table",
    "merge_grids",
    "scenario_fingerprint",
    "run_id",
    "file_digest",
    "load_toml",
]

SWEEP_TABLE = "sweep"  #: top-level scenario table listing sweep dimensions
_KEY_RE = re.compile(r"^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")
_BARE_RE = re.compile(r"^[^\[\]{}\"'=#\s](?:[^\[\]{}\"'=#]*[^\[\]{}\"'=#\s])?$")  # a word: no brackets, quotes

Scalar = bool | int | float | str


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep.

    Attributes
    ----------
    index
        1-based position in run order (the first dimension varies slowest).
    overrides
        ``(dotted_key, value)`` pairs, one per dimension, in dimension order.
    """

    index: int
    overrides: tuple[tuple[str, Scalar], ...]

    def as_dict(self) -> dict[str, Scalar]:
        return dict(self.overrides)

    def label(self) -> str:
        """``key=value`` pairs for people."""
        return " ".join(f"{k}={_fmt(v)}" for k, v in self.overrides)


@dataclass(frozen=True)
class SweepGrid:
    """Sweep dimensions: ``((key, (v1, v2, ...)), ...)``; the runs are their Cartesian product."""

    dims: tuple[tuple[str, tuple[Scalar, ...]], ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.dims)

    def __len__(self) -> int:
        return math.prod(len(v) for _, v in self.dims) if self.dims else 1

    def points(self) -> list[SweepPoint]:
        """Every run, in run order (first dimension slowest); one run with no overrides if empty."""
        keys = self.keys
        combos = itertools.product(*(values for _, values in self.dims))
        return [SweepPoint(i, tuple(zip(keys, combo))) for i, combo in enumerate(combos, start=1)]


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return repr(v)


def _scalar(text: str) -> Scalar:
    """One TOML scalar (``15``, ``2.5``, ``true``, ``"a b"``); a bare word is taken as a string."""
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if _BARE_RE.match(text):
            return text
        raise ValueError(f"{text!r} is not a TOML number, boolean or string (quote strings with brackets)") from None
    if isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(f"{text!r} is not a number, boolean or string")


def _split_commas(text: str) -> list[str]:
    """Split on commas outside double or single quotes."""
    parts, buf, quote = [], [], None
    for ch in text:
        if quote:
            buf.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
            buf.append(ch)
        elif ch == ",":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def parse_values(text: str) -> tuple[Scalar, ...]:
    """Parse ``V1,V2,...`` as TOML scalars.

    Numbers, booleans and quoted strings follow TOML (``10``, ``12.5``, ``1e6``, ``true``, ``"xx"``); a bare
    word such as ``max-coverage`` is a string. Commas inside quotes do not split.

    Raises
    ------
    ValueError
        On an empty item, an array/table value, or a repeated value.
    """
    items = _split_commas(text)
    out: list[Scalar] = []
    for item in items:
        if not item.strip():
            raise ValueError(f"empty value in {text!r}")
        out.append(_scalar(item))
    _check_distinct(out)
    return tuple(out)


def _check_distinct(values: Sequence[Scalar]) -> None:
    seen: list[tuple[type, Scalar]] = []
    for v in values:
        tag = (type(v), v)
        if tag in seen:
            raise ValueError(f"value {_fmt(v)} is listed twice")
        seen.append(tag)


def parse_set(options: Iterable[str], *, source: str = "--set") -> SweepGrid:
    """Parse repeated ``KEY=V1,V2,...`` options into a grid; every defect is reported at once."""
    found = DefectCollector(source)
    dims: dict[str, tuple[Scalar, ...]] = {}
    for k, opt in enumerate(options, start=1):
        key, sep, rest = opt.partition("=")
        key = key.strip()
        if not sep or not rest.strip():
            found.add(f"expected KEY=V1,V2,... (got {opt!r})", row=k)
            continue
        if not _KEY_RE.match(key):
            found.add(f"{key!r} is not a dotted scenario key such as tiers.collection.radius_km", row=k)
            continue
        if key in dims:
            found.add(f"{key} is given twice; list all its values in one --set", row=k)
            continue
        try:
            dims[key] = parse_values(rest)
        except ValueError as exc:
            found.add(f"{key}: {exc}", row=k)
    found.raise_if_any(ScenarioError)
    return SweepGrid(tuple(dims.items()))


def _leaves(table: Mapping[str, Any], prefix: str) -> Iterable[tuple[str, Any]]:
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            yield from _leaves(value, path)
        else:
            yield path, value


def grid_from_table(table: Any, *, file: str) -> SweepGrid:
    """Read the scenario's ``[sweep]`` table.

    Each leaf is a dimension, named by its dotted path and listing its values. Both spellings work::

        [sweep]
        "tiers.collection.radius_km" = [10, 15, 20]
        demand.year = [2024, 2027]      # TOML nests this; the path is the same
    """
    found = DefectCollector(file)
    if not isinstance(table, Mapping):
        found.add("must be a table of KEY = [values]", row=SWEEP_TABLE)
        found.raise_if_any(ScenarioError)
    dims: list[tuple[str, tuple[Scalar, ...]]] = []
    for path, values in _leaves(table, ""):
        where = f"{SWEEP_TABLE}.{path}"
        if not isinstance(values, list) or not values:
            found.add("must be a non-empty array of values, e.g. [10, 15, 20]", row=where)
            continue
        bad = [v for v in values if not isinstance(v, (bool, int, float, str))]
        if bad:
            found.add(f"values must be numbers, booleans or strings (got {bad[0]!r})", row=where)
            continue
        try:
            _check_distinct(values)
        except ValueError as exc:
            found.add(str(exc), row=where)
            continue
        dims.append((path, tuple(values)))
    found.raise_if_any(ScenarioError)
    return SweepGrid(tuple(dims))


def merge_grids(base: SweepGrid, override: SweepGrid) -> SweepGrid:
    """``base`` dimensions in order, each replaced by ``override``'s values for the same key; new keys last."""
    over = dict(override.dims)
    dims = [(k, over.pop(k, v)) for k, v in base.dims]
    dims.extend(over.items())
    return SweepGrid(tuple(dims))


def load_toml(path: str | Path) -> dict[str, Any]:
    """Parse a scenario file; a syntax error becomes a :class:`ScenarioError` naming the file."""
    path = Path(path)
    found = DefectCollector(str(path))
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        found.add("file not found")
    except tomllib.TOMLDecodeError as exc:
        found.add(f"not valid TOML: {exc}")
    found.raise_if_any(ScenarioError)
    raise AssertionError("unreachable")  # pragma: no cover


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def scenario_fingerprint(doc: Mapping[str, Any]) -> str:
    """SHA-256 of the scenario's content without its ``[sweep]`` table (comments and layout ignored)."""
    body = {k: v for k, v in doc.items() if k != SWEEP_TABLE}
    return hashlib.sha256(_canonical(body).encode()).hexdigest()


def file_digest(path: str | Path, *, _cache: dict[tuple[str, int, int], str] = {}) -> str:  # noqa: B006
    """SHA-256 of a file's bytes (memoised on path, size and modification time within this process)."""
    st = Path(path).stat()
    key = (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)
    if key not in _cache:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _cache[key] = h.hexdigest()
    return _cache[key]


def run_id(
    fingerprint: str,
    overrides: Mapping[str, Any],
    options: Mapping[str, Any],
    *,
    inputs: Iterable[str] = (),
    length: int = 12,
) -> str:
    """Short content hash of one resolved run: scenario content + overrides + solver options + input files.

    Overrides are hashed as a sorted mapping, so the order of ``--set`` options does not matter; a value's
    TOML type does (``15`` and ``15.0`` are different runs). ``inputs`` are the digests of the data files
    the run reads (:func:`file_digest`), so editing a data file makes new runs.
    """
    payload = {
        "scenario": fingerprint,
        "overrides": sorted(([k, [type(v).__name__, v]] for k, v in overrides.items()), key=lambda kv: kv[0]),
        "options": {k: options[k] for k in sorted(options) if k != "verbose"},
    }
    inputs = sorted(inputs)
    if inputs:  # absent for runs without data files, so their ids do not change
        payload["inputs"] = inputs
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()[:length]
