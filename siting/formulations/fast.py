"""Deprecated since siting 0.2: ``siting.formulations.fast`` moved (see :mod:`siting.deprecated`); the warning names the new import."""

from siting.deprecated import forward

__getattr__ = forward("siting.formulations.fast", ["siting.algorithms.pmedian", "siting.algorithms.warehouse", "siting.algorithms.heuristics", "siting.algorithms.lagrangian", "siting.model.levels", "siting.model.radius", "siting.model.split_plant", "siting.solvers.highs"])
