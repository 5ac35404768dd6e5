"""Floor 3: the HiGHS driver, one contract for two routes.

- :mod:`~siting.solvers.highs`: the matrix route: compile a linear Pyomo model (including
  :class:`~siting.model.matrix.MatrixRows` blocks) to numpy arrays and pass them to ``highspy`` in one call,
  with warm starts (:func:`solve_to_info`, :func:`run_highs`).
- :mod:`~siting.solvers.pyomo`: the ``pyomo.contrib.solver`` route (:func:`solve_pyomo`).
- :mod:`~siting.solvers.status`: the one status table both routes read.

Both return a :class:`~siting.core.results.SolveInfo` and load the incumbent into the model's variables.
"""

from siting.solvers.highs import compile_model, run_highs, solve_to_info
from siting.solvers.pyomo import solve_pyomo

__all__ = ["compile_model", "run_highs", "solve_pyomo", "solve_to_info"]
