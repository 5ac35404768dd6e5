"""The scenario pipeline: scenario file -> NetworkProblem -> precheck -> model -> HiGHS -> verify -> outputs.

:func:`run_scenario` is what ``siting run`` and the sweep call; :func:`solve_network` solves an already
built :class:`~siting.core.network.NetworkProblem` (tests, notebooks).

Steps of :func:`run_scenario`: validate the scenario (:mod:`siting.scenario`, overrides applied), refuse a bad
output directory, build the :class:`~siting.core.network.NetworkProblem` (data, gateway filter, shortlist, sparse
links), refuse a model too large for the memory, report every infeasibility visible in the data at once
(:mod:`siting.network.precheck`), build the model (:mod:`siting.model.multitier`) and solve it with
HiGHS; if HiGHS proves infeasibility, re-solve relaxing one constraint family at a time and name the
families at fault; if it stops early (time limit) on an uncapacitated cost model, polish the incumbent by
local search (:mod:`siting.network.polish`, at most 20 s; the bound stays HiGHS's); check the solution
with the independent verifier (:mod:`siting.network.verify`) and write the outputs with
:func:`siting.outputs.write_run` (summary, GeoPackage, map, report, manifest).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from siting.network.precheck import precheck_network
from siting.core.errors import Defect, InfeasibleError, SolverError
from siting.core.network import NetworkProblem, NetworkResult
from siting.core.results import TerminationCondition
from siting.solvers.highs import compile_model, solve_to_info
from siting.core.options import SolverOptions, relative_gap
from siting.network.verify import NetworkCheck, network_costs, verify_network

__all__ = ["RunOutcome", "solve_network", "diagnose_infeasible", "run_scenario", "result_tables", "DEFAULT_OPTIONS"]

#: solver options of ``siting run`` unless the scenario's ``[solver]`` table or the caller says otherwise
DEFAULT_OPTIONS = SolverOptions(time_limit_s=300.0, mip_rel_gap=1e-4)

_INFEASIBLE = (TerminationCondition.INFEASIBLE, TerminationCondition.INFEASIBLE_OR_UNBOUNDED)

_FAMILY_TEXT = {
    "counts": "the facility counts per tier / per group",
    "required": "the required sites",
    "capacity": "the capacities",
    "budget": "the budget",
    "colocation": "the no-co-location rule",
    "assignment": "serving every demand point (radii and links leave some demand unservable together with the other rules)",
}


def solve_network(
    problem: NetworkProblem,
    *,
    options: SolverOptions = SolverOptions(),
    precheck: bool = True,
    diagnose: bool = True,
    log: Callable[[str], None] | None = None,
    strong: bool | str = "auto",
    relax_assignments: bool = True,
    warm_start: bool = True,
    decompose: bool = True,
) -> NetworkResult:
    """Build and solve the multi-tier model of ``problem``.

    Parameters
    ----------
    problem
        The instance.
    options
        HiGHS options (time limit, gap, threads, verbosity).
    precheck
        Look for infeasibility visible in the data first and raise :class:`InfeasibleError` listing all of it.
    diagnose
        If HiGHS proves the model infeasible, re-solve relaxing one constraint family at a time and raise
        :class:`InfeasibleError` naming the families at fault.
    log
        Called with progress lines (sizes, phases); ``None`` for silence.
    strong, relax_assignments
        Formulation switches of :func:`~siting.model.multitier.build_multitier` (for tests and
        benchmarks; the defaults are the fast exact choice).
    warm_start
        Where the assignments are continuous: solve the LP relaxation first and start HiGHS from its rounded
        and polished solution (:func:`siting.network.start.solve_escalating`); the bound is the better of
        HiGHS's and the LP's.
    decompose
        Take the Lagrangian route (:mod:`siting.network.lagrangian`) where it applies and the MIP would be
        too large for its strong form (one site per group on the upper tiers, a large bottom level); the
        bound is then the best Lagrangian bound.

    Returns
    -------
    NetworkResult
        With no open sets when the solver found no solution (time limit).
    """
    from siting.model.multitier import build_multitier

    say = log or (lambda _s: None)
    if precheck:
        defects = precheck_network(problem)
        if defects:
            raise InfeasibleError(defects)
    if decompose and strong == "auto" and relax_assignments:
        from siting.network.lagrangian import nested_structure, prefer_lagrangian

        nested = nested_structure(problem) if prefer_lagrangian(problem) else None
        if nested is not None:
            from siting.network.lagrangian import solve_by_lagrangian

            def restricted(q: NetworkProblem, opts: SolverOptions) -> NetworkResult:
                return solve_network(q, options=opts, precheck=False, diagnose=False, warm_start=False,
                                     decompose=False)

            return solve_by_lagrangian(problem, nested, options=options, solve=restricted, log=say)
    t0 = time.perf_counter()
    built = build_multitier(problem, strong=strong, relax_assignments=relax_assignments)
    build_s = time.perf_counter() - t0
    sizes = problem.summary_sizes()
    say(
        f"model: {problem.n_demand} demand points; "
        + "; ".join(f"{k}: {v['candidates']} candidates, {v['links']} links" for k, v in sizes["tiers"].items())
        + f"; built in {build_s:.1f} s"
    )
    comp = compile_model(built.model)
    if built.tree_lp and warm_start:
        from siting.network.start import solve_escalating

        info = solve_escalating(built, comp, options=options, build_seconds=build_s, log=say)
    else:
        info = solve_to_info(built.model, options=options, build_seconds=build_s, compiled=comp)
    k = built.objective_scale
    if k != 1.0:
        info = replace(info, objective=info.objective / k, bound=info.bound / k)
    if info.termination in _INFEASIBLE and not info.has_solution:
        if diagnose:
            raise InfeasibleError(diagnose_infeasible(built, options=options, log=say))
        raise InfeasibleError(Defect("the solver proved the model infeasible", problem.source))
    params = {"objective": problem.objective, "budget_cny": problem.budget_cny, "single_sourcing": problem.single_sourcing}
    if not info.has_solution:
        return NetworkResult(name=problem.name, info=info, objective_kind=problem.objective, params=params)
    opened, used, flow = built.solution()
    if built.tree_lp and not (info.proven_optimal or (math.isfinite(info.gap) and info.gap <= options.mip_rel_gap)):
        opened, used, flow = _polish_incumbent(built, opened, options=options, say=say)
    if built.tree_lp:
        # the cheapest-tree pass may only lower the cost: report the model's objective at the loaded solution
        import pyomo.environ as pyo

        obj = float(pyo.value(built.model.obj.expr)) / built.objective_scale
        if obj <= info.objective * (1 + 1e-9) + 1e-6:
            info = replace(info, objective=obj, gap=relative_gap(obj, info.bound))
            if info.gap <= options.mip_rel_gap and not info.proven_optimal:  # the polish closed the gap
                info = replace(info, termination=TerminationCondition.OPTIMAL, status=type(info.status).OPTIMAL)
    return NetworkResult(
        name=problem.name,
        info=info,
        open=opened,
        link_used=used,
        link_flow=flow,
        objective_kind=problem.objective,
        params=params,
    )


def _polish_incumbent(built: Any, opened: tuple[np.ndarray, ...], *, options: SolverOptions,
                      say: Callable[[str], None]) -> tuple[tuple[np.ndarray, ...], ...]:
    """Stopped early: polish the incumbent's open sets by local search (exact pricing of each open set) and
    load the better ones into the model; returns ``built.solution()``."""
    from siting.network.polish import polish_open_sets, tree_cost

    problem = built.problem
    budget_s = min(20.0, max(5.0, 0.2 * (options.time_limit_s or 60.0)))
    t1 = time.perf_counter()
    before = tree_cost(problem, list(opened))
    new_open, after = polish_open_sets(problem, opened, seconds=budget_s)
    say(f"polish: {before:,.0f} -> {after:,.0f} CNY/yr in {time.perf_counter() - t1:.1f} s")
    if after < before:
        for t, o in enumerate(new_open):
            for j, v in enumerate(o):
                var = built.model.y[int(built.y_offset[t] + j)]
                if not var.fixed:
                    var.set_value(1.0 if v else 0.0, skip_validation=True)
    return built.solution()


def diagnose_infeasible(built: Any, *, options: SolverOptions, log: Callable[[str], None] | None = None) -> list[Defect]:
    """Find which constraint families make a proven-infeasible model infeasible.

    Each family (:data:`~siting.model.multitier.FAMILIES`) is relaxed alone and the model re-solved
    (short time limit); a family whose removal makes the model feasible is reported as at fault. If no
    single family does, the families are relaxed cumulatively to report the smallest prefix that does.
    """
    say = log or (lambda _s: None)
    p = built.problem
    quick = replace(options, time_limit_s=min(options.time_limit_s or 30.0, 30.0), verbose=False, mip_rel_gap=1.0)
    present = [f for f, comps in built.families.items() if comps and f != "hierarchy"]

    def relax(family: str, on: bool) -> None:
        for comp in built.families[family]:
            comp.deactivate() if on else comp.activate()
        if family == "required":
            for g, v in built.fixed_y.items():
                if v == 1.0:
                    built.model.y[g].unfix() if on else built.model.y[g].fix(1.0)

    def feasible() -> bool:
        info = solve_to_info(built.model, options=quick)
        return info.has_solution or info.termination not in _INFEASIBLE

    culprits = []
    for fam in present:
        relax(fam, True)
        try:
            ok = feasible()
        finally:
            relax(fam, False)
        say(f"diagnosis: without {fam}: {'feasible' if ok else 'still infeasible'}")
        if ok:
            culprits.append(fam)
    src = p.source
    if culprits:
        return [
            Defect(f"the model is infeasible; it becomes feasible when {_FAMILY_TEXT.get(f, f)} are relaxed: check {f}", src)
            for f in culprits
        ]
    # no single family: relax cumulatively
    done = []
    try:
        for fam in present:
            relax(fam, True)
            done.append(fam)
            if feasible():
                return [Defect("the model is infeasible; no single constraint family is at fault, but relaxing "
                               + " + ".join(_FAMILY_TEXT.get(f, f) for f in done) + " together makes it feasible", src)]
    finally:
        for fam in done:
            relax(fam, False)
    return [Defect("the model is infeasible in its tree structure itself: the radii / same-group link rules leave no "
                   "way to connect the open facilities of every tier", src)]


# ---------------------------------------------------------------------------------------------------------
# results -> tables (the outputs contract)


def result_tables(problem: NetworkProblem, result: NetworkResult) -> tuple[Any, Any, Any]:
    """``(facilities, assignments, demand)`` GeoDataFrames (EPSG:4326) of a solved network."""
    import geopandas as gpd
    import pandas as pd
    from shapely import linestrings, points

    p = problem
    T = p.n_tiers
    fac_rows: list[pd.DataFrame] = []
    asg_rows: list[pd.DataFrame] = []
    for t, tier in enumerate(p.tiers):
        lk = p.links[t]
        o = np.flatnonzero(result.open[t])
        flow = result.link_flow[t]
        used = np.flatnonzero(result.link_used[t])
        inflow = np.bincount(lk.parent, weights=flow, minlength=tier.size)
        handling = np.bincount(lk.parent, weights=flow * tier.handling_cost_cny_per_unit[lk.parent], minlength=tier.size)
        transport = np.bincount(lk.parent, weights=flow * lk.distance_km * tier.transport_cost_cny_per_unit_km, minlength=tier.size)
        cap = tier.capacity[o]
        unit = tier.groups.get("unit")
        region = tier.groups.get("region")
        fac_rows.append(
            pd.DataFrame(
                {
                    "facility_id": [f"{tier.name}:{x}" for x in tier.ids[o]],
                    "name": [str(x) for x in tier.names[o]],
                    "tier": tier.name,
                    "tier_level": t,
                    "unit": list(unit[o]) if unit is not None else [None] * len(o),
                    "region": list(region[o]) if region is not None else [None] * len(o),
                    "volume": inflow[o],
                    "capacity": np.where(np.isfinite(cap), cap, np.nan),
                    "utilisation": np.where(np.isfinite(cap) & (cap > 0), inflow[o] / np.where(cap > 0, cap, 1), np.nan),
                    "fixed_cost_cny": tier.fixed_cost_cny[o],
                    "handling_cost_cny": handling[o],
                    "transport_cost_cny": transport[o],
                    "required": tier.required[o],
                    "lon": tier.lon[o],
                    "lat": tier.lat[o],
                }
            )
        )
        if t == T - 1:
            from_ids = np.array([f"demand:{x}" for x in p.demand_ids[lk.child[used]]], dtype=object)
            flon, flat = p.demand_lon[lk.child[used]], p.demand_lat[lk.child[used]]
        else:
            ct = p.tiers[t + 1]
            from_ids = np.array([f"{ct.name}:{x}" for x in ct.ids[lk.child[used]]], dtype=object)
            flon, flat = ct.lon[lk.child[used]], ct.lat[lk.child[used]]
        asg_rows.append(
            pd.DataFrame(
                {
                    "from_id": from_ids,
                    "to_id": [f"{tier.name}:{x}" for x in tier.ids[lk.parent[used]]],
                    "tier": tier.name,
                    "distance_km": lk.distance_km[used],
                    "volume": flow[used],
                    "cost_cny": flow[used] * (lk.distance_km[used] * tier.transport_cost_cny_per_unit_km
                                              + tier.handling_cost_cny_per_unit[lk.parent[used]]),
                    "flon": flon,
                    "flat": flat,
                    "tlon": tier.lon[lk.parent[used]],
                    "tlat": tier.lat[lk.parent[used]],
                }
            )
        )
    fac = pd.concat(fac_rows, ignore_index=True)
    facilities = gpd.GeoDataFrame(
        fac.drop(columns=["lon", "lat"]), geometry=points(np.c_[fac["lon"].to_numpy(float), fac["lat"].to_numpy(float)]), crs="EPSG:4326"
    )
    asg = pd.concat(asg_rows, ignore_index=True)
    coords = np.stack(
        [np.c_[asg["flon"].to_numpy(float), asg["flat"].to_numpy(float)], np.c_[asg["tlon"].to_numpy(float), asg["tlat"].to_numpy(float)]],
        axis=1,
    )
    assignments = gpd.GeoDataFrame(
        asg.drop(columns=["flon", "flat", "tlon", "tlat"]),
        geometry=linestrings(coords) if len(asg) else gpd.GeoSeries([], crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    # demand
    lk = p.links[T - 1]
    bt = p.tiers[T - 1]
    served = np.bincount(lk.child, weights=result.link_flow[T - 1], minlength=p.n_demand)
    # the main serving facility (largest share) of each demand point
    assigned = np.full(p.n_demand, None, dtype=object)
    dist = np.full(p.n_demand, np.nan)
    used = np.flatnonzero(result.link_used[T - 1])
    order = used[np.argsort(result.link_flow[T - 1][used], kind="stable")]
    assigned[lk.child[order]] = [f"{bt.name}:{x}" for x in bt.ids[lk.parent[order]]]
    dist[lk.child[order]] = lk.distance_km[order]
    dem = pd.DataFrame(
        {
            "demand_id": [str(x) for x in p.demand_ids],
            "name": [str(x) for x in p.demand_names],
            "weight": p.weight,
            "assigned_to": assigned,
            "distance_km": dist,
            "covered": served >= p.weight * (1 - 1e-9) - 1e-12,
        }
    )
    for key, lab in p.demand_groups.items():
        if key not in dem.columns:
            dem[key] = list(lab)
    demand = gpd.GeoDataFrame(dem, geometry=points(np.c_[p.demand_lon, p.demand_lat]), crs="EPSG:4326")
    return facilities, assignments, demand


def network_summary(problem: NetworkProblem, result: NetworkResult, check: NetworkCheck | None, *, scenario: str,
                    extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-able summary of the outputs contract."""
    info = result.info
    s: dict[str, Any] = {"scenario": scenario, "model": "multitier"}
    s.update(info.to_dict())
    s["status_text"] = info.describe()
    s["objective_kind"] = problem.objective
    s["weight_unit"] = problem.weight_unit
    if result.has_solution:
        costs = network_costs(problem, result)
        s["cost_cny"] = {
            **{tier: {k: round(v, 2) for k, v in c.items()} | {"total": round(sum(c.values()), 2)} for tier, c in costs.items()},
            "total": round(sum(sum(c.values()) for c in costs.values()), 2),
            "by_type": {k: round(sum(c[k] for c in costs.values()), 2) for k in ("fixed", "handling", "transport")},
        }
        s["counts_by_tier"] = {t.name: int(np.sum(o)) for t, o in zip(problem.tiers, result.open)}
        s["facility_ids"] = [f"{t.name}:{x}" for t, o in zip(problem.tiers, result.open) for x in t.ids[o]]
        lk = problem.links[-1]
        served = np.bincount(lk.child, weights=result.link_flow[-1], minlength=problem.n_demand)
        total = float(problem.weight.sum())
        dist_w = float(np.sum(result.link_flow[-1] * lk.distance_km))
        covered = float(served.sum())
        s["coverage"] = {
            "demand_points": problem.n_demand,
            "demand_points_served": int(np.sum(served >= problem.weight * (1 - 1e-9) - 1e-12)),
            "demand_total": total,
            "demand_served": covered,
            "share_served": covered / total if total > 0 else 1.0,
            "mean_distance_km": dist_w / covered if covered > 0 else None,
            "max_distance_km": float(lk.distance_km[result.link_used[-1]].max()) if np.any(result.link_used[-1]) else None,
            "radius_km": {t.name: (t.radius_km if math.isfinite(t.radius_km) else None) for t in problem.tiers},
        }
    else:
        s["cost_cny"] = {}
        s["counts_by_tier"] = {}
        s["facility_ids"] = []
        s["coverage"] = {}
    s["verified"] = None if check is None else check.ok
    s["verification"] = None if check is None else check.to_dict()
    s["sizes"] = problem.summary_sizes()
    if extra:
        s.update(dict(extra))
    return s


# ---------------------------------------------------------------------------------------------------------
# the pipeline


@dataclass
class RunOutcome:
    """What :func:`run_scenario` returns.

    Attributes
    ----------
    scenario
        The validated :class:`~siting.scenario.Scenario` (with overrides applied).
    problem
        The :class:`NetworkProblem` built from it.
    result
        The :class:`NetworkResult`.
    check
        The verifier's :class:`NetworkCheck` (``None`` when there is no solution).
    summary
        The summary dict written to ``summary.json``.
    out_dir
        Where the outputs were written (``None`` with ``write=False``).
    """

    scenario: Any
    problem: NetworkProblem
    result: NetworkResult
    check: NetworkCheck | None
    summary: dict[str, Any]
    out_dir: Path | None = None
    tables: tuple[Any, Any, Any] | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        """A solution exists and the verifier accepted it."""
        return self.result.has_solution and self.check is not None and self.check.ok


def run_scenario(
    path_or_scenario: Any,
    *,
    overrides: Mapping[str, Any] | None = None,
    out_dir: str | Path | None = None,
    options: SolverOptions | None = None,
    overwrite: bool = False,
    write: bool = True,
    log: Callable[[str], None] | None = None,
    command: list[str] | None = None,
    max_memory_bytes: int | None = None,
) -> RunOutcome:
    """Run a scenario end to end.

    Parameters
    ----------
    path_or_scenario
        A scenario file path, or a :class:`~siting.scenario.Scenario`.
    overrides
        Dotted-key overrides applied to the scenario before validation, e.g.
        ``{"tiers.collection.radius_km": 20, "demand.parcels_per_person_per_year": 120}`` (what
        ``--set`` and the sweep pass).
    out_dir
        Output directory; default ``maps/<scenario-name>/`` next to the scenario's repository.
    options
        Solver options; default: the scenario's ``[solver]`` table over :data:`DEFAULT_OPTIONS`.
    overwrite
        Replace an existing non-empty ``out_dir``.
    write
        Write the outputs (``summary.json``, ``solution.gpkg``, ``map.html``) with
        :func:`siting.outputs.write_run`.
    log
        Called with progress lines.
    command
        The command line, recorded in ``manifest.json`` (the CLI passes its argv).
    max_memory_bytes
        Refuse (:class:`siting.provenance.memory.MemoryRefused`, an input error) a model whose estimated memory exceeds
        this, before building it; default: a share of the memory available now.

    Returns
    -------
    RunOutcome
        ``summary["verified"]`` tells whether the independent verifier accepted the solution.

    Raises
    ------
    ScenarioError
        The scenario file is malformed (every defect listed).
    DataError
        A data file it names is malformed.
    InfeasibleError
        The data or the solver shows that no network satisfies the scenario (reasons listed).
    OutputError
        ``out_dir`` cannot be used (checked before solving).
    SolverError
        The solver stopped without any solution (time limit) or failed.
    """
    from siting.scenario.spec import Scenario
    from siting.scenario.build import build_problem
    from siting.scenario.load import load_scenario, with_overrides

    say = log or (lambda _s: None)
    t0 = time.perf_counter()
    if isinstance(path_or_scenario, Scenario):
        scen = with_overrides(path_or_scenario, overrides) if overrides else path_or_scenario
    else:
        scen = load_scenario(path_or_scenario, overrides=overrides)
    target: Path | None = None
    if write:  # refuse a bad destination before spending time on data and solving
        from siting.outputs import prepare_out_dir

        target = Path(out_dir) if out_dir is not None else scen.default_out_dir()
        prepare_out_dir(target, overwrite=overwrite)
    problem = build_problem(scen)
    from siting.provenance.memory import check_memory, network_size

    check_memory(*network_size(problem), limit_bytes=max_memory_bytes, source=problem.source,
                 hint="use smaller radii, a shortlist of candidates per unit, or fewer demand points")
    prep_s = time.perf_counter() - t0
    say(f"scenario {scen.name}: data prepared in {prep_s:.1f} s")
    opts = options if options is not None else scen.solver_options(DEFAULT_OPTIONS)
    result = solve_network(problem, options=opts, log=say)
    if not result.has_solution:
        raise SolverError(f"{scen.name}: {result.info.describe()} after {result.info.seconds:.1f} s; nothing was written "
                          "(raise the time limit: --time-limit or [solver] time_limit_s)")
    check = verify_network(problem, result) if result.has_solution else None
    summary = network_summary(
        problem,
        result,
        check,
        scenario=scen.name,
        extra={
            "scenario_file": str(scen.path) if scen.path else None,
            "overrides": {k: _jsonable(v) for k, v in scen.overrides.items()},
            "prepare_seconds": round(prep_s, 4),
            "assumptions": scen.assumptions(),
        },
    )
    tables = result_tables(problem, result)
    if write and target is not None:
        from siting.provenance.audit_network import run_manifest
        from siting.outputs import write_run

        manifest = run_manifest(scen, result, check, overrides=dict(scen.overrides), command=command,
                                wall_seconds=time.perf_counter() - t0)
        target = write_run(target, summary=summary, facilities=tables[0], assignments=tables[1], demand=tables[2],
                           boundaries=scen.boundaries(), overwrite=overwrite, title=f"{scen.name}: {scen.description}"
                           if scen.description else scen.name, manifest=manifest)
    return RunOutcome(scenario=scen, problem=problem, result=result, check=check, summary=summary, out_dir=target, tables=tables)


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)




