"""siting: facility-location optimisation on real geodata.

Data flows straight through: files -> validated GeoDataFrames (:mod:`siting.geo`)
-> sparse distances (:mod:`siting.geo.distance`) -> a frozen :class:`~siting.core.problem.Problem`
-> Pyomo formulation (:mod:`siting.model`) -> HiGHS (:mod:`siting.solvers.pyomo`)
-> :class:`~siting.core.results.Result` -> independent check (:mod:`siting.single.verify`)
-> tables, GeoPackage, map and report (:mod:`siting.outputs`).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("siting")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
