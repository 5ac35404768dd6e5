"""Everything a GIS user opens: GeoPackage, CSV, summary, self-contained map and report.

Pipelines call :func:`prepare_out_dir` before solving (to refuse a bad destination early) and
:func:`write_run` after; see :mod:`siting.outputs.tables` for the outputs contract.
"""

from siting.outputs.tables import FrameContractError, prepare_out_dir, validate_frames, write_run

__all__ = ["FrameContractError", "prepare_out_dir", "validate_frames", "write_run"]
