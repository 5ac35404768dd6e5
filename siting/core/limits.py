"""Bounds on input magnitudes: the one place that says what counts as absurd (cited in error messages).

A value outside these bounds is an input error (exit 2), not a number to optimise with: HiGHS works in double
precision with tolerances around 1e-9 relative, so a weight of 1e308 overflows the objective and a weight of
1e15 next to weights of 1 makes the small ones invisible. The bounds are far above any real planning figure.

==========================  =============  ==================================================================
name                        bound          why this value
==========================  =============  ==================================================================
``MAX_WEIGHT``              1e12           one demand point's weight (persons, parcels/yr, t/yr). China's
                                           whole express volume is ~1.3e11 parcels/yr (2023).
``MAX_TOTAL_WEIGHT``        1e14           sum of all demand weights of a file.
``MAX_CAPACITY``            1e14           one site's capacity (same unit as the weights); blank = unlimited.
``MAX_COST_CNY``            1e12           one site's fixed cost, CNY (per year where annualised); 1e12 CNY
                                           is about 1 % of China's GDP.
``FAR_KM``                  500            a demand point farther than this (great circle) from every
                                           candidate, or a candidate this far from every demand point, is
                                           taken for a wrong coordinate (``--allow-far`` accepts it).
==========================  =============  ==================================================================

Weights, capacities and costs must also be finite and >= 0 (NaN, inf and negative values are errors).
"""

from __future__ import annotations

__all__ = ["MAX_WEIGHT", "MAX_TOTAL_WEIGHT", "MAX_CAPACITY", "MAX_COST_CNY", "FAR_KM", "BOUNDS_DOC"]

MAX_WEIGHT = 1e12
MAX_TOTAL_WEIGHT = 1e14
MAX_CAPACITY = 1e14
MAX_COST_CNY = 1e12
FAR_KM = 500.0

BOUNDS_DOC = "siting.core.limits"  # named in messages: where the bounds and their reasons are written
