"""Deprecated since siting 0.2: ``siting.distance`` moved (see :mod:`siting.deprecated`); the warning names the new import."""

from siting.deprecated import forward

__getattr__ = forward("siting.distance", ["siting.geo.distance", "siting.geo.od"])
