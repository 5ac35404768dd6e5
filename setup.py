"""Build step that ships the repository's data and scenarios inside the wheel.

The repository keeps its layout (``data/geo/``, ``data/example/`` and ``models/`` at the top). A wheel has
no such folders, so :class:`BuildPyWithData` copies them into the built package as ``siting/_shipped/``,
mirroring the repository (``_shipped/data/geo``, ``_shipped/data/example``, ``_shipped/models``) so that the
relative paths inside the scenario files (``../data/example/villages.csv``) resolve there as they do in a
clone. ``siting.geo.shipped`` finds them with :mod:`importlib.resources`. An editable install
(``pip install -e .``) copies nothing: it reads the checkout's folders directly.

Everything else about the package is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent

# repository folder -> folder under siting/_shipped/ in the wheel, and the files taken from it
SHIPPED = (
    ("data/geo", ("*",)),  # every reference file, with its PROVENANCE.md and DERIVED.md
    ("data/example", ("*",)),
    ("models", ("*.toml", "*.md")),
)


def shipped_files() -> list[tuple[Path, str]]:
    """(source file, path relative to ``siting/_shipped``) for every shipped file."""
    out = []
    for folder, patterns in SHIPPED:
        for pattern in patterns:
            for src in sorted((HERE / folder).glob(pattern)):
                if src.is_file() and not src.name.startswith((".", "~")) and src.suffix != ".pyc":
                    out.append((src, f"{folder}/{src.name}"))
    return out


class BuildPyWithData(build_py):
    """``build_py`` that also copies the shipped data and scenarios into ``siting/_shipped``."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's data/ and models/ directly
        files = shipped_files()
        if not any(rel.startswith("data/geo/") for _, rel in files):
            raise SystemExit("setup.py: data/geo/ is missing; cannot build a package without its data")
        root = Path(self.build_lib) / "siting" / "_shipped"
        if root.exists():
            shutil.rmtree(root)
        for src, rel in files:
            dst = root / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        outs = super().get_outputs(include_bytecode)
        if getattr(self, "editable_mode", False):
            return outs
        root = Path(self.build_lib) / "siting" / "_shipped"
        return outs + [str(root / rel) for _, rel in shipped_files()]


setup(cmdclass={"build_py": BuildPyWithData})
