"""Sweep charts: y-axes from zero, and a chart of facilities per tier."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from siting.sweep.plot import count_columns, write_tradeoff


def _frame() -> pd.DataFrame:
    # costs within 0.5 % of each other: with a y-axis from the minimum this looked like a cliff
    return pd.DataFrame({
        "run": [1, 2, 3], "run_id": ["a", "b", "c"], "tiers.collection.radius_km": [10, 15, 20],
        "status": ["optimal"] * 3, "objective": [1.000e9, 0.998e9, 0.995e9],
        "cost_cny.total": [1.000e9, 0.998e9, 0.995e9], "count.hub": [3, 3, 3], "count.park": [41, 41, 41],
        "count.collection": [900, 640, 420], "seconds": [1.0, 1.0, 1.0], "error": [None] * 3,
    })


def test_charts_start_at_zero_and_show_facilities_per_tier(tmp_path: Path):
    frame = _frame()
    png, page = write_tradeoff(frame, ["tiers.collection.radius_km"], tmp_path, title="express")
    html = page.read_text(encoding="utf-8")
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 2
    for svg in svgs:  # the lowest y tick of every chart is 0
        yticks = re.findall(r'text-anchor="end" class="tick">([^<]+)<', svg)
        assert yticks[0] == "0", yticks
    assert "facilities per tier against tiers.collection.radius_km" in html
    counts = svgs[1]
    for tier in ("hub", "park", "collection"):
        assert f"<title>{tier}</title>" in counts
    assert count_columns(frame) == ["count.hub", "count.park", "count.collection"]
    assert png.stat().st_size > 5000


def test_second_key_is_held_at_its_first_value(tmp_path: Path):
    a = _frame().assign(**{"demand.year": 2024})
    b = _frame().assign(**{"demand.year": 2027, "run": [4, 5, 6], "run_id": ["d", "e", "f"], "count.collection": [1, 2, 3]})
    frame = pd.concat([a, b], ignore_index=True)
    _, page = write_tradeoff(frame, ["tiers.collection.radius_km", "demand.year"], tmp_path, title="t")
    html = page.read_text(encoding="utf-8")
    assert "(demand.year=2024)" in html
