"""Validation helpers of the scenario schema: typed getters that collect every defect, and point sources.

:class:`Validator` wraps one :class:`~siting.core.errors.DefectCollector`; each getter reports a wrong type,
range or choice with the dotted key (and a "did you mean" suggestion) and returns a default, so that a
file's problems are all listed at once. :func:`parse_sources` reads a ``source`` / ``candidates`` value.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from siting.core.errors import DefectCollector
from siting.scenario.spec import CHONGQING_SOURCES, SourceSpec

__all__ = ["SENSES", "SOURCE_TABLE_KEYS", "Validator", "parse_sources", "type_name"]

#: count senses: TOML word -> comparison
SENSES = {"exactly": "==", "at_least": ">=", "at_most": "<="}


SOURCE_TABLE_KEYS = ("path", "id_col", "name_col", "lon_col", "lat_col", "weight_col", "unit_col", "region_col",
                      "fixed_cost_col", "capacity_col", "category_col", "coord_system", "crs", "layer")


class Validator:
    """Validation helpers bound to one collector."""

    def __init__(self, file: str):
        self.found = DefectCollector(file)

    def add(self, key: str, msg: str) -> None:
        self.found.add(msg, row=key)

    def keys(self, table: Mapping[str, Any], allowed: list[str], key: str, *, patterns: list[tuple[str, str]] = ()) -> None:
        for k in table:
            if k in allowed:
                continue
            where = f"{key}.{k}" if key else k
            hint = difflib.get_close_matches(k, allowed + [p for _, p in patterns], n=1, cutoff=0.6)
            extra = ""
            for rx, example in patterns:
                if re.fullmatch(rx, k):
                    extra = f" (the volume unit of this scenario spells it {example!r})"
                    hint = []
                    break
            if hint:
                self.add(where, f"unknown key; did you mean {hint[0]!r}?")
            else:
                self.add(where, f"unknown key{extra}; allowed: {', '.join(allowed)}")

    def table(self, parent: Mapping[str, Any], k: str, key: str, *, required: bool = False) -> dict[str, Any] | None:
        where = f"{key}.{k}" if key else k
        if k not in parent:
            if required:
                self.add(where, "missing table")
            return None
        v = parent[k]
        if not isinstance(v, dict):
            self.add(where, f"must be a table, got {type_name(v)}")
            return None
        return v

    def number(self, t: Mapping[str, Any], k: str, key: str, *, default: float | None = None, minimum: float = 0.0,
               strict: bool = False, allow_inf: bool = False, required: bool = False) -> float | None:
        where = f"{key}.{k}" if key else k
        if k not in t:
            if required:
                self.add(where, "missing (a number is required)")
            return default
        v = t[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.add(where, f"must be a number, got {type_name(v)} {v!r}")
            return default
        v = float(v)
        if math.isnan(v):
            self.add(where, "must be a number, got nan")
            return default
        if math.isinf(v) and not allow_inf:
            self.add(where, f"must be finite, got {v}")
            return default
        if v < minimum or (strict and v <= minimum):
            self.add(where, f"must be {'>' if strict else '>='} {minimum:g}, got {v:g}")
            return default
        return v

    def integer(self, t: Mapping[str, Any], k: str, key: str, *, minimum: int = 0) -> int | None:
        where = f"{key}.{k}" if key else k
        v = t.get(k)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and (not v.is_integer())):
            self.add(where, f"must be a whole number, got {type_name(v)} {v!r}")
            return None
        if v < minimum:
            self.add(where, f"must be >= {minimum}, got {int(v)}")
            return None
        return int(v)

    def string(self, t: Mapping[str, Any], k: str, key: str, *, default: str | None = None,
               choices: tuple[str, ...] | None = None) -> str | None:
        where = f"{key}.{k}" if key else k
        if k not in t:
            return default
        v = t[k]
        if isinstance(v, int) and not isinstance(v, bool) and choices is None:
            v = str(v)
        if not isinstance(v, str):
            self.add(where, f"must be a string, got {type_name(v)} {v!r}")
            return default
        if choices is not None and v not in choices:
            hint = difflib.get_close_matches(v, list(choices), n=1)
            self.add(where, f"must be one of {', '.join(map(repr, choices))}, got {v!r}"
                     + (f"; did you mean {hint[0]!r}?" if hint else ""))
            return default
        return v

    def path(self, t: Mapping[str, Any], k: str, key: str, *, base: Path, kind: str = "file") -> Path | None:
        """A path relative to ``base`` (the scenario's folder) that must exist as a ``kind`` ("file", "folder"
        or "any"); ``None`` (and one problem) when it does not."""
        s = self.string(t, k, key)
        if s is None:
            return None
        full = Path(s) if Path(s).is_absolute() else base / s
        ok = {"file": full.is_file, "folder": full.is_dir, "any": full.exists}[kind]()
        if not ok:
            what = "folder" if kind == "folder" else "file"
            self.add(f"{key}.{k}" if key else k, f"{what} not found: {s} (looked at {full})")
            return None
        return full

    def boolean(self, t: Mapping[str, Any], k: str, key: str, *, default: bool) -> bool:
        where = f"{key}.{k}" if key else k
        if k not in t:
            return default
        v = t[k]
        if not isinstance(v, bool):
            self.add(where, f"must be true or false, got {type_name(v)} {v!r}")
            return default
        return v

    def strings(self, t: Mapping[str, Any], k: str, key: str) -> tuple[str, ...]:
        where = f"{key}.{k}" if key else k
        if k not in t:
            return ()
        v = t[k]
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in v):
            self.add(where, f"must be a list of strings, got {type_name(v)} {v!r}")
            return ()
        return tuple(str(x) for x in v)


def type_name(v: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array", dict: "table"}.get(type(v), type(v).__name__)


def parse_sources(v: Validator, value: Any, key: str, base_dir: Path) -> tuple[SourceSpec, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        v.add(key, "must name at least one source")
    out: list[SourceSpec] = []
    for n, item in enumerate(items):
        where = key if not isinstance(value, list) else f"{key}[{n}]"
        if isinstance(item, str):
            if item.startswith("chongqing:"):
                if item not in CHONGQING_SOURCES:
                    hint = difflib.get_close_matches(item, list(CHONGQING_SOURCES), n=1)
                    v.add(where, f"unknown built-in source {item!r}" + (f"; did you mean {hint[0]!r}?" if hint
                                                                            else f"; known: {', '.join(CHONGQING_SOURCES)}"))
                    continue
                out.append(SourceSpec(layer=item.split(":", 1)[1], key=where))
                continue
            item = {"path": item}
        if not isinstance(item, dict):
            v.add(where, f"must be a source name, a file path or a table with 'path', got {type_name(item)}")
            continue
        v.keys(item, list(SOURCE_TABLE_KEYS), where)
        path = v.string(item, "path", where)
        if path is None:
            v.add(f"{where}.path", "missing (the file to read)")
            continue
        p = Path(path)
        full = p if p.is_absolute() else (base_dir / p)
        if not full.is_file():
            v.add(f"{where}.path" if isinstance(value, dict) or len(item) > 1 else where,
                  f"file not found: {path} (looked at {full})")
            continue
        opts = tuple((k, item[k]) for k in SOURCE_TABLE_KEYS if k in item and k != "path")
        out.append(SourceSpec(path=full, options=opts, key=where))
    return tuple(out)


