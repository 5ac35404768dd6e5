"""Floor 5: what the multi-tier model needs beyond its formulation.

- :mod:`~siting.network.precheck`: infeasibility visible in the data, named before solving.
- :mod:`~siting.network.start`: warm start (LP rounding, repair) and the solve from the LP.
- :mod:`~siting.network.polish`: local search over open sets, priced by the cheapest tree.
- :mod:`~siting.network.lagrangian`: Lagrangian bound and route for express-type networks too large for the
  strong MIP (one site per group on the upper tiers).
- :mod:`~siting.network.verify`: the independent verifier of a multi-tier answer.
- :func:`cheapest_tree` (from :mod:`siting.model.tree`): the cheapest assignment tree of given open sets.
"""

from siting.model.tree import cheapest_tree
from siting.network.polish import polish_open_sets, tree_cost
from siting.network.precheck import precheck_network
from siting.network.start import solve_escalating
from siting.network.verify import NetworkCheck, network_costs, verify_network

__all__ = ["NetworkCheck", "cheapest_tree", "network_costs", "polish_open_sets", "precheck_network",
           "solve_escalating", "tree_cost", "verify_network"]

# Before 0.2, ``siting.network`` held the multi-tier data classes; they live in :mod:`siting.core.network`.
from siting.deprecated import forward as _forward  # noqa: E402

__getattr__ = _forward("siting.network", ["siting.core.network"])
