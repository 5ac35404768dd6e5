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
from siting.pipeline.tables import result_tables

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
    progress: Any = None,
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
    progress
        A :class:`siting.outputs.terminal.Progress` (steps ``build``, ``solve``, ``polish``); default silent.

    Returns
    -------
    NetworkResult
        With no open sets when the solver found no solution (time limit).
    """
    from siting.model.multitier import build_multitier

    from siting.outputs.terminal import NO_PROGRESS

    say = log or (lambda _s: None)
    progress = progress or NO_PROGRESS
    if precheck:
        defects = precheck_network(problem)
        if defects:
            raise InfeasibleError(defects)
    if decompose and strong == "auto" and relax_assignments:
        decomposed = _lagrangian_route(problem, options=options, say=say)
        if decomposed is not None:
            return decomposed
    t0 = time.perf_counter()
    with progress.step("build"):
        built = build_multitier(problem, strong=strong, relax_assignments=relax_assignments)
        build_s = time.perf_counter() - t0
        comp = compile_model(built.model)
    sizes = problem.summary_sizes()
    say(
        f"model: {problem.n_demand} demand points; "
        + "; ".join(f"{k}: {v['candidates']} candidates, {v['links']} links" for k, v in sizes["tiers"].items())
        + f"; built in {build_s:.1f} s"
    )
    with progress.step("solve"):
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
        with progress.step("polish"):
            opened, used, flow = _polish_incumbent(built, opened, options=options, say=say)
    if built.tree_lp:
        info = _info_at_loaded_solution(built, info, options=options)
    return NetworkResult(
        name=problem.name,
        info=info,
        open=opened,
        link_used=used,
        link_flow=flow,
        objective_kind=problem.objective,
        params=params,
    )


def _info_at_loaded_solution(built: Any, info: Any, *, options: SolverOptions) -> Any:
    """The cheapest-tree pass and the polish may only lower the cost: report the model's objective at the
    loaded solution (and optimal within the gap when the polish closed it)."""
    import pyomo.environ as pyo

    obj = float(pyo.value(built.model.obj.expr)) / built.objective_scale
    if obj <= info.objective * (1 + 1e-9) + 1e-6:
        info = replace(info, objective=obj, gap=relative_gap(obj, info.bound))
        if info.gap <= options.mip_rel_gap and not info.proven_optimal:  # the polish closed the gap
            info = replace(info, termination=TerminationCondition.OPTIMAL, status=type(info.status).OPTIMAL)
    return info


def _lagrangian_route(problem: NetworkProblem, *, options: SolverOptions,
                      say: Callable[[str], None]) -> NetworkResult | None:
    """The Lagrangian route (:mod:`siting.network.lagrangian`) when it applies and the strong MIP would be too
    large; ``None`` otherwise. Its restricted problems are solved by :func:`solve_network` itself."""
    from siting.network.lagrangian import nested_structure, prefer_lagrangian, solve_by_lagrangian

    nested = nested_structure(problem) if prefer_lagrangian(problem) else None
    if nested is None:
        return None

    def restricted(q: NetworkProblem, opts: SolverOptions) -> NetworkResult:
        return solve_network(q, options=opts, precheck=False, diagnose=False, warm_start=False, decompose=False)

    return solve_by_lagrangian(problem, nested, options=options, solve=restricted, log=say)


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
# results -> tables (the outputs contract): siting.pipeline.tables.result_tables, re-exported here


def network_summary(problem: NetworkProblem, result: NetworkResult, check: NetworkCheck | None, *, scenario: str,
                    extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-able summary of the outputs contract (schema: :mod:`siting.outputs.summary`)."""
    from siting.outputs.summary import SUMMARY_VERSION, cost_block, coverage_block

    info = result.info
    s: dict[str, Any] = {"summary_version": SUMMARY_VERSION, "scenario": scenario, "model": "multitier"}
    s.update({k: v for k, v in info.to_dict().items() if k != "options"})
    s["status_text"] = info.describe()
    s["objective_kind"] = problem.objective
    s["weight_unit"] = problem.weight_unit
    s["solver_options"] = dict(info.options)
    if result.has_solution:
        s["cost_cny"] = cost_block(network_costs(problem, result))
        s["counts_by_tier"] = {t.name: int(np.sum(o)) for t, o in zip(problem.tiers, result.open)}
        s["facility_ids"] = [f"{t.name}:{x}" for t, o in zip(problem.tiers, result.open) for x in t.ids[o]]
        lk = problem.links[-1]
        served = np.bincount(lk.child, weights=result.link_flow[-1], minlength=problem.n_demand)
        full = served >= problem.weight * (1 - 1e-9) - 1e-12
        covered = float(served.sum())
        s["coverage"] = coverage_block(
            demand_points=problem.n_demand,
            demand_points_covered=int(np.sum(full)),
            demand_total=float(problem.weight.sum()),
            demand_covered=float(problem.weight[full].sum()),
            demand_served=covered,
            mean_distance_km=float(np.sum(result.link_flow[-1] * lk.distance_km)) / covered if covered > 0 else None,
            max_distance_km=float(lk.distance_km[result.link_used[-1]].max()) if np.any(result.link_used[-1]) else None,
            radius_km={t.name: (t.radius_km if math.isfinite(t.radius_km) else None) for t in problem.tiers},
        )
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
    progress: Any = None,
    lang: str | None = None,
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
    progress
        A :class:`siting.outputs.terminal.Progress` told of each long step; default silent.
    lang
        Language of the map and report (``"en"``, ``"zh"``); default the scenario's ``[scenario] lang``, else English.

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
    from siting.outputs.terminal import NO_PROGRESS

    progress = progress or NO_PROGRESS
    with progress.step("load"):
        problem = build_problem(scen)
    from siting.provenance.memory import check_memory, network_size

    check_memory(*network_size(problem), limit_bytes=max_memory_bytes, source=problem.source,
                 hint="use smaller radii, a shortlist of candidates per unit, or fewer demand points")
    prep_s = time.perf_counter() - t0
    say(f"scenario {scen.name}: data prepared in {prep_s:.1f} s")
    opts = options if options is not None else scen.solver_options(DEFAULT_OPTIONS)
    result = solve_network(problem, options=opts, log=say, progress=progress)
    if not result.has_solution:
        raise SolverError(f"{scen.name}: {result.info.describe()} after {result.info.seconds:.1f} s; nothing was written "
                          "(raise the time limit: --time-limit or [solver] time_limit_s)")
    with progress.step("verify"):
        check = verify_network(problem, result) if result.has_solution else None
    summary = _run_summary(scen, problem, result, check, prepare_seconds=prep_s)
    tables = result_tables(problem, result, paths=road_paths(scen, problem, result))
    if write and target is not None:
        with progress.step("write"):
            target = _write_outputs(scen, problem, result, check, summary, tables, target, overwrite=overwrite,
                                    command=command, wall_seconds=time.perf_counter() - t0,
                                    lang=lang or (scen.raw.get("scenario") or {}).get("lang") or "en")
    return RunOutcome(scenario=scen, problem=problem, result=result, check=check, summary=summary, out_dir=target, tables=tables)


def _run_summary(scen: Any, problem: NetworkProblem, result: NetworkResult, check: NetworkCheck | None, *,
                 prepare_seconds: float) -> dict[str, Any]:
    """The run's summary: :func:`network_summary` plus the scenario, overrides, assumptions and distance sources."""
    return network_summary(problem, result, check, scenario=scen.name, extra={
        "scenario_file": str(scen.path) if scen.path else None,
        "overrides": {k: _jsonable(v) for k, v in scen.overrides.items()},
        "prepare_seconds": round(prepare_seconds, 4),
        "assumptions": scen.assumptions(),
        **distance_sources(problem, result),
        "warnings": list(getattr(scen, "warnings", ())),
    })


def _write_outputs(scen: Any, problem: NetworkProblem, result: NetworkResult, check: NetworkCheck | None,
                   summary: dict[str, Any], tables: tuple[Any, Any, Any], target: Path, *, overwrite: bool,
                   command: list[str] | None, wall_seconds: float, lang: str = "en") -> Path:
    """Write a run's outputs atomically (summary, GeoPackage, CSVs, map with the road layer, report, manifest)."""
    from siting.outputs import write_run
    from siting.provenance.audit_network import run_manifest

    manifest = run_manifest(scen, result, check, overrides=dict(scen.overrides), command=command,
                            wall_seconds=wall_seconds)
    return write_run(target, summary=summary, facilities=tables[0], assignments=tables[1], demand=tables[2],
                     boundaries=scen.boundaries(), overwrite=overwrite, map_options=road_map_options(problem),
                     title=f"{scen.name}: {scen.description}" if scen.description else scen.name, manifest=manifest,
                     lang=lang)


def distance_sources(problem: NetworkProblem, result: NetworkResult) -> dict[str, Any]:
    """Summary keys on where distances came from: pairs per source (all allowed links, and the links used)."""
    from siting.pipeline.tables import link_sources

    used: dict[str, int] = {}
    for t in range(problem.n_tiers):
        src = link_sources(problem, t)[np.asarray(result.link_used[t], dtype=bool)] if result.has_solution else []
        for s in src:
            used[str(s)] = used.get(str(s), 0) + 1
    allowed = dict((problem.meta or {}).get("pair_sources") or {})
    return {"distance_sources": {"pairs": allowed, "assignments": used,
                                 "circuity": _jsonable((problem.meta or {}).get("circuity"))}}


def road_paths(scen: Any, problem: NetworkProblem, result: NetworkResult) -> dict[tuple[int, int], Any] | None:
    """Road geometry of the used upper-tier links when the scenario has a road network (``None`` otherwise)."""
    if getattr(scen, "network", None) is None or scen.network.roads is None or not result.has_solution:
        return None
    from siting.scenario.roads import used_link_paths

    return used_link_paths(problem, result)


def road_map_options(problem: NetworkProblem) -> dict[str, Any] | None:
    """``{"roads": lines}`` for the map when the problem was built on a road network (capped in size)."""
    roads = (problem.meta or {}).get("roads")
    if roads is None:
        return None
    from siting.scenario.roads import network_layer

    lon = np.concatenate([problem.demand_lon] + [t.lon for t in problem.tiers])
    lat = np.concatenate([problem.demand_lat] + [t.lat for t in problem.tiers])
    return {"roads": network_layer(roads, lon, lat)}


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)




