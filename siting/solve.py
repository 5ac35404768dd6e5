"""Deprecated since siting 0.2: ``siting.solve`` moved (see :mod:`siting.deprecated`); the warning names the new import."""

from siting.deprecated import forward

__getattr__ = forward("siting.solve", ["siting.core.options", "siting.solvers.pyomo"])
