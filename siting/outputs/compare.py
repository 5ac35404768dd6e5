"""Compare finished runs: a side-by-side table and a map of the sites that differ.

Each run directory is read back from what :func:`siting.outputs.write_run` wrote (``summary.json`` and the
``facilities`` and ``demand`` layers of ``solution.gpkg``), so runs of different models, scenarios or code
versions can be compared. A site is identified by its ``facility_id``.

:func:`write_compare` writes, atomically, ``compare.json`` (the table, the parameters that differ and the site
differences), ``compare.csv`` (the table, UTF-8 with BOM), ``compare_parameters.csv`` (the parameters that
differ: ``--set`` values, scenario keys, model parameters, solver options, input files; read from each run's
``manifest.json``) and ``compare.html`` (the differences map, offline-safe). By default it writes next to the
first run (:func:`default_out_dir`).
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from siting.core.errors import DataError, DefectCollector
from siting.outputs.legend import html_text, legend_html, swatch_circle, title_html
from siting.outputs.map_layers import GeoJsonLayer, add_boundaries, point_feature, raw_element
from siting.outputs.maps import base_map, save_map
from siting.outputs.report import COST_TYPES, coverage_stats
from siting.outputs.summary import normalise_summary
from siting.outputs.tables import atomic_dir, summary_to_json

__all__ = ["RUN_COLOURS", "RunData", "load_runs", "compare_table", "site_differences", "make_diff_map", "write_compare",
           "run_parameters", "parameter_differences", "default_out_dir"]

#: one colour per run in the differences map (Okabe-Ito); sites open in every run are grey
RUN_COLOURS = ("#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#f0e442", "#000000")
_SOME = "#7b3294"  # open in more than one run but not all
_ALL = "#9e9e9e"
_NEEDED_FAC = ("facility_id", "name", "tier", "tier_level", *COST_TYPES)
_NEEDED_DEM = ("weight", "assigned_to", "distance_km", "covered")


@dataclass(frozen=True)
class RunData:
    """One run read back from its directory."""

    label: str
    path: Path
    summary: dict[str, Any]
    facilities: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    manifest: dict[str, Any] | None = None


def _read_run(path: Path, found: DefectCollector) -> tuple[dict[str, Any], gpd.GeoDataFrame, gpd.GeoDataFrame] | None:
    if not path.exists():
        found.add("run directory does not exist", file=str(path))
        return None
    if not path.is_dir():
        found.add("is not a directory (give a run's output directory)", file=str(path))
        return None
    summary_path, gpkg = path / "summary.json", path / "solution.gpkg"
    ok = True
    summary: Any = None
    if not summary_path.is_file():
        found.add("missing summary.json: not a siting run directory", file=str(path))
        ok = False
    else:
        try:
            summary = json.loads(summary_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            found.add(f"cannot be read as JSON: {exc}", file=str(summary_path))
            ok = False
        else:
            if not isinstance(summary, dict):
                found.add("must hold a JSON object", file=str(summary_path))
                ok = False
            elif "model" not in summary and "scenario" not in summary:
                found.add("has neither 'model' nor 'scenario'", file=str(summary_path))
                ok = False
    frames: dict[str, gpd.GeoDataFrame] = {}
    if not gpkg.is_file():
        found.add("missing solution.gpkg", file=str(path))
        ok = False
    else:
        try:
            layers = {str(name) for name, _ in pyogrio.list_layers(gpkg)}
        except Exception as exc:  # noqa: BLE001 - any GDAL failure means: not a readable GeoPackage
            found.add(f"cannot be opened as a GeoPackage: {' '.join(str(exc).split())}", file=str(gpkg))
            return None
        for layer, needed in (("facilities", _NEEDED_FAC), ("demand", _NEEDED_DEM)):
            if layer not in layers:
                found.add(f"has no layer {layer!r}", file=str(gpkg))
                ok = False
                continue
            gdf = pyogrio.read_dataframe(gpkg, layer=layer)
            missing = [c for c in needed if c not in gdf.columns]
            if missing:
                found.add(f"layer {layer!r} lacks column(s) {', '.join(missing)}", file=str(gpkg))
                ok = False
            if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
                gdf = gdf.to_crs("EPSG:4326")
            frames[layer] = gdf
    if not ok:
        return None
    fac = frames["facilities"]
    fac["facility_id"] = fac["facility_id"].astype(str)
    return summary, fac, frames["demand"]


def load_runs(run_dirs: Sequence[str | os.PathLike[str]], *, labels: Sequence[str] | None = None) -> list[RunData]:
    """Read every run directory; report every problem at once.

    Raises
    ------
    DataError
        One defect per problem (missing directory, missing or unreadable ``summary.json`` or
        ``solution.gpkg``, missing layers or columns), or fewer than two runs.
    """
    found = DefectCollector()
    if len(run_dirs) < 2:
        found.add(f"give at least two run directories to compare (got {len(run_dirs)})", file="RUN_DIR")
    if labels is not None and len(labels) != len(run_dirs):
        found.add(f"{len(labels)} labels for {len(run_dirs)} runs", file="--label")
    paths = [Path(p).expanduser().absolute() for p in run_dirs]
    seen: dict[Path, int] = {}
    for p in paths:
        seen[p] = seen.get(p, 0) + 1
    for p, n in seen.items():
        if n > 1:
            found.add(f"given {n} times", file=str(p))
    read = [_read_run(p, found) for p in paths]
    found.raise_if_any(DataError)
    if labels is None:
        names = [p.name or str(p) for p in paths]
        labels = [n if names.count(n) == 1 else f"{n} ({i + 1})" for i, n in enumerate(names)]
    return [
        RunData(str(lab), p, normalise_summary(r[0]), r[1], r[2], _read_manifest(p))
        for lab, p, r in zip(labels, paths, read, strict=True) if r is not None
    ]


def _read_manifest(path: Path) -> dict[str, Any] | None:
    """The run's ``manifest.json`` (its parameters), or ``None`` for runs written without one."""
    try:
        data = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _flat(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping) and value:
        for k, v in value.items():
            _flat(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out[prefix] = value


def run_parameters(run: RunData) -> dict[str, Any]:
    """The parameters of one run as dotted keys: the scenario as resolved (``--set`` applied), the ``--set``
    values themselves (``--set <key>``), the model parameters of ``siting locate``, the solver options and
    the SHA-256 of each input file (``input <path>``), from ``manifest.json`` and ``summary.json``."""
    out: dict[str, Any] = {}
    man = run.manifest or {}
    params = dict(man.get("parameters") or {})
    overrides = params.pop("overrides", None) or run.summary.get("overrides") or {}
    resolved = params.pop("resolved", None)
    for k in ("scenario_file", "base_dir"):
        params.pop(k, None)
    _flat("", resolved if isinstance(resolved, Mapping) else {}, out)
    _flat("", params, out)
    if not man and isinstance(run.summary.get("params"), Mapping):
        _flat("", run.summary["params"], out)
    for k, v in overrides.items():
        out[f"--set {k}"] = v
    _flat("solver", {k: v for k, v in (run.summary.get("solver_options") or {}).items() if k != "verbose"}, out)
    for item in man.get("inputs") or []:
        if isinstance(item, Mapping) and item.get("path"):
            out[f"input {Path(str(item['path'])).name} (sha256)"] = str(item.get("sha256") or "")[:12]
    return out


def parameter_differences(runs: Sequence[RunData]) -> pd.DataFrame:
    """The parameters (rows) whose values differ between the runs (columns); ``None`` where a run has none."""
    per_run = [run_parameters(r) for r in runs]
    keys: list[str] = []
    for p in per_run:
        keys.extend(k for k in p if k not in keys)
    rows = {}
    for k in keys:
        values = [p.get(k) for p in per_run]
        if len({json.dumps(v, sort_keys=True, default=str) for v in values}) > 1:
            rows[k] = values
    table = pd.DataFrame.from_dict(rows, orient="index", columns=[r.label for r in runs], dtype=object) if rows else \
        pd.DataFrame(columns=[r.label for r in runs])
    # the --set values first, then the scenario, then solver and inputs
    order = sorted(table.index, key=lambda k: (not k.startswith("--set"), k.startswith(("solver.", "input ")), keys.index(k)))
    table = table.loc[order]
    table.index.name = "parameter"
    return table


def _f(x: Any) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def compare_table(runs: Sequence[RunData]) -> pd.DataFrame:
    """Metrics (rows) by run (columns): solution, counts and cost by tier, coverage, site differences."""
    tiers: dict[str, int] = {}
    for r in runs:
        for t, lvl in zip(r.facilities["tier"], r.facilities["tier_level"], strict=True):
            tiers[str(t)] = min(int(lvl), tiers.get(str(t), 1 << 30))
    order = sorted(tiers, key=lambda t: (tiers[t], t))
    only = site_differences(runs)["only_in"]
    cols: dict[str, dict[str, Any]] = {}
    for r in runs:
        s = r.summary
        col: dict[str, Any] = {
            "scenario / model": s.get("scenario") or s.get("model"),
            "status": s.get("status"),
            "termination": s.get("termination"),
            "objective": _f(s.get("objective")),
            "bound": _f(s.get("bound")),
            "gap": _f(s.get("gap")),
            "seconds": _f(s.get("seconds")),
            "facilities": int(len(r.facilities)),
        }
        for t in order:
            col[f"count {t}"] = int((r.facilities["tier"] == t).sum())
        for t in order:
            sub = r.facilities[r.facilities["tier"] == t]
            for c, k in COST_TYPES.items():
                col[f"cost {t} {k} (CNY)"] = float(pd.to_numeric(sub[c], errors="coerce").sum())
        for c, k in COST_TYPES.items():
            col[f"cost total {k} (CNY)"] = float(pd.to_numeric(r.facilities[c], errors="coerce").sum())
        col["cost total (CNY)"] = float(sum(col[f"cost total {k} (CNY)"] for k in COST_TYPES.values()))
        cov = coverage_stats(r.demand)
        col["demand points"] = cov["points"]
        col["share of demand covered"] = cov["share_covered"]
        col["share of demand assigned"] = cov["share_assigned"]
        col["mean distance (km)"] = cov["mean_distance_km"]
        col["max distance (km)"] = cov["max_distance_km"]
        col["sites only in this run"] = len(only[r.label])
        cols[r.label] = col
    table = pd.DataFrame(cols)
    table.index.name = "metric"
    return table


def site_differences(runs: Sequence[RunData]) -> dict[str, Any]:
    """Which sites (``facility_id``) are open in which runs.

    Returns
    -------
    dict
        ``sites``: facility_id -> list of run labels where it is open; ``only_in``: label -> ids open only
        there; ``in_all``: ids open in every run; ``sites_total``: number of distinct sites.
    """
    where: dict[str, list[str]] = {}
    for r in runs:
        for fid in r.facilities["facility_id"]:
            where.setdefault(str(fid), []).append(r.label)
    labels = [r.label for r in runs]
    only = {lab: sorted(f for f, ls in where.items() if ls == [lab]) for lab in labels}
    in_all = sorted(f for f, ls in where.items() if len(set(ls)) == len(labels))
    return {"sites": dict(sorted(where.items())), "only_in": only, "in_all": in_all, "sites_total": len(where)}


def make_diff_map(runs: Sequence[RunData], *, boundaries: gpd.GeoDataFrame | None = None, title: str | None = None) -> folium.Map:
    """A map of every site open in any run, coloured by the runs it is open in (grey: in all)."""
    diff = site_differences(runs)
    labels = [r.label for r in runs]
    colour_of = {lab: RUN_COLOURS[i % len(RUN_COLOURS)] for i, lab in enumerate(labels)}
    info: dict[str, dict[str, Any]] = {}
    for r in runs:
        for row, p in zip(r.facilities.drop(columns="geometry").to_dict("records"), r.facilities.geometry, strict=True):
            fid = str(row["facility_id"])
            entry = info.setdefault(fid, {"x": float(p.x), "y": float(p.y), "name": row.get("name"), "tiers": {}})
            entry["tiers"][r.label] = row.get("tier")
    frames = [r.facilities for r in runs if len(r.facilities)]
    if boundaries is not None and len(boundaries):
        frames.append(boundaries.to_crs("EPSG:4326") if boundaries.crs is not None else boundaries)
    bounds = None
    if frames:
        tb = np.array([f.total_bounds for f in frames])
        bounds = (tb[:, 0].min(), tb[:, 1].min(), tb[:, 2].max(), tb[:, 3].max())
    m = base_map(bounds)
    if boundaries is not None and len(boundaries):
        add_boundaries(m, boundaries, choropleth=False)

    groups: dict[str, list[dict[str, Any]]] = {}
    styles: dict[str, dict[str, Any]] = {}
    for fid, ls in diff["sites"].items():
        e = info[fid]
        uniq = sorted(set(ls), key=labels.index)
        if len(uniq) == len(labels):
            key, colour, radius = "open in all runs", _ALL, 5.0
        elif len(uniq) == 1:
            key, colour, radius = f"only in {uniq[0]}", colour_of[uniq[0]], 8.0
        else:
            key, colour, radius = "open in some runs", _SOME, 7.0
        styles[key] = {"radius": radius, "color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 0.95,
                       "className": "siting-facility siting-diff"}
        rows = "".join(
            f"<tr><td>{html.escape(lab)}</td><td>{'open (' + html_text(e['tiers'][lab]) + ')' if lab in e['tiers'] else 'not open'}</td></tr>"
            for lab in labels
        )
        popup = f'<table class="siting-popup"><tr><td colspan=2><b>{html_text(e["name"])}</b> ({html_text(fid)})</td></tr>{rows}</table>'
        groups.setdefault(key, []).append(point_feature(e["x"], e["y"], {"p": popup, "t": f"{html_text(e['name'])} · {html.escape(key)}"}))
    order = ["open in all runs", "open in some runs", *[f"only in {lab}" for lab in labels]]
    legend = []
    for key in order:
        if key not in groups:
            continue
        fg = folium.FeatureGroup(name=f"{key} ({len(groups[key])})", show=True)
        fg.add_child(GeoJsonLayer(groups[key], style=styles[key]))
        fg.add_to(m)
    for key in reversed(order):
        if key in groups:
            st = styles[key]
            legend.append(f"<tr><td>{swatch_circle(st['fillColor'], st['radius'])}</td><td>{html.escape(key)} ({len(groups[key])})</td></tr>")
    folium.LayerControl(collapsed=False).add_to(m)
    heading = title or "Sites open in one run and not another"
    lines = [" vs ".join(labels), f"{diff['sites_total']} distinct sites, {len(diff['in_all'])} open in every run"]
    m.get_root().html.add_child(raw_element(title_html(heading, lines)))
    if legend:
        m.get_root().html.add_child(raw_element(legend_html(legend)))
    return m


def _json_table(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    def clean(v: Any) -> Any:
        if isinstance(v, float | np.floating):
            return float(v) if math.isfinite(v) else None
        if isinstance(v, np.integer):
            return int(v)
        return v

    return {str(c): {str(k): clean(v) for k, v in table[c].items()} for c in table.columns}


def write_compare(
    run_dirs: Sequence[str | os.PathLike[str]] | Sequence[RunData],
    out_dir: str | os.PathLike[str],
    *,
    boundaries: gpd.GeoDataFrame | None = None,
    overwrite: bool = False,
    labels: Sequence[str] | None = None,
) -> Path:
    """Compare runs and write ``compare.json``, ``compare.csv`` and ``compare.html`` atomically into ``out_dir``.

    Raises
    ------
    OutputError
        ``out_dir`` cannot be used (checked before reading the runs).
    DataError
        A run directory is unusable (every problem listed).
    """
    writer = atomic_dir(out_dir, overwrite=overwrite)
    runs = list(run_dirs) if run_dirs and all(isinstance(r, RunData) for r in run_dirs) else load_runs(run_dirs, labels=labels)  # type: ignore[arg-type]
    table = compare_table(runs)
    diff = site_differences(runs)
    params = parameter_differences(runs)
    payload = {
        "runs": [{"label": r.label, "path": str(r.path)} for r in runs],
        "table": _json_table(table),
        "parameters_differ": {str(k): {r.label: v for r, v in zip(runs, row, strict=True)} for k, row in
                              zip(params.index, params.itertuples(index=False), strict=True)},
        "sites_total": diff["sites_total"],
        "in_all": diff["in_all"],
        "only_in": diff["only_in"],
        "sites": diff["sites"],
    }
    m = make_diff_map(runs, boundaries=boundaries)
    with writer as tmp:
        (tmp / "compare.json").write_text(summary_to_json(payload), encoding="utf-8")
        table.to_csv(tmp / "compare.csv", encoding="utf-8-sig")
        params.to_csv(tmp / "compare_parameters.csv", encoding="utf-8-sig")
        save_map(m, tmp / "compare.html")
    return writer.out


def default_out_dir(run_dirs: Sequence[str | os.PathLike[str]], *, stamp: str) -> Path:
    """Where ``siting compare`` writes without ``--out``: ``compare-<first>-<stamp>`` next to the first run."""
    first = Path(run_dirs[0]).expanduser().absolute()
    return first.parent / f"compare-{first.name}-{stamp}"


def describe(runs: Sequence[RunData]) -> Mapping[str, Any]:  # pragma: no cover - convenience for notebooks
    """The table and the differences, as plain Python objects."""
    return {"table": _json_table(compare_table(runs)), **site_differences(runs)}
