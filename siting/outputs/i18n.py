"""Every user-facing string of the map, legends, report and CLI summary, in English and Chinese.

One catalogue, :data:`MESSAGES`: ``key -> (English, 简体中文)``. :func:`text` looks a key up and fills its
``{placeholders}`` with :meth:`str.format`; both languages of a key have the same placeholders (a test
checks it). English is the default; ``--lang zh`` on ``siting run`` / ``siting locate`` and ``[scenario]
lang = "zh"`` select Chinese. Unknown languages are an input error of the caller (:func:`check_lang`).

Terms follow the action plan's wording where it has one (枢纽 hub, 园区 park, 集散点 collection point,
规划单元 planning unit); status words follow the HiGHS documentation's Chinese translations where common
(最优 optimal, 可行 feasible).
"""

from __future__ import annotations

from typing import Any

__all__ = ["LANGS", "DEFAULT_LANG", "MESSAGES", "check_lang", "text", "tier_label", "status_label", "unit_label"]

LANGS = ("en", "zh")
DEFAULT_LANG = "en"

#: key -> (English, Chinese)
MESSAGES: dict[str, tuple[str, str]] = {
    # --- map layers -------------------------------------------------------------------------------------
    "layer.roads": ("Road network", "道路网"),
    "layer.demand": ("Demand points ({n})", "需求点（{n}）"),
    "layer.flows": ("Flows to {tier} ({n})", "至{tier}的流向（{n}）"),
    "layer.coverage": ("Coverage of {tier} ({km} km)", "{tier}服务范围（{km} 公里）"),
    "layer.tier": ("{tier} ({n})", "{tier}（{n}）"),
    "layer.districts_demand": ("Districts: demand (weight)", "区县：需求量分级"),
    "layer.districts_population": ("Districts: population", "区县：人口分级"),
    "layer.districts_outline": ("Districts: outlines only", "区县：仅边界"),
    "layer.reference_districts": ("Reference: Chongqing districts (offline)", "参考：重庆区县边界（离线）"),
    "layer.reference_hull": ("Reference: extent of the data (offline)", "参考：数据范围轮廓（离线）"),
    "layer.graticule": ("Reference: graticule every {step}° (offline)", "参考：经纬网，间隔 {step}°（离线）"),
    "layer.osm": ("OpenStreetMap (online, optional)", "OpenStreetMap 底图（在线，可选）"),
    "layer.tianditu_vec": ("Tianditu map (online, CGCS2000)", "天地图矢量底图（在线，CGCS2000）"),
    "layer.tianditu_img": ("Tianditu imagery (online, CGCS2000)", "天地图影像底图（在线，CGCS2000）"),
    "layer.tianditu_labels": ("Tianditu labels (online)", "天地图注记（在线）"),
    "layer.plain": ("Plain background (offline)", "空白底图（离线）"),
    # --- legend -----------------------------------------------------------------------------------------
    "legend.heading": ("Legend", "图例"),
    "legend.demand": ("demand point (size ∝ weight)", "需求点（大小与需求量成正比）"),
    "legend.unserved": ("demand not covered / not assigned ({n})", "未覆盖或未分配的需求点（{n}）"),
    "legend.flow": ("flow to a facility (colour of its tier, width ∝ volume)", "流向设施（颜色同所属层级，线宽与流量成正比）"),
    "legend.reference": ("reference outline", "参考边界"),
    "legend.choro_demand": ("demand {range}", "需求量 {range}"),
    "legend.choro_population": ("population {range}", "人口 {range}"),
    # --- tooltips and popups ----------------------------------------------------------------------------
    "tip.weight": ("weight {w}", "需求量 {w}"),
    "tip.served_by": ("served by {to} at {d}", "由 {to} 服务，距离 {d}"),
    "tip.not_assigned": ("not assigned", "未分配"),
    "tip.not_covered": ("not covered", "未覆盖"),
    "tip.volume": ("volume {v}", "流量 {v}"),
    "tip.unit": ("unit", "规划单元"),
    "tip.distance": ("distance", "距离"),
    "tip.time": ("time", "时间"),
    "tip.distance_source": ("distance from", "距离来源"),
    "tip.district": ("district", "区县"),
    "popup.facility": ("Facility", "设施"),
    "popup.tier": ("Tier", "层级"),
    "popup.unit": ("Unit", "规划单元"),
    "popup.region": ("Region", "区域"),
    "popup.volume": ("Volume served", "服务量"),
    "popup.capacity": ("Capacity", "容量"),
    "popup.utilisation": ("Utilisation", "利用率"),
    "popup.fixed": ("Fixed cost", "固定成本"),
    "popup.handling": ("Handling cost", "处理成本"),
    "popup.transport": ("Transport cost", "运输成本"),
    "popup.required": ("Required", "必选"),
    "yes": ("yes", "是"),
    "no": ("no", "否"),
    "unit.km": ("km", "公里"),
    "unit.min": ("min", "分钟"),
    "unit.cny": ("CNY", "元"),
    "unit.parcels/yr": ("parcels/yr", "件/年"),
    "unit.t/yr": ("t/yr", "吨/年"),
    "unit.units/yr": ("units/yr", "单位/年"),
    "unit.pallets/yr": ("pallets/yr", "托/年"),
    "unit.trips/yr": ("trips/yr", "车次/年"),
    "unit.weight": ("weight", "需求量"),
    # --- titles -----------------------------------------------------------------------------------------
    "title.objective": ("objective {v}", "目标值 {v}"),
    "title.gap": ("gap {g}%", "相对间隙 {g}%"),
    "title.gap0": ("gap 0", "相对间隙 0"),
    "title.within": ("(optimal within {tol}%)", "（{tol}% 容差内最优）"),
    "title.status": ("status {s}", "状态 {s}"),
    "title.default": ("siting run", "选址结果"),
    "status.optimal": ("optimal", "最优"),
    "status.feasible": ("feasible", "可行"),
    "status.no_solution": ("no solution", "无解"),
    "status.time_limit": ("time limit", "达到时间上限"),
    "status.infeasible": ("infeasible", "不可行"),
    "status.interrupted": ("interrupted", "已中断"),
    "tier.hub": ("hub", "枢纽"),
    "tier.park": ("park", "园区"),
    "tier.collection": ("collection point", "集散点"),
    "tier.facility": ("facility", "设施"),
    "tier.node": ("node", "节点"),
    "tier.depot": ("depot", "配送站"),
    "tier.village": ("village point", "村级网点"),
    # --- report -----------------------------------------------------------------------------------------
    "report.title_suffix": ("siting report", "选址报告"),
    "report.print": ("Print or save as PDF", "打印或另存为 PDF"),
    "report.facilities_head": ("Hubs and parks", "枢纽与园区"),
    "report.top_tiers": ("Facilities of the upper tiers ({n})", "上层设施（{n}）"),
    "report.bottom_summary": ("{tier}: {n}, summarised per unit", "{tier}：共 {n} 个，按规划单元汇总"),
    "report.full_list": ("Full list of {tier} ({n}; also in facilities.csv)", "{tier}完整清单（{n} 个，另见 facilities.csv）"),
    "report.solution": ("Solution", "求解结果"),
    "report.chain": ("Demand points and the facilities serving them ({n}; also in demand.csv)",
                     "需求点及其服务设施（{n} 个，另见 demand.csv）"),
    "report.chain_head": ("Who serves whom", "服务链"),
    "col.unit_name": ("unit", "规划单元"),
    "col.distance_km": ("distance (km)", "距离（公里）"),
    "col.time_min": ("time (min)", "时间（分钟）"),
    "col.distance_source": ("distance from", "距离来源"),
    "col.weight": ("weight", "需求量"),
    "col.demand_id": ("demand id", "需求点编号"),
    "report.costs": ("Cost by tier and cost type (CNY per year)", "按层级与成本类型的年成本（元）"),
    "report.counts": ("Facilities opened per tier", "各层级设施数量"),
    "report.coverage": ("Coverage", "覆盖情况"),
    "report.charts": ("Charts", "图表"),
    "report.model_coverage": ("As reported by the model (summary.json coverage):", "模型报告的覆盖指标（summary.json 中的 coverage）："),
    "report.demand_points": ("demand points", "需求点数量"),
    "report.total_weight": ("total weight", "总需求量"),
    "report.share_covered": ("share of weight covered", "覆盖的需求占比"),
    "report.share_assigned": ("share of weight assigned", "已分配的需求占比"),
    "report.mean_distance": ("mean distance, weighted (km)", "加权平均距离（公里）"),
    "report.max_distance": ("max distance (km)", "最大距离（公里）"),
    "report.within": ("share of weight within {km} km", "{km} 公里内的需求占比"),
    "report.unit_col": ("unit", "规划单元"),
    "report.count_col": ("facilities", "设施数"),
    "report.volume_col": ("volume", "服务量"),
    "report.cost_col": ("cost (CNY)", "成本（元）"),
    "report.no_unit": ("(no unit)", "（无单元）"),
    "report.total": ("total", "合计"),
    "report.fixed": ("fixed", "固定"),
    "report.handling": ("handling", "处理"),
    "report.transport": ("transport", "运输"),
    "report.tier": ("tier", "层级"),
    "report.key": ("item", "项目"),
    "chart.cost_title": ("Cost by tier and cost type", "按层级与成本类型的成本"),
    "chart.million_cny": ("million CNY", "百万元"),
    "chart.no_costs": ("no facility costs in this run", "本次结果没有设施成本"),
    "chart.distance_title": ("Distance distribution of assignments", "分配距离分布"),
    "chart.distance_km": ("distance (km)", "距离（公里）"),
    "chart.assignments": ("assignments", "分配数"),
    "chart.no_assignments": ("no assignments in this run", "本次结果没有分配"),
    "chart.to_tier": ("to {tier}", "至{tier}"),
    "col.facility_id": ("facility id", "设施编号"),
    "col.name": ("name", "名称"),
    "col.tier": ("tier", "层级"),
    "col.unit": ("unit", "规划单元"),
    "col.region": ("region", "区域"),
    "col.volume": ("volume", "服务量"),
    "col.capacity": ("capacity", "容量"),
    "col.utilisation": ("utilisation", "利用率"),
    "col.fixed_cost_cny": ("fixed (CNY)", "固定成本（元）"),
    "col.handling_cost_cny": ("handling (CNY)", "处理成本（元）"),
    "col.transport_cost_cny": ("transport (CNY)", "运输成本（元）"),
    "col.required": ("required", "必选"),
    "col.lon": ("lon", "经度"),
    "col.lat": ("lat", "纬度"),
    "key.scenario": ("scenario", "情景"),
    "key.model": ("model", "模型"),
    "key.status": ("status", "状态"),
    "key.termination": ("termination", "终止原因"),
    "key.objective": ("objective", "目标值"),
    "key.bound": ("bound", "下界"),
    "key.gap": ("gap", "相对间隙"),
    "key.build_seconds": ("build (s)", "建模（秒）"),
    "key.solve_seconds": ("solve (s)", "求解（秒）"),
    "key.seconds": ("total (s)", "合计（秒）"),
    # --- CLI summary (siting run / siting locate) ---------------------------------------------------------
    "cli.head_cost": ("total {total} CNY/yr{cert}", "年总成本 {total} 元{cert}"),
    "cli.head_coverage": ("covered {covered} {unit}{cert}; total {total} CNY/yr", "覆盖 {covered} {unit}{cert}；年总成本 {total} 元"),
    "cli.cert": (" (bound {bound}, gap {gap}%)", "（界 {bound}，相对间隙 {gap}%）"),
    "cli.open": ("open: {counts}; solved in {s} s", "开设：{counts}；求解 {s} 秒"),
    "cli.tier_costs": ("  {tier:<12} fixed {fixed:>16}  handling {handling:>16}  transport {transport:>16}  CNY/yr",
                       "  {tier:<12} 固定 {fixed:>16}  处理 {handling:>16}  运输 {transport:>16}  元/年"),
    "cli.served": ("demand served: {share}% of {total} {unit}; mean distance {d} km",
                   "需求满足：{share}%（共 {total} {unit}）；平均距离 {d} 公里"),
    "cli.verified": ("verified: {ok}; outputs in {out}", "独立校验：{ok}；输出目录 {out}"),
    "cli.locate": ("{model}: {status}, objective {obj}, bound {bound}, {n} facilities ({shown}), {s} s",
                   "{model}：{status}，目标值 {obj}，界 {bound}，{n} 个设施（{shown}），{s} 秒"),
    "cli.locate_ok": ("verified ({n} checks); wrote {out}", "已校验（{n} 项检查）；已写入 {out}"),
    "cli.locate_failed": ("wrote {out} (solution FAILED verification)", "已写入 {out}（解未通过校验）"),
    # --- progress steps ---------------------------------------------------------------------------------
    "step.load": ("loading data and distances", "读取数据并计算距离"),
    "step.build": ("building the model", "构建模型"),
    "step.solve": ("solving (HiGHS)", "求解（HiGHS）"),
    "step.polish": ("polishing the incumbent", "局部搜索改进"),
    "step.verify": ("verifying", "独立校验"),
    "step.write": ("writing outputs", "写出结果"),
    "step.done": ("{step}: done in {s} s", "{step}：完成，用时 {s} 秒"),
}


def check_lang(lang: str) -> str:
    """``lang`` normalised (``"zh-CN"`` -> ``"zh"``); ``ValueError`` naming the choices if unknown."""
    norm = str(lang).strip().lower().replace("_", "-").split("-")[0]
    if norm not in LANGS:
        raise ValueError(f"unknown language {lang!r}; choose one of {', '.join(LANGS)}")
    return norm


def text(lang: str, key: str, **values: Any) -> str:
    """The message ``key`` in ``lang`` with its placeholders filled (``KeyError`` for an unknown key)."""
    en, zh = MESSAGES[key]
    template = zh if lang == "zh" else en
    return template.format(**values) if values else template


def tier_label(lang: str, tier: str) -> str:
    """A tier's name for display: translated when it is a common tier name, else as given."""
    key = f"tier.{tier}"
    return text(lang, key) if lang == "zh" and key in MESSAGES else str(tier)


def status_label(lang: str, status: Any) -> str:
    """A solver status or termination for display (``optimal`` -> ``最优`` in Chinese)."""
    key = f"status.{status}"
    return text(lang, key) if key in MESSAGES else str(status)


def unit_label(lang: str, unit: Any) -> str:
    """A unit of demand (``parcels/yr``, ``t/yr``) for display."""
    key = f"unit.{unit}"
    return text(lang, key) if key in MESSAGES else str(unit)
