"""The run report: cost table, coverage statistics, charts embedded and saved."""

from __future__ import annotations

import base64
import re

import numpy as np
import pytest
from fake_run import fake_run

from siting.outputs import write_run
from siting.outputs.report import cost_table, coverage_stats, render_report

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run():
    return fake_run(n_demand=200, seed=9)


@pytest.fixture(scope="module")
def written(run, tmp_path_factory):
    s, f, a, d, b = run
    return write_run(tmp_path_factory.mktemp("r") / "run", summary=s, facilities=f, assignments=a, demand=d)


def test_report_embeds_and_saves_charts(written):
    text = (written / "report.html").read_text(encoding="utf-8")
    embedded = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)
    assert len(embedded) == 2
    for name, b64 in zip(("chart_cost.png", "chart_distance.png"), embedded, strict=True):
        data = (written / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 5000
        assert base64.b64decode(b64) == data


def test_report_sections(written, run):
    s, f, a, d, _ = run
    text = (written / "report.html").read_text(encoding="utf-8")
    for heading in ("Cost by tier and cost type", "Coverage", f"Facilities of the upper tiers ({len(f)})"):
        assert heading in text
    assert "Facilities opened per tier" not in text  # the counts are a column of the one cost table
    for fid in s["facility_ids"]:
        assert f'<th class="txt">{fid}</th>' in text
    assert "渝北区分拨中心" in text  # Chinese names, UTF-8
    total = f[["fixed_cost_cny", "handling_cost_cny", "transport_cost_cny"]].to_numpy().sum()
    assert f"{total:,.0f}" in text


def test_cost_table(run):
    _, f, *_ = run
    t = cost_table(f)
    assert list(t.index) == ["hub", "park", "total"]  # top tier first
    assert list(t.columns) == ["fixed", "handling", "transport", "total"]
    hub = f[f["tier"] == "hub"]
    assert t.loc["hub", "fixed"] == pytest.approx(hub["fixed_cost_cny"].sum())
    assert t.loc["total", "total"] == pytest.approx(f[["fixed_cost_cny", "handling_cost_cny", "transport_cost_cny"]].to_numpy().sum())


def test_coverage_stats_by_hand(run):
    _, _, _, d, _ = run
    c = coverage_stats(d, thresholds_km=(10.0, 1000.0))
    w = d["weight"].to_numpy()
    dist = d["distance_km"].to_numpy()
    ok = d["assigned_to"].notna().to_numpy()
    assert c["points"] == len(d)
    assert c["share_assigned"] == pytest.approx(w[ok].sum() / w.sum())
    assert c["share_assigned"] < 1.0  # two points are unassigned
    assert c["share_covered"] == pytest.approx(w[d["covered"].to_numpy()].sum() / w.sum())
    assert c["mean_distance_km"] == pytest.approx(np.sum(w[ok] * dist[ok]) / w[ok].sum())
    assert c["max_distance_km"] == pytest.approx(np.nanmax(dist))
    assert c["share_within_km"][10.0] == pytest.approx(w[ok & (dist <= 10)].sum() / w.sum())
    assert c["share_within_km"][1000.0] == pytest.approx(c["share_assigned"])


def test_single_level_run_without_costs(run):
    """A p-median style run: one tier named "facility", no costs: the report still renders its charts."""
    s, f, a, d, _ = run
    parks = f[f["tier"] == "park"].assign(tier="facility", tier_level=0, fixed_cost_cny=0.0, handling_cost_cny=0.0, transport_cost_cny=0.0)
    asg = a[a["tier"] == "park"].assign(tier="facility")
    text = render_report(summary=dict(s, scenario=None, model="p-median"), facilities=parks, assignments=asg, demand=d)
    assert "p-median" in text and text.count("data:image/png;base64,") == 2


def _many_parks(f, a):
    """The run with every park doubled (76 parks): more than FULL_LIST_MAX, so summarised per unit."""
    import pandas as pd

    parks = f[f["tier"] == "park"]
    twins = parks.assign(facility_id=parks["facility_id"] + "b", name=parks["name"] + "二")
    return pd.concat([f, twins], ignore_index=True)


def test_report_layout_hubs_first_large_tier_per_unit(run):
    from siting.outputs.report import FULL_LIST_MAX

    s, f, a, d, _ = run
    fac = _many_parks(f, a)
    n_parks = int((fac["tier"] == "park").sum())
    assert n_parks > FULL_LIST_MAX
    text = render_report(summary=s, facilities=fac, assignments=a, demand=d)
    hubs = text.index("Facilities of the upper tiers (3)")
    per_unit = text.index(f"park: {n_parks}, summarised per unit")
    costs = text.index("Cost by tier and cost type")
    assert hubs < per_unit < costs
    # the full list of parks is collapsible, every id present once in it
    details = text[text.index("<details>", per_unit):text.index("</details>", per_unit)]
    assert f"Full list of park ({n_parks}; also in facilities.csv)" in details
    for fid in fac.loc[fac["tier"] == "park", "facility_id"]:
        assert details.count(f">{fid}</th>") == 1
    # per unit: one row per unit with 2 parks each
    summary_table = text[per_unit:text.index("<details>", per_unit)]
    assert summary_table.count("<tr>") == 1 + fac.loc[fac["tier"] == "park", "unit"].nunique()
    assert text.count("Cost by tier and cost type") == 1  # no second cost table from summary.json
    assert "@media print" in text and "beforeprint" in text
    assert ".txt{white-space:nowrap}" in text  # names and regions never wrap one character per line
    assert '<td class="txt c-name">渝北区分拨中心</td>' in text


def test_report_in_chinese(run):
    s, f, a, d, _ = run
    text = render_report(summary=s, facilities=f, assignments=a, demand=d, lang="zh")
    assert '<html lang="zh-CN">' in text
    for word in ("上层设施", "按层级与成本类型的年成本", "覆盖情况", "图表", "枢纽", "园区", "打印"):
        assert word in text, word
    for english in ("Coverage", "Charts", "Facilities of the upper tiers"):
        assert english not in text


def test_report_lists_the_serving_chain_when_the_pipeline_gives_it(run):
    s, f, a, d, _ = run
    names = dict(zip(f["facility_id"], f["name"], strict=True))
    hub_of = dict(zip(a.loc[a["tier"] == "hub", "from_id"], a.loc[a["tier"] == "hub", "to_id"], strict=True))
    chained = d.assign(park_id=d["assigned_to"], park_name=d["assigned_to"].map(names),
                       hub_id=d["assigned_to"].map(hub_of), hub_name=d["assigned_to"].map(hub_of).map(names),
                       unit_name="某单元", time_min=d["distance_km"] * 2)
    text = render_report(summary=s, facilities=f, assignments=a, demand=chained, pngs={})
    assert f"Demand points and the facilities serving them ({len(d)}; also in demand.csv)" in text
    assert "<th>park</th>" in text.replace(' class="c-park"', "") and "分拨中心" in text
    assert "time (min)" in text
    plain = render_report(summary=s, facilities=f, assignments=a, demand=d, pngs={})
    assert "Who serves whom" not in plain  # no chain columns: no section
