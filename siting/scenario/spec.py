from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


#: supported volume units: singular (in ``..._per_<unit>``) -> plural (in ``<units>_per_...``)
VOLUME_UNITS = {"parcel": "parcels", "t": "t", "unit": "units", "pallet": "pallets", "trip": "trips"}


#: the built-in Chongqing layers
CHONGQING_SOURCES = ("chongqing:townships", "chongqing:unit_seats", "chongqing:district_seats", "chongqing:logistics")


@dataclass(frozen=True)
class SourceSpec:
    """One point source: a built-in layer (``layer``) or a user file (``path`` + column names)."""

    layer: str | None = None
    path: Path | None = None
    options: tuple[tuple[str, Any], ...] = ()
    key: str = ""  # dotted key, for messages

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)

    def describe(self) -> str:
        return self.layer if self.layer else str(self.path)


@dataclass(frozen=True)
class DemandSpec:
    """One demand component (consumption, a farm product, ...)."""

    name: str
    sources: tuple[SourceSpec, ...]
    per_person: float | None = None  # volume per person per year
    per_point: tuple[tuple[str, float], ...] | None = None  # (point name or id, volume per year)
    per_weight_unit: float | None = None  # multiplier of the file's weight column
    growth_rate_per_year: float = 0.0  # compound annual growth of the volumes (0.12 = 12 %/yr)
    base_year: int | None = None  # the year the volumes describe

    def growth_factor(self, year: int | None) -> float:
        """Volume multiplier ``(1 + growth_rate_per_year) ** (year - base_year)``; 1 without a year."""
        if year is None or self.base_year is None:
            return 1.0
        return (1.0 + self.growth_rate_per_year) ** (year - self.base_year)


@dataclass(frozen=True)
class TierSpec:
    """One tier of the scenario (top first)."""

    name: str
    sources: tuple[SourceSpec, ...]
    fixed_cost_cny_per_year: float = 0.0
    handling_cost_cny_per_unit: float = 0.0
    transport_cost_cny_per_unit_km: float = 0.0
    capacity_per_year: float = math.inf
    radius_km: float = math.inf
    radius_min: float = math.inf
    link_same: str | None = None
    required: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    count: tuple[str, int] | None = None  # (sense, value)
    count_per: tuple[str, str, int, tuple[str, ...]] | None = None  # (by, sense, value, groups)
    gateway: tuple[tuple[str, ...], tuple[str, ...], float, SourceSpec] | None = None  # categories, ids, radius_km, source
    gateway_radius_min: float = math.inf  # gateway access by travel time, minutes (needs times: network or OD)
    max_road_hours: float = math.inf  # cold chain: a link serving this tier takes at most this long on the road, h
    shortlist: tuple[str, int] | None = None  # (group, n): keep the n most populous candidates per group


@dataclass(frozen=True)
class NetworkSpec:
    """The ``[network]`` table: a road network, its speeds and snapping, and what unlisted pairs fall back to.

    ``roads`` is a road file (OSM ``.osm.pbf`` or a line layer) or ``None`` (only an OD matrix and/or the
    circuity estimate); ``fallback`` says what a pair that neither the OD matrix nor the network gives gets:
    ``"error"`` (no such pair; a tier left without any pair is reported) or ``"circuity"`` (great-circle x the
    scenario's circuity). ``speed_kmh`` turns a circuity distance into a time (needed when a tier limits
    minutes and some pairs fall back).
    """

    roads: Path | None = None
    speeds_kmh: tuple[tuple[str, float], ...] = ()
    snap_max_km: float = 2.0
    fallback: str = "error"
    speed_kmh: float | None = None
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario (build the problem with :func:`build_problem`).

    ``raw`` is the resolved TOML dict (``overrides``, the dotted-key overrides, applied); ``comments`` maps
    dotted keys to the comment written next to them in the file (their source or "assumption").
    """

    name: str
    path: Path | None
    base_dir: Path
    raw: Mapping[str, Any]
    description: str = ""
    structure: str = "2024"
    data_dir: Path | None = None
    volume_unit: str = "unit"
    circuity: float = 1.0  # the constant factor; with circuity_mode "measured" the all-pair median (1.67)
    circuity_mode: str = "constant"  # "constant" | "measured" (district factors, siting.geo.circuity)
    circuity_path: Path | None = None  # the measured factor table (None: the shipped one)
    circuity_rule: str = "mean"  # how the two ends' district factors make a pair's factor
    od_matrix: Path | None = None
    network: NetworkSpec | None = None
    single_sourcing: bool = True
    colocation: bool = True
    objective: str = "cost"
    budget_cny_per_year: float = math.inf
    budget_scope: str = "total"
    solver: Mapping[str, Any] = field(default_factory=dict)
    year: int | None = None  # planning year: demand components grow to it from their base_year
    allow_far: bool = False  # accept points > FAR_KM from every point of the other side (siting.geo.far)
    demand: tuple[DemandSpec, ...] = ()
    tiers: tuple[TierSpec, ...] = ()
    comments: Mapping[str, str] = field(default_factory=dict)
    overrides: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # non-fatal findings of validation (e.g. a tier name close to a known one)

    @property
    def units(self) -> str:
        return VOLUME_UNITS[self.volume_unit]

    @property
    def weight_unit(self) -> str:
        return f"{self.units}/yr"

    def solver_options(self, default: Any) -> Any:
        """``default`` (a :class:`~siting.core.options.SolverOptions`) updated with the ``[solver]`` table."""
        from dataclasses import replace

        mapping = {"time_limit_s": "time_limit_s", "mip_rel_gap": "mip_rel_gap", "threads": "threads", "seed": "seed"}
        out = replace(default, **{mapping[k]: v for k, v in self.solver.items() if k in mapping})
        extra = {k: v for k, v in self.solver.items() if k not in mapping}  # raw HiGHS options
        return replace(out, extra={**out.extra, **extra}) if extra else out

    def default_out_dir(self) -> Path:
        """``maps/<scenario-name>/`` under the current directory."""
        return Path("maps") / self.name

    def uses_chongqing(self) -> bool:
        srcs = [s for d in self.demand for s in d.sources] + [s for t in self.tiers for s in t.sources]
        return any(s.layer for s in srcs)

    def boundaries(self) -> Any:
        """District polygons for the map when the scenario uses the Chongqing layers, else ``None``."""
        if not self.uses_chongqing():
            return None
        import siting.geo as geo

        d = geo.load_districts(data_dir=self.data_dir, structure=self.structure)
        return d[["adcode", "name_zh", "region", "geometry"]]

    def assumptions(self) -> dict[str, str]:
        """Dotted key -> comment (source or "assumption") for every commented parameter."""
        return dict(self.comments)
