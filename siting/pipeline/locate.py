"""The single-level pipeline: Problem + model name + parameters -> verified :class:`~siting.core.results.Result`.

``locate`` runs: parameter check -> precheck (provable infeasibility, naming the rows) -> build the
Pyomo model -> solve with HiGHS -> read back open sites and allocation -> independent verification.
Some models have an exact algorithm of their own (:data:`ALGORITHMS`, named by ``ModelSpec.algorithm``):
p-center by bisection, plain p-median (no decay, budget, cutoff or radius) by
:func:`siting.algorithms.pmedian.solve_pmedian` (Benders decomposition, or the sparse route at scale), and
plain UFLP (no budget or decay; a cutoff and a cost rate are fine) by
:func:`siting.algorithms.warehouse.solve_uflp` (Lagrangian fixing and the reduced strong model, or the sparse
route at scale); their answers are verified the same way.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any
import numpy as np
from siting.provenance.memory import check_route_memory
from siting.core.errors import Defect, InfeasibleError, ScenarioError, SolverError
from siting.model import Decay, ModelSpec, get_model
from siting.single.precheck import check_params, precheck
from siting.core.problem import Problem
from siting.core.results import Result, SolutionStatus, SolveInfo, TerminationCondition
from siting.core.options import SolverOptions
from siting.solvers.pyomo import solve_pyomo
from siting.single.verify import verify
from siting.algorithms.center import p_center_bisection


_INFEASIBLE = (TerminationCondition.INFEASIBLE, TerminationCondition.INFEASIBLE_OR_UNBOUNDED)


_STRUCTURAL = ("assignment of every demand", "coverage of every demand within the radius")


def model_params(
    spec: ModelSpec,
    *,
    p: int | None = None,
    radius_km: float | None = None,
    budget_cny: float | None = None,
    decay: Decay | str | dict | None = None,
    max_distance_km: float | None = None,
    objective: str | None = None,
    cost_per_unit_km: float | None = None,
) -> dict[str, Any]:
    """The parameter dict of a run, with model defaults filled in and checked (:class:`ScenarioError`).

    Defaults come from :attr:`ModelSpec.defaults` (LSCP ``objective="count"``; UFLP/CFLP
    ``cost_per_unit_km=1``); a linear attendance decay without its own cutoff uses ``max_distance_km``.
    """
    try:
        decay = Decay.parse(decay)
    except ScenarioError as exc:  # name the option in every line
        raise ScenarioError([Defect(str(d), "--decay") if isinstance(d, str) else
                             d if d.file else dataclasses.replace(d, file="--decay") for d in exc.defects]) from None
    if (spec.decay_role == "attendance" and decay is not None and decay.kind == "linear"
            and decay.cutoff_km is None and max_distance_km is not None):
        decay = dataclasses.replace(decay, cutoff_km=float(max_distance_km))
    params = {
        "p": p,
        "radius_km": radius_km,
        "budget_cny": budget_cny,
        "decay": decay,
        "max_distance_km": max_distance_km,
        "objective": objective,
        "cost_per_unit_km": cost_per_unit_km,
    }
    for name, value in spec.defaults.items():  # in place: the order of the keys is part of summary.json
        if params.get(name) is None:
            params[name] = value
    params = {k: v for k, v in params.items() if v is not None}
    check_params(spec, params)
    if "p" in params:
        params["p"] = int(params["p"])
    return params


def _diagnose(model: Any, options: SolverOptions) -> list[str]:
    """Constraint families whose removal alone makes ``model`` feasible (quick feasibility solves)."""
    import pyomo.environ as pyo

    quick = dataclasses.replace(
        options, mip_rel_gap=1.0, time_limit_s=min(options.time_limit_s or 20.0, 20.0), verbose=False
    )
    families: dict[str, tuple[Any, Any]] = {}
    for name, comps in model.families.items():
        if name == "open-facility linking":
            continue
        families[name] = (lambda c=comps: [x.deactivate() for x in c], lambda c=comps: [x.activate() for x in c])
    fixed = [v for v in model.y.values() if v.fixed]
    if fixed:
        families["required sites"] = (lambda: [v.unfix() for v in fixed], lambda: [v.fix(1) for v in fixed])
    guilty = []
    obj = next(model.component_data_objects(pyo.Objective, active=True))
    obj.deactivate()
    model.feasibility_only = pyo.Objective(expr=0.0)
    try:
        for name, (off, on) in families.items():
            off()
            try:
                info = solve_pyomo(model, options=quick)
            finally:
                on()
            if info.has_solution:
                guilty.append(name)
    finally:
        model.del_component(model.feasibility_only)
        obj.activate()
    # dropping "serve every demand" always helps; name it only when nothing more specific does
    specific = [g for g in guilty if g not in _STRUCTURAL]
    return specific or guilty


def _p_median_fast(
    problem: Problem,
    params: dict[str, Any],
    options: Any,
) -> tuple[Any, np.ndarray, np.ndarray, Any]:
    """Exact p-median by :func:`siting.algorithms.pmedian.solve_pmedian` (Benders decomposition with our
    branch-and-Benders-cut tree; the sparse route when the dense arrays would not fit); the label in
    ``info.options["algorithm"]`` names the route taken.

    Returns ``(SolveInfo, open, allocation, None)``; there is no single Pyomo model to diagnose (the fast
    path raises :class:`InfeasibleError` itself when HiGHS proves a relaxation infeasible).
    """
    from siting.algorithms.pmedian import solve_pmedian

    res = solve_pmedian(problem, p=int(params["p"]), options=options)
    by_method = {"benders": "p-median Benders decomposition (branch-and-Benders-cut)",
                 "radius": "p-median radius formulation"}
    algorithm = res.params.get("algorithm") or by_method.get(res.params.get("method", "radius"),
                                                             "p-median radius formulation")
    info = dataclasses.replace(
        res.info, options={**res.info.options, "algorithm": algorithm,
                           "radius_rounds": int(res.params.get("rounds", 0))},
    )
    return info, res.open, res.allocation, None


#: ``info.options["algorithm"]`` of a UFLP run by :func:`_uflp_fast`, by the route taken
UFLP_ROUTES = {"dense": "UFLP Lagrangian fixing + reduced strong model",
               "sparse": "UFLP sparse Lagrangian + local search"}


def uflp_route_problem(problem: Problem, params: dict[str, Any]) -> tuple[Problem, np.ndarray | None]:
    """The UFLP of :func:`siting.model.plant.build_uflp` with these parameters as a plain problem for
    :func:`siting.algorithms.warehouse.solve_uflp`, which minimises ``fixed + sum w * distance_km * x``.

    The pairs beyond ``max_distance_km`` are dropped (as :func:`siting.model.index.pair_index` does, ``d <=
    cutoff`` kept) and ``distance_km`` becomes the per-unit cost ``cost_per_unit_km * d``, so the objective
    and the bound come out in CNY exactly as the Pyomo model's. Returns ``(problem, kept)``: ``kept`` the
    indices of the original pairs the new one holds, in order, or ``None`` when it is ``problem`` itself or
    keeps all of them (no copy is made when neither changes anything). The memory guard counts the arrays made
    here (:func:`siting.provenance.memory.uflp_copy_bytes`).
    """
    work, kept = problem, None
    cut = params.get("max_distance_km")
    if cut is not None:
        inside = problem.distance_km <= float(cut)
        if not inside.all():
            kept = np.flatnonzero(inside)
            work = problem.within(float(cut))
    rate = float(params.get("cost_per_unit_km", 1.0))
    if rate != 1.0:
        work = work.with_options(distance_km=rate * work.distance_km)
    return work, kept


def _uflp_fast(
    problem: Problem,
    params: dict[str, Any],
    options: Any,
) -> tuple[Any, np.ndarray, np.ndarray, Any]:
    """UFLP by :func:`siting.algorithms.warehouse.solve_uflp` on :func:`uflp_route_problem` (the dense fast
    path, or the sparse Lagrangian route when the dense arrays would not fit: the same choice the memory guard
    estimated); ``info.options["algorithm"]`` names the route (:data:`UFLP_ROUTES`).

    Returns ``(SolveInfo, open, allocation over the problem's pairs, None)``; the fast path raises
    :class:`InfeasibleError` itself for a demand with no allowed site.
    """
    from siting.algorithms.warehouse import solve_uflp

    work, kept = uflp_route_problem(problem, params)
    res = solve_uflp(work, options=options)
    alloc = np.asarray(res.allocation, dtype=np.float64)
    if kept is not None and len(alloc):
        full = np.zeros(problem.n_pairs)
        full[kept] = alloc
        alloc = full
    route = "sparse" if res.params.get("algorithm") is not None else "dense"
    info = dataclasses.replace(res.info, options={**res.info.options, "algorithm": UFLP_ROUTES[route]})
    return info, res.open, alloc, None


#: exact algorithms of their own, by the name a :class:`ModelSpec` gives in ``algorithm``; each is called as
#: ``algorithm(problem, params, options) -> (SolveInfo, open, allocation, model or None)``. Runs whose
#: parameters the algorithm does not cover (:meth:`ModelSpec.uses_algorithm`) use the plain formulation.
ALGORITHMS: dict[str, Callable[..., tuple[Any, np.ndarray, np.ndarray, Any]]] = {
    "p-center bisection": p_center_bisection,
    "p-median radius formulation": _p_median_fast,
    "uflp fast path": _uflp_fast,
}


def _solve_spec(problem: Problem, spec: ModelSpec, params: dict[str, Any], options: SolverOptions) -> Result:
    import pyomo.environ  # noqa: F401  - the first import is slow; keep it out of build_seconds

    stored = {k: (v.to_dict() if isinstance(v, Decay) else v) for k, v in params.items()}
    if spec.uses_algorithm(params):
        # an exact algorithm of its own (p-center bisection, the p-median radius formulation, the UFLP fast path)
        info, open_, alloc, model = ALGORITHMS[spec.algorithm](problem, params, options)
        if info.has_solution or model is None:
            return Result(spec.name, info, np.asarray(open_, dtype=np.int64) if info.has_solution
                          else np.zeros(0, dtype=np.int64), alloc if info.has_solution else np.zeros(0), stored)
    else:
        t0 = time.perf_counter()
        model = spec.build_model(problem, params)
        build_seconds = time.perf_counter() - t0
        info = solve_pyomo(model, options=options, build_seconds=build_seconds)
    if not info.has_solution:
        if info.termination in _INFEASIBLE:
            guilty = _diagnose(model, options)
            if guilty:
                msg = ("the solver proved the model infeasible; likely at fault (dropping any one of these "
                       f"constraint families makes it feasible): {', '.join(guilty)}")
            else:
                msg = ("the solver proved the model infeasible; no single constraint family is to blame "
                       f"({', '.join(model.families)} conflict jointly)")
            raise InfeasibleError([Defect(msg, problem.source)])
        return Result(spec.name, info, np.zeros(0, dtype=np.int64), np.zeros(0), stored)
    open_, alloc = spec.extract(problem, model)
    return Result(spec.name, info, open_, alloc, stored)


def _solve_with_count_from(problem: Problem, spec: ModelSpec, params: dict[str, Any],
                           options: SolverOptions) -> Result:
    """Two stages: ``p`` is the optimal count of ``spec.p_from`` (lscp-b: LSCP's), solved first with the
    parameters both models accept; the result records it as ``lscp_count`` with the stage's seconds."""
    stage = get_model(spec.p_from)
    stage1 = {k: v for k, v in params.items() if k in stage.accepts and k != "objective"}
    first = _solve_spec(problem, stage, {**stage1, **stage.defaults}, options)
    if not first.info.has_solution:
        return Result(spec.name, first.info, first.open, first.allocation, dict(params))
    params["p"] = len(first.open)
    result = _solve_spec(problem, spec, params, options)
    result.params["lscp_count"] = params["p"]
    result.params["lscp_seconds"] = round(first.info.seconds, 4)
    if not first.info.proven_optimal and result.info.status is SolutionStatus.OPTIMAL:
        # p is only as good as stage 1: not proven minimal, so neither is the backup coverage
        info: SolveInfo = dataclasses.replace(result.info, status=SolutionStatus.FEASIBLE)
        result = dataclasses.replace(result, info=info)
    return result


def locate(
    problem: Problem,
    model: str,
    *,
    p: int | None = None,
    radius_km: float | None = None,
    budget_cny: float | None = None,
    decay: Decay | str | dict | None = None,
    max_distance_km: float | None = None,
    objective: str | None = None,
    cost_per_unit_km: float | None = None,
    options: SolverOptions = SolverOptions(),
    check: bool = True,
    max_memory_bytes: int | None = None,
    progress: Any = None,
) -> Result:
    """Solve one single-level location model on ``problem``.

    Parameters
    ----------
    problem
        The instance (allowed pairs, weights, costs, capacities, required/forbidden sites).
    model
        A name in :data:`siting.model.MODELS` (``p-median``, ``p-center``, ``lscp``, ``lscp-b``,
        ``mclp``, ``attendance``, ``uflp``, ``cflp``, ``cflp-ss``).
    p
        Number of facilities (p-median, p-center, mclp, attendance; lscp-b: defaults to LSCP's optimum).
    radius_km
        Coverage radius (lscp, lscp-b, mclp).
    budget_cny
        Upper bound on the total fixed cost of the open sites.
    decay
        :class:`~siting.model.Decay` (or ``"kind[:beta[:cutoff_km]]"``), see its module for how it
        enters each model.
    max_distance_km
        Impedance cutoff: pairs farther apart cannot be used.
    objective
        LSCP only: ``"count"`` (default) or ``"fixed_cost"``.
    cost_per_unit_km
        UFLP/CFLP: transport cost per unit of demand per km (default 1).
    options
        Solver options (time limit, gap, threads).
    check
        Verify the solution with :func:`siting.single.verify.verify` and raise :class:`SolverError` if it fails.
    max_memory_bytes
        Refuse (:class:`siting.provenance.memory.MemoryRefused`, an :class:`InputError`) a model whose estimated
        memory (:func:`siting.provenance.memory.estimate_model_bytes`) exceeds this; default 80% of the memory
        available when the run starts.
    progress
        A :class:`siting.outputs.terminal.Progress` told of the long step (``solve``: model build and solve).

    Returns
    -------
    Result
        With status OPTIMAL, FEASIBLE (time limit hit; its gap says how far from proven) or NO_SOLUTION
        (no incumbent; ``open`` and ``allocation`` empty).

    Raises
    ------
    ScenarioError
        Missing, unused or malformed parameters.
    InfeasibleError
        The precheck or the solver proves there is no solution; the defects name the rows or the
        constraint families at fault.
    """
    spec = get_model(model)
    params = model_params(
        spec, p=p, radius_km=radius_km, budget_cny=budget_cny, decay=decay,
        max_distance_km=max_distance_km, objective=objective, cost_per_unit_km=cost_per_unit_km,
    )
    precheck(problem, spec, params)
    check_route_memory(problem, spec, params, limit_bytes=max_memory_bytes, source=problem.source)
    from siting.outputs.terminal import NO_PROGRESS

    with (progress or NO_PROGRESS).step("solve"):
        if spec.p_from is not None and "p" not in params:
            result = _solve_with_count_from(problem, spec, params, options)
        else:
            result = _solve_spec(problem, spec, params, options)
    if check and result.info.has_solution:
        verdict = verify(problem, result)
        if not verdict.ok:
            raise SolverError("solution failed independent verification: " + "; ".join(verdict.problems))
    return result


# ---------------------------------------------------------------------------------------- outputs
_NAME_COLUMNS = ("name", "name_zh", "名称", "name_en")


_PLANT = ("uflp", "cflp", "cflp-ss")
#: ``objective_kind`` of each model in ``summary.json`` (see :mod:`siting.outputs.summary`)
_OBJECTIVE_KIND = {"p-median": "distance", "p-center": "max_distance", "lscp": "count", "lscp-b": "backup_coverage",
                   "mclp": "coverage", "attendance": "attendance", "uflp": "cost", "cflp": "cost", "cflp-ss": "cost"}


def _text_column(gdf: Any, names: tuple[str, ...], fallback: np.ndarray) -> np.ndarray:
    for c in names:
        if c in gdf.columns:
            s = gdf[c].astype(object)
            return np.where(s.isna().to_numpy(), fallback, s.astype(str).to_numpy()).astype(object)
    return np.asarray(fallback, dtype=object)


def result_tables(
    problem: Problem,
    result: Result,
    demand_gdf: Any,
    candidates_gdf: Any,
    *,
    verdict: Any = None,
) -> tuple[dict[str, Any], Any, Any, Any]:
    """The outputs contract of a single-level run: ``(summary, facilities, assignments, demand)``.

    ``demand_gdf`` and ``candidates_gdf`` are the point layers the problem was built from (same row order;
    any CRS, converted to EPSG:4326); a ``name``/``name_zh`` column gives names, a ``region`` column the
    facilities' region. Costs in CNY (``transport_cost_cny``, ``cost_cny``) are only defined for UFLP/CFLP
    (``cost_per_unit_km x volume x distance``) and are NaN for the other models; ``covered`` means served
    (assignment models) or covered within the radius (coverage models).
    """
    import geopandas as gpd
    from shapely import linestrings

    dem_g = demand_gdf.geometry.to_crs("EPSG:4326") if demand_gdf.crs and not demand_gdf.crs.equals("EPSG:4326") \
        else demand_gdf.geometry
    cand_g = candidates_gdf.geometry.to_crs("EPSG:4326") if candidates_gdf.crs and \
        not candidates_gdf.crs.equals("EPSG:4326") else candidates_gdf.geometry
    n, m = problem.n_demand, problem.n_candidates
    dx, dy = dem_g.x.to_numpy(), dem_g.y.to_numpy()
    cx, cy = cand_g.x.to_numpy(), cand_g.y.to_numpy()
    did, cid = problem.demand_ids, problem.candidate_ids
    w = problem.weight
    plant = result.model in _PLANT
    rate = float(result.params.get("cost_per_unit_km", 1.0))
    x = result.allocation if len(result.allocation) else np.zeros(problem.n_pairs)
    used = np.flatnonzero(x > 1e-9)
    pi, pj, dist = problem.pair_demand[used], problem.pair_candidate[used], problem.distance_km[used]
    vol = w[pi] * x[used]
    cost = rate * vol * dist if plant else np.full(len(used), np.nan)
    assignments = gpd.GeoDataFrame(
        {
            "from_id": did[pi].astype(str),
            "to_id": cid[pj].astype(str),
            "tier": "facility",
            "distance_km": dist,
            "volume": vol,
            "cost_cny": cost,
        },
        geometry=linestrings(np.stack([np.stack([dx[pi], dy[pi]], 1), np.stack([cx[pj], cy[pj]], 1)], 1))
        if len(used) else [],
        crs="EPSG:4326",
    )
    # facilities
    o = np.asarray(result.open, dtype=np.int64)
    load = np.bincount(pj, weights=vol, minlength=m)
    tcost = np.bincount(pj, weights=np.nan_to_num(cost), minlength=m) if plant else np.full(m, np.nan)
    cap = np.where(np.isfinite(problem.capacity), problem.capacity, np.nan)
    names = _text_column(candidates_gdf, _NAME_COLUMNS, cid.astype(str))
    region = _text_column(candidates_gdf, ("region",), np.full(m, None, dtype=object))
    facilities = gpd.GeoDataFrame(
        {
            "facility_id": cid[o].astype(str),
            "name": names[o].astype(str),
            "tier": "facility",
            "tier_level": np.zeros(len(o), dtype=np.int32),
            "unit": np.full(len(o), None, dtype=object),
            "region": region[o],
            "volume": load[o],
            "capacity": cap[o],
            "utilisation": load[o] / cap[o],
            "fixed_cost_cny": problem.fixed_cost_cny[o].astype(float),
            "handling_cost_cny": np.zeros(len(o)),
            "transport_cost_cny": tcost[o],
            "required": problem.required[o].astype(bool),
        },
        geometry=gpd.points_from_xy(cx[o], cy[o]),
        crs="EPSG:4326",
    )
    # demand: the main serving facility (largest share; nearest on ties)
    assigned = np.full(n, None, dtype=object)
    ddist = np.full(n, np.nan)
    if len(used):
        order = np.lexsort((dist, -x[used], pi))
        _, first = np.unique(pi[order], return_index=True)
        pick = order[first]
        assigned[pi[pick]] = cid[pj[pick]].astype(str)
        ddist[pi[pick]] = dist[pick]
    covered = np.zeros(n, dtype=bool)
    covered[pi] = True
    dnames = _text_column(demand_gdf, _NAME_COLUMNS, did.astype(str))
    demand = gpd.GeoDataFrame(
        {
            "demand_id": did.astype(str),
            "name": dnames.astype(str),
            "weight": w.astype(float),
            "assigned_to": assigned,
            "distance_km": ddist,
            "covered": covered,
        },
        geometry=gpd.points_from_xy(dx, dy),
        crs="EPSG:4326",
    )
    summary = locate_summary(problem, result, opened=o, covered=covered, volume=vol, distance_km=dist,
                             transport_cny=cost if plant else None, verdict=verdict)
    return summary, facilities, assignments, demand


def locate_summary(problem: Problem, result: Result, *, opened: np.ndarray, covered: np.ndarray, volume: np.ndarray,
                   distance_km: np.ndarray, transport_cny: np.ndarray | None, verdict: Any = None) -> dict[str, Any]:
    """The summary of a single-level run, in the one schema of :mod:`siting.outputs.summary`.

    ``opened``: indices of the open candidates; ``covered``: per demand point; ``volume``/``distance_km``: per used
    pair; ``transport_cny``: per used pair for the cost models (``None`` otherwise).
    """
    from siting.outputs.summary import SUMMARY_VERSION, cost_block, coverage_block

    info = result.info
    o, vol, dist, w, cid = opened, volume, distance_km, problem.weight, problem.candidate_ids
    n, m = problem.n_demand, problem.n_candidates
    summary: dict[str, Any] = {
        "summary_version": SUMMARY_VERSION,
        "model": result.model,
        "scenario": None,
        **{k: v for k, v in info.to_dict().items() if k != "options"},
        "status_text": info.describe(),
        "objective_kind": _OBJECTIVE_KIND.get(result.model, result.model),
        "weight_unit": "weight",
        "facility_ids": [str(v) for v in cid[o]],
        "counts_by_tier": {"facility": int(len(o))},
        "coverage": coverage_block(
            demand_points=n,
            demand_points_covered=int(covered.sum()),
            demand_total=float(w.sum()),
            demand_covered=float(w[covered].sum()),
            demand_served=float(vol.sum()),
            mean_distance_km=float(np.sum(vol * dist) / vol.sum()) if vol.sum() > 0 else None,
            max_distance_km=float(dist.max()) if len(dist) else None,
            radius_km=result.params.get("radius_km"),
        ),
        "cost_cny": {},
        "params": {k: v for k, v in result.params.items()},
        "problem": {
            "source": problem.source,
            "demand_points": int(n),
            "candidates": int(m),
            "allowed_pairs": int(problem.n_pairs),
            "required": [str(v) for v in cid[problem.required]],
            "forbidden": [str(v) for v in cid[problem.forbidden]],
            "distance_source": problem.meta.get("distance_source"),
        },
        "solver_options": info.options,
    }
    if transport_cny is not None:
        summary["cost_cny"] = cost_block({"facility": {"fixed": float(problem.fixed_cost_cny[o].sum()),
                                                       "transport": float(np.nansum(transport_cny))}})
    if verdict is not None:
        summary["verification"] = {"ok": bool(verdict.ok), "checks": list(verdict.checks),
                                   "problems": list(verdict.problems), "objective": verdict.objective}
        summary["verified"] = bool(verdict.ok)
    return summary
