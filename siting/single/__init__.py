"""Floor 5: what single-level models need beyond their formulation.

- :mod:`~siting.single.precheck`: parameter checks and infeasibility visible in the data.
- :mod:`~siting.single.verify`: the independent verifier (numpy only; no code shared with the formulations).
"""

from siting.single.precheck import check_params, precheck
from siting.single.verify import Verdict, verify

__all__ = ["Verdict", "check_params", "precheck", "verify"]
