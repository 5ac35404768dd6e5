"""Deprecated since siting 0.2: ``siting.verify_network`` moved (see :mod:`siting.deprecated`); the warning names the new import."""

from siting.deprecated import forward

__getattr__ = forward("siting.verify_network", ["siting.network.verify"])
