"""Floor 9: grids of runs and budget frontiers (local processes or Dask).

- :mod:`~siting.sweep.runner`: :func:`run_sweep`, :func:`plan_runs`, :func:`sweep_grid`.
- :mod:`~siting.sweep.grid`: the grid (``--set`` values, ``[sweep]`` tables) and run ids.
- :mod:`~siting.sweep.executors`: serial, local processes, Dask.
- :mod:`~siting.sweep.table`, :mod:`~siting.sweep.plot`: ``sweep.csv`` and trade-off charts.
- :mod:`~siting.sweep.frontier`: maximum coverage per budget (epsilon-constraint).
"""

from siting.sweep.grid import SweepGrid, parse_set, parse_values
from siting.sweep.runner import MARKER, plan_runs, run_sweep, sweep_grid

__all__ = ["MARKER", "SweepGrid", "parse_set", "parse_values", "plan_runs", "run_sweep", "sweep_grid"]
