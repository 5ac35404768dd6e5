"""Floor 4: exact methods that drive a solver (they build models from :mod:`siting.model` and solve them
with :mod:`siting.solvers`).

- :mod:`~siting.algorithms.pmedian`: p-median entry point (``solve_pmedian``, which picks the method by
  problem shape) and the radius formulation's description;
  :mod:`~siting.algorithms.radius`: the radius (distinct-distance) solver, widened until proven;
  :mod:`~siting.algorithms.benders` + :mod:`~siting.algorithms.benders_cuts`: Benders decomposition of
  Elloumi's formulation with linear-time cut separation;
  :mod:`~siting.algorithms.heuristics` (greedy + vertex substitution) and
  :mod:`~siting.algorithms.lagrangian` (bound and reduced-cost fixing) serve both.
- :mod:`~siting.algorithms.warehouse`: UFLP and CFLP (split demand), with
  :mod:`~siting.algorithms.warehouse_bound` (Lagrangian) and :mod:`~siting.algorithms.warehouse_heuristic`.
- :mod:`~siting.algorithms.center`: p-center by bisection over the distinct distances.
"""

from siting.algorithms.center import p_center_bisection
from siting.algorithms.pmedian import solve_pmedian
from siting.algorithms.warehouse import solve_cflp, solve_uflp

__all__ = ["p_center_bisection", "solve_cflp", "solve_pmedian", "solve_uflp"]
