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
    for heading in ("Cost by tier and cost type", "Coverage", f"Facilities ({len(f)})", "Facilities opened per tier"):
        assert heading in text
    for fid in s["facility_ids"]:
        assert f"<th>{fid}</th>" in text
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
