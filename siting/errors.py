"""Deprecated since siting 0.2: ``siting.errors`` moved (see :mod:`siting.deprecated`); the warning names the new import."""

from siting.deprecated import forward

__getattr__ = forward("siting.errors", ["siting.core.errors"])
