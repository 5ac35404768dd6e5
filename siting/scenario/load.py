from __future__ import annotations

import copy
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from siting.core.errors import Defect, DefectCollector, ScenarioError
from siting.scenario.spec import Scenario
from siting.scenario.schema import parse_scenario


class ScenarioWarning(UserWarning):
    """A scenario that is valid but probably not what its author meant (e.g. a misspelt tier name)."""


def scenario_comments(text: str) -> dict[str, str]:
    """Dotted key -> trailing comment (or the comment lines just above) for each ``key = value`` line.

    Only simple ``key = value`` lines are read (not multi-line arrays' items); table headers set the prefix.
    """
    out: dict[str, str] = {}
    prefix = ""
    above: list[str] = []
    for line in text.splitlines():
        s = line.strip()
        if not s:
            above = []
            continue
        if s.startswith("#"):
            above.append(s.lstrip("#").strip())
            continue
        m = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$", s)
        if m:
            prefix = ".".join(p.strip().strip('"') for p in m.group(1).split("."))
            above = []
            continue
        m = re.match(r'^([A-Za-z0-9_\-."]+)\s*=\s*(.*)$', s)
        if m:
            key = ".".join(p.strip().strip('"') for p in m.group(1).split("."))
            rest = m.group(2)
            comment = ""
            # a trailing comment: the last '#' outside quotes
            in_str, quote = False, ""
            for k, ch in enumerate(rest):
                if ch in "\"'" and (not in_str or ch == quote):
                    in_str, quote = (not in_str), ch
                elif ch == "#" and not in_str:
                    comment = rest[k + 1 :].strip()
                    break
            if not comment and above:
                comment = " ".join(above)
            if comment:
                out[f"{prefix}.{key}" if prefix else key] = comment
        above = []
    return out


def parse_value(text: str) -> Any:
    """A ``--set`` value: a TOML value (number, bool, string, array, inline table), else the raw string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: Mapping[str, Any], overrides: Mapping[str, Any], *, file: str = "<scenario>") -> dict[str, Any]:
    """A deep copy of ``raw`` with each dotted key of ``overrides`` set (tables created as needed).

    Unknown keys are left to validation, which reports them with a suggestion.
    """
    out = copy.deepcopy(dict(raw))
    found = DefectCollector(file)
    for key, value in overrides.items():
        parts = [p for p in str(key).split(".")]
        if not all(parts):
            found.add(f"--set {key!r}: not a dotted key", row=str(key))
            continue
        node: Any = out
        ok = True
        for p in parts[:-1]:
            if isinstance(node, dict):
                node = node.setdefault(p, {})
            else:
                ok = False
                break
        if not ok or not isinstance(node, dict):
            found.add(f"--set {key!r}: {'.'.join(parts[:-1])} is not a table", row=str(key))
            continue
        node[parts[-1]] = parse_value(value) if isinstance(value, str) and value and _looks_literal(value) else value
    found.raise_if_any(ScenarioError)
    return out


def _looks_literal(s: str) -> bool:
    return bool(re.match(r"^\s*([-+]?[0-9.]|true|false|inf|nan|\[|\{|\")", s))


def load_scenario(path: str | Path, *, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read, override and validate a scenario file.

    Raises
    ------
    ScenarioError
        Every defect at once, one line each (file, dotted key, message).
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(Defect("scenario file not found", str(p)))
    text = p.read_bytes().decode("utf-8", errors="replace")
    text = text.removeprefix("\ufeff")  # a UTF-8 byte-order mark (Windows Notepad) is not TOML: drop it
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(Defect(f"not valid TOML: {exc}", str(p))) from None
    if overrides:
        raw = apply_overrides(raw, overrides, file=str(p))
    scen = parse_scenario(raw, path=p, base_dir=p.resolve().parent, comments=scenario_comments(text),
                          overrides=overrides)
    _emit(scen.warnings, text, p)
    return scen


def _emit(found: tuple[str, ...], text: str, path: Path) -> None:
    """Issue each validation warning as a :class:`ScenarioWarning` pointing at its tier's line in the file."""
    import warnings

    for msg in found:
        m = re.search(r"tiers\.([^:]+):", msg)
        line = 1
        if m:
            for k, s in enumerate(text.splitlines(), start=1):
                if re.match(rf"^\s*\[\s*tiers\.\"?{re.escape(m.group(1))}\"?\s*\]", s):
                    line = k
                    break
        text_ = msg.removeprefix(f"{path}, ")  # the warning shows the file and line itself
        warnings.warn_explicit(text_, ScenarioWarning, str(path), line, module="siting.scenario")


def with_overrides(scen: Scenario, overrides: Mapping[str, Any] | None) -> Scenario:
    """A re-validated copy of ``scen`` with dotted-key overrides applied."""
    if not overrides:
        return scen
    raw = apply_overrides(scen.raw, overrides, file=str(scen.path) if scen.path else "<scenario>")
    return parse_scenario(raw, path=scen.path, base_dir=scen.base_dir, comments=scen.comments,
                          overrides={**scen.overrides, **overrides})
