"""Old import paths, kept for one release (0.2) with a :class:`DeprecationWarning`.

Before 0.2 the package was one flat namespace (``siting.problem``, ``siting.solve``,
``siting.formulations.fast``, ...). Each old module is now a stub whose attributes are looked up, on first
use, in the modules that own them today; the warning names the new import. See the README's "Layout".
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["forward"]


def forward(old: str, new_modules: Sequence[str]) -> Callable[[str], Any]:
    """A module-level ``__getattr__`` for the old module ``old`` that finds each name in ``new_modules``.

    Parameters
    ----------
    old
        Dotted name of the old module (for the message).
    new_modules
        Dotted names of the modules to search, in order.
    """

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        for mod_name in new_modules:
            mod = importlib.import_module(mod_name)
            if hasattr(mod, name):
                warnings.warn(f"{old}.{name} is deprecated and goes in siting 0.3; "
                              f"use: from {mod_name} import {name}", DeprecationWarning, stacklevel=2)
                return getattr(mod, name)
        raise AttributeError(f"module {old!r} has no attribute {name!r}")

    return __getattr__
