"""Floor 2: TOML scenario files -> a validated :class:`Scenario` -> a frozen
:class:`~siting.core.network.NetworkProblem`.

- :mod:`~siting.scenario.spec`: the :class:`Scenario` data classes and the volume units.
- :mod:`~siting.scenario.load`: reading the file, comments, ``--set`` overrides.
- :mod:`~siting.scenario.schema`: validation of every table and key (all problems at once, "did you mean").
- :mod:`~siting.scenario.sources`: built-in (``chongqing:...``) and file point sources.
- :mod:`~siting.scenario.build`: demand, tiers, allowed links and rules -> ``NetworkProblem``.
"""

from siting.scenario.build import build_problem
from siting.scenario.load import apply_overrides, load_scenario, parse_value, scenario_comments, with_overrides
from siting.scenario.schema import parse_scenario
from siting.scenario.spec import CHONGQING_SOURCES, VOLUME_UNITS, DemandSpec, Scenario, SourceSpec, TierSpec

__all__ = [
    "CHONGQING_SOURCES", "VOLUME_UNITS", "DemandSpec", "Scenario", "SourceSpec", "TierSpec", "apply_overrides",
    "build_problem", "load_scenario", "parse_scenario", "parse_value", "scenario_comments", "with_overrides",
]
