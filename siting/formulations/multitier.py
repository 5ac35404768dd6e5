"""Deprecated since siting 0.2: ``siting.formulations.multitier`` moved (see :mod:`siting.deprecated`); the warning names the new import."""

from siting.deprecated import forward

__getattr__ = forward("siting.formulations.multitier", ["siting.model.multitier"])
