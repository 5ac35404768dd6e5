"""Where the shipped data and scenarios are: installed package data, or the source checkout.

A wheel carries the repository's ``data/geo/``, ``data/example/`` and ``models/`` as package data under
``siting/_shipped/`` (copied by ``setup.py``; the layout mirrors the repository, so the relative paths in the
scenario files resolve the same way). A clone or an editable install reads the checkout's folders directly.
Lookup order for the Chongqing reference data (:func:`default_data_dir`):

1. the environment variable ``SITING_DATA_DIR`` (a folder with the ``data/geo`` files), if set;
2. the installed package data (``siting/_shipped/data/geo``, found with :mod:`importlib.resources`);
3. the source checkout's ``data/geo/`` (editable install, or running from a clone).

Shipped scenarios (``models/*.toml``) are found the same way (2, then 3): :func:`shipped_scenarios` lists
them, :func:`find_scenario` turns a name such as ``chongqing-express`` into its file, and
:func:`copy_scenario` copies one into a folder for editing, with the files it reads.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from siting.core.errors import Defect, DefectCollector, ScenarioError

__all__ = [
    "DATA_DIR_ENV",
    "ShippedScenario",
    "copy_scenario",
    "default_data_dir",
    "find_scenario",
    "resource_roots",
    "shipped_scenarios",
]

DATA_DIR_ENV = "SITING_DATA_DIR"


def _package_root() -> Path | None:
    """``siting/_shipped`` of an installed (non-editable) package, if present on the file system."""
    try:
        root = resources.files("siting").joinpath("_shipped")
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - siting is always importable here
        return None
    return Path(str(root)) if root.is_dir() and Path(str(root)).is_dir() else None


def _checkout_root() -> Path | None:
    """The repository root when running from a clone or an editable install (it has data/geo and models)."""
    root = Path(__file__).resolve().parents[2]
    return root if (root / "data" / "geo").is_dir() and (root / "models").is_dir() else None


def resource_roots() -> list[Path]:
    """Folders holding ``data/geo``, ``data/example`` and ``models``, in lookup order (package, checkout)."""
    return [r for r in (_package_root(), _checkout_root()) if r is not None]


def default_data_dir() -> Path:
    """The folder of the Chongqing reference files: ``$SITING_DATA_DIR``, else the installed package data,
    else the checkout's ``data/geo/`` (see the module docstring). When none exists the checkout path is
    returned, and loading reports it as not found."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    for root in resource_roots():
        if (root / "data" / "geo").is_dir():
            return root / "data" / "geo"
    return Path(__file__).resolve().parents[2] / "data" / "geo"


@dataclass(frozen=True)
class ShippedScenario:
    """One scenario file that ships with ``siting``: ``name`` (the file stem), its ``[scenario]`` name and
    description, and the file's ``path``."""

    name: str
    title: str
    description: str
    path: Path


def shipped_scenarios() -> list[ShippedScenario]:
    """The shipped scenario files (``models/*.toml``), sorted by name; the first root holding one wins."""
    seen: dict[str, ShippedScenario] = {}
    for root in resource_roots():
        for p in sorted((root / "models").glob("*.toml")):
            if p.stem in seen:
                continue
            try:
                sc = tomllib.loads(p.read_bytes().decode("utf-8-sig")).get("scenario", {})
            except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
                sc = {}
            sc = sc if isinstance(sc, dict) else {}
            seen[p.stem] = ShippedScenario(p.stem, str(sc.get("name", p.stem)), str(sc.get("description", "")), p)
    return sorted(seen.values(), key=lambda s: s.name)


def find_scenario(name_or_path: str | Path) -> Path:
    """A scenario file: ``name_or_path`` itself if it is a file, else the shipped scenario of that name
    (file stem or ``[scenario] name``, with or without ``.toml``).

    Raises
    ------
    ScenarioError
        Neither a file nor a shipped scenario; the message lists the shipped ones.
    """
    p = Path(name_or_path).expanduser()
    if p.is_file():
        return p
    key = p.name.removesuffix(".toml")
    shipped = shipped_scenarios()
    if str(name_or_path) == p.name or p.parent == Path("models"):  # a bare name (or models/NAME.toml)
        for s in shipped:
            if key in (s.name, s.title):
                return s.path
    names = ", ".join(s.name for s in shipped) or "none found"
    what = "is a folder, not a scenario file" if p.is_dir() else "scenario file not found"
    raise ScenarioError(Defect(f"{what}; give a TOML file or the name of a shipped scenario ({names}; "
                               "see `siting scenarios`)", str(name_or_path)))


def _file_refs(node: Any, base: Path, root: Path) -> set[str]:
    """String values of a scenario that name a file or folder under ``root`` (relative to ``base``)."""
    out: set[str] = set()
    if isinstance(node, dict):
        for v in node.values():
            out |= _file_refs(v, base, root)
    elif isinstance(node, list):
        for v in node:
            out |= _file_refs(v, base, root)
    elif isinstance(node, str) and node and not node.startswith("chongqing:") and not Path(node).is_absolute():
        try:
            full = (base / node).resolve()
        except (OSError, ValueError):
            return out
        if full.exists() and full.is_relative_to(root.resolve()) and full != base.resolve():
            out.add(node)
    return out


def copy_scenario(name: str, dest: str | Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the shipped scenario ``name`` into folder ``dest`` for editing, with the files it reads.

    The TOML file lands at ``dest/<name>.toml``; each file it references by a relative path (say
    ``../data/example/villages.csv``) is copied to ``dest/`` under its path in the repository
    (``data/example/villages.csv``) and the reference is rewritten to match, comments kept.
    ``chongqing:`` sources need no copy: they read the installed reference data wherever the copy lives.

    Returns
    -------
    list of Path
        The files written, the scenario first.

    Raises
    ------
    ScenarioError
        Unknown name, ``dest`` is a file, or a target file exists and ``overwrite`` is false (nothing is
        written then).
    """
    shipped = shipped_scenarios()
    key = name.removesuffix(".toml")
    src = next((s.path for s in shipped if key in (s.name, s.title)), None)
    if src is None:
        names = ", ".join(s.name for s in shipped) or "none found"
        raise ScenarioError(Defect(f"not a shipped scenario; use one of {names} (see `siting scenarios`)", name))
    root = src.parent.parent
    text = src.read_bytes().decode("utf-8-sig")
    refs = sorted(_file_refs(tomllib.loads(text), src.parent, root))
    out = Path(dest).expanduser()
    found = DefectCollector(str(out))
    if out.exists() and not out.is_dir():
        found.add("exists and is not a folder")
        found.raise_if_any(ScenarioError)
    plan: list[tuple[Path, Path]] = [(src, out / src.name)]
    for ref in refs:
        full = (src.parent / ref).resolve()
        rel = full.relative_to(root.resolve())
        new = rel.as_posix()
        for q in ('"', "'"):
            text = text.replace(f"{q}{ref}{q}", f"{q}{new}{q}")
        files = sorted(f for f in full.rglob("*") if f.is_file()) if full.is_dir() else [full]
        plan += [(f, out / f.relative_to(root.resolve())) for f in files]
    for _, dst in plan:
        if dst.exists() and not overwrite:
            found.add(f"{dst.name} exists already (pass --overwrite to replace it)", file=str(dst))
    found.raise_if_any(ScenarioError)
    for f, dst in plan:
        dst.parent.mkdir(parents=True, exist_ok=True)
        if f == src:
            dst.write_text(text, encoding="utf-8")
        else:
            shutil.copyfile(f, dst)
    return [dst for _, dst in plan]
