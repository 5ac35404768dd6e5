"""Default speeds per road class (km/h), each with its source, and travel times in minutes.

Two vocabularies are understood:

* **China's highway classes** (高速 / 一级 / 二级 / 三级 / 四级, also written 高速公路, 一级公路, ...,
  or ``expressway``, ``class1`` ... ``class4``). Their *design speeds* are set by the national highway
  technical standard **JTG B01-2014** 《公路工程技术标准》, section 3.6 (设计速度), Table 3.6.1:
  高速公路 120 / 100 / 80, 一级公路 100 / 80 / 60, 二级公路 80 / 60, 三级公路 40 / 30, 四级公路 30 / 20 km/h
  (the lower values apply to hilly and mountainous terrain). The default takes the *middle* value where
  the standard lists three and the *lower* value where it lists two, because most of Chongqing is hilly
  or mountainous and trucks run below design speed: the choice within the range is an **assumption**.
* **OpenStreetMap** ``highway=*`` values of the driving network (``motorway`` ... ``service``). OSM has no
  speeds of its own; the defaults are **assumptions**: typical free-flow truck speeds, aligned with the
  Chinese classes (motorway = 高速, trunk = 一级, primary = 二级, secondary/tertiary = 三级 or lower,
  minor roads = 四级) and with China's urban speed limits for residential/service roads.

Every default can be overridden (``speeds={"三级": 35, "track": 10}``); a per-line speed column wins
over the class table. :data:`DEFAULT_SPEEDS` maps each class to ``(speed_kmh, source)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["DEFAULT_SPEEDS", "normalise_class", "speed_table", "travel_time_min"]

_JTG = "JTG B01-2014 Table 3.6.1 design speed"

DEFAULT_SPEEDS: dict[str, tuple[float, str]] = {
    # China's highway classes (JTG B01-2014)
    "高速": (100.0, f"{_JTG} 120/100/80 km/h; middle value chosen (assumption)"),
    "一级": (80.0, f"{_JTG} 100/80/60 km/h; middle value chosen (assumption)"),
    "二级": (60.0, f"{_JTG} 80/60 km/h; lower (hilly/mountain) value chosen (assumption)"),
    "三级": (30.0, f"{_JTG} 40/30 km/h; lower (hilly/mountain) value chosen (assumption)"),
    "四级": (20.0, f"{_JTG} 30/20 km/h; lower (hilly/mountain) value chosen (assumption)"),
    "等外": (15.0, "below class 四级 (等外公路): no design speed in JTG B01-2014; assumption"),
    # OpenStreetMap highway=* (assumptions, aligned with the classes above)
    "motorway": (100.0, "assumption: as 高速"),
    "motorway_link": (50.0, "assumption: ramps, half of motorway"),
    "trunk": (80.0, "assumption: as 一级"),
    "trunk_link": (40.0, "assumption: ramps, half of trunk"),
    "primary": (60.0, "assumption: as 二级"),
    "primary_link": (30.0, "assumption: ramps, half of primary"),
    "secondary": (40.0, "assumption: between 二级 and 三级"),
    "secondary_link": (30.0, "assumption: ramps"),
    "tertiary": (30.0, "assumption: as 三级"),
    "tertiary_link": (25.0, "assumption: ramps"),
    "unclassified": (20.0, "assumption: as 四级"),
    "road": (20.0, "assumption: as 四级 (class unknown to the mapper)"),
    "residential": (20.0, "assumption: urban residential streets, China's 20-30 km/h zones"),
    "living_street": (10.0, "assumption: walking-pace shared street"),
    "service": (15.0, "assumption: access and yard roads"),
    "track": (10.0, "assumption: unpaved farm/forest track"),
    "services": (15.0, "assumption: motorway service-area roads, as service"),
    "rest_area": (15.0, "assumption: rest-area roads, as service"),
    "busway": (30.0, "assumption: bus-only road, as tertiary"),
    "emergency_bay": (15.0, "assumption: as service"),
    "escape": (15.0, "assumption: runaway-truck ramp, as service"),
}

_ALIASES = {
    "高速公路": "高速", "expressway": "高速", "一级公路": "一级", "class1": "一级", "1级": "一级",
    "二级公路": "二级", "class2": "二级", "2级": "二级", "三级公路": "三级", "class3": "三级", "3级": "三级",
    "四级公路": "四级", "class4": "四级", "4级": "四级", "等外公路": "等外",
}


def normalise_class(name: object) -> str | None:
    """The table key for a road-class value (``"一级公路"`` -> ``"一级"``, ``" Primary "`` -> ``"primary"``).

    ``None``, NaN and empty strings give ``None`` (no class).
    """
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return None
    text = str(name).strip()
    if not text or text.lower() in ("nan", "none"):
        return None
    low = text.lower()
    return _ALIASES.get(low, _ALIASES.get(text, low if low in DEFAULT_SPEEDS else text))


def speed_table(overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The class -> km/h table: :data:`DEFAULT_SPEEDS` with ``overrides`` applied (keys normalised).

    Raises
    ------
    ValueError
        An override that is not a positive finite number.
    """
    table = {k: v for k, (v, _src) in DEFAULT_SPEEDS.items()}
    for key, value in (overrides or {}).items():
        v = float(value)
        if not np.isfinite(v) or v <= 0:
            raise ValueError(f"speed for road class {key!r} must be a positive number of km/h, got {value!r}")
        table[normalise_class(key) or str(key)] = v
    return table


def travel_time_min(length_km: np.ndarray, speed_kmh: np.ndarray) -> np.ndarray:
    """Travel time in minutes of ``length_km`` at ``speed_kmh`` (arrays broadcast)."""
    return np.asarray(length_km, dtype=np.float64) / np.asarray(speed_kmh, dtype=np.float64) * 60.0
