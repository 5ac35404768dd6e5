"""ArcGIS-style distance decay (impedance transformation) for the weighted-distance models.

ArcGIS Network Analyst's location–allocation applies one *impedance transformation* with a parameter
``beta`` (its "impedance parameter") in two ways, and so does :mod:`siting`:

* **Minimising models** (p-median, UFLP, CFLP) replace the distance ``d`` in the objective coefficient
  ``w_i * d_ij`` by the transformed impedance ``t(d)``:

  ========== =====================
  linear     ``t(d) = beta * d``
  power      ``t(d) = d ** beta``
  exponential ``t(d) = exp(beta * d)``
  ========== =====================

  so ``beta > 1`` in ``power`` penalises long trips more than short ones (ArcGIS "Minimize Impedance"
  with a transformation).

* **Maximise attendance** (model ``attendance``) weights the demand that a facility attracts by the decay
  factor ``g(d)`` in ``[0, 1]`` (ArcGIS "Maximize Attendance"):

  ========== ==============================================
  linear     ``g(d) = max(0, 1 - d / cutoff_km)``
  power      ``g(d) = max(d, 1 km) ** -beta`` (trips under 1 km count as 1 km, so ``g <= 1``)
  exponential ``g(d) = exp(-beta * d)``
  ========== ==============================================

  ``d`` is in km. ``cutoff_km`` is needed by the linear decay only; pairs with ``g(d) = 0`` are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from siting.core.errors import ScenarioError

__all__ = ["Decay", "DECAY_KINDS"]

DECAY_KINDS = ("linear", "power", "exponential")


@dataclass(frozen=True)
class Decay:
    """An impedance transformation / distance decay.

    Parameters
    ----------
    kind
        ``"linear"``, ``"power"`` or ``"exponential"``.
    beta
        The impedance parameter (``> 0``); for ``linear`` in :meth:`transform` a scale factor.
    cutoff_km
        Distance at which linear decay reaches zero (needed for ``kind="linear"`` in :meth:`factor`).
    """

    kind: str
    beta: float = 1.0
    cutoff_km: float | None = None

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in DECAY_KINDS:
            problems.append(f"decay kind must be one of {', '.join(DECAY_KINDS)}, got {self.kind!r}")
        if not (isinstance(self.beta, (int, float)) and np.isfinite(self.beta) and self.beta > 0):
            problems.append(f"decay beta must be a finite number > 0, got {self.beta!r}")
        if self.cutoff_km is not None and not (np.isfinite(self.cutoff_km) and self.cutoff_km > 0):
            problems.append(f"decay cutoff_km must be a finite number > 0, got {self.cutoff_km!r}")
        if problems:
            raise ScenarioError(problems)

    def transform(self, distance_km: np.ndarray) -> np.ndarray:
        """Transformed impedance ``t(d)`` for minimising models (see the module docstring)."""
        d = np.asarray(distance_km, dtype=np.float64)
        if self.kind == "linear":
            return self.beta * d
        if self.kind == "power":
            return d**self.beta
        return np.exp(self.beta * d)

    def factor(self, distance_km: np.ndarray) -> np.ndarray:
        """Decay factor ``g(d)`` in ``[0, 1]`` for maximise-attendance (see the module docstring)."""
        d = np.asarray(distance_km, dtype=np.float64)
        if self.kind == "linear":
            if self.cutoff_km is None:
                raise ScenarioError("linear decay needs cutoff_km (the distance where attendance reaches 0)")
            return np.maximum(0.0, 1.0 - d / self.cutoff_km)
        if self.kind == "power":
            return np.maximum(d, 1.0) ** (-self.beta)
        return np.exp(-self.beta * d)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "beta": float(self.beta), "cutoff_km": self.cutoff_km}

    @classmethod
    def parse(cls, value: Any) -> Decay | None:
        """Accept ``None``, a :class:`Decay`, a dict, or a string ``"kind[:beta[:cutoff_km]]"``."""
        if value is None or isinstance(value, Decay):
            return value
        if isinstance(value, dict):
            return cls(**value)
        parts = str(value).split(":")
        try:
            beta = float(parts[1]) if len(parts) > 1 and parts[1] else 1.0
            cutoff = float(parts[2]) if len(parts) > 2 and parts[2] else None
        except ValueError:
            raise ScenarioError(f"decay must look like kind[:beta[:cutoff_km]], got {value!r}") from None
        return cls(parts[0].strip().lower(), beta, cutoff)
