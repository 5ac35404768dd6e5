"""Map HTML without a browser: offline-safety, size, facility markers, layers (the browser test loads them)."""

from __future__ import annotations

import re

import pytest
from fake_run import fake_run

from siting.outputs import write_run
from siting.outputs.assets import LEAFLET_VERSION, check_offline, external_references, leaflet_css, leaflet_js
from siting.outputs.maps import make_map, render_html

# anything that would make a browser fetch a script, a stylesheet, a font or an image from elsewhere
# (hyperlinks such as Leaflet's attribution <a href="https://leafletjs.com"> are only followed on a click)
_EXTERNAL = [
    re.compile(r"<script[^>]+src\s*=", re.I),
    re.compile(r"<link[^>]+href\s*=", re.I),
    re.compile(r"<(img|iframe|embed|source)[^>]+src\s*=\s*[\"']?(https?:)?//", re.I),
    re.compile(r"url\(\s*[\"']?(https?:)?//", re.I),
    re.compile(r"//cdn", re.I),
    re.compile(r"@import", re.I),
]


def assert_self_contained(text: str) -> None:
    for pat in _EXTERNAL:
        m = pat.search(text)
        assert m is None, f"external reference: {text[max(0, m.start() - 80) : m.end() + 80]!r}"


@pytest.fixture(scope="module")
def chongqing(tmp_path_factory):
    """A Chongqing-scale run: 38 districts, ~1,000 demand points, ~1,000 flow lines."""
    s, f, a, d, b = fake_run(n_demand=1000, seed=5)
    out = write_run(tmp_path_factory.mktemp("m") / "run", summary=s, facilities=f, assignments=a, demand=d, boundaries=b,
                    map_options={"coverage_km": {"hub": 150.0}})
    return out, (s, f, a, d, b)


def test_generated_html_is_self_contained(chongqing):
    out, _ = chongqing
    for name in ("map.html", "report.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert_self_contained(text)
        assert external_references(text) == []
    page = (out / "map.html").read_text(encoding="utf-8")
    assert f'version="{LEAFLET_VERSION}"' in page  # Leaflet itself is inline
    assert "url(images/" not in page  # its CSS images are data URIs
    assert "jquery" not in page.lower() and "bootstrap" not in page.lower()


def test_map_size_and_content(chongqing):
    out, (s, f, a, d, b) = chongqing
    page = (out / "map.html").read_text(encoding="utf-8")
    size = (out / "map.html").stat().st_size
    assert size < 3_000_000, f"map.html is {size / 1e6:.2f} MB"
    # one facility marker per facility, with the class the browser test counts
    assert page.count('"className":"siting-facility siting-tier-0"') == 1  # one layer style per tier
    assert page.count('"className":"siting-facility siting-tier-1"') == 1
    assert len(a) > 1000 and len(d) > 900
    for fid in s["facility_ids"]:
        assert f"({fid})" in page  # each popup names its facility
    assert "L.control.scale()" in page
    assert "fitBounds" in page
    assert "L.control.layers" in page
    assert "Districts: demand (weight)" in page and "Districts: population" in page
    assert "Coverage of hub (150.0 km)" in page
    assert s["scenario"] in page
    # the OSM basemap is optional and off: its tile layer is created but not added to the map
    assert "tile.openstreetmap.org" in page
    osm_var = re.search(r"var (tile_layer_\w+) = L\.tileLayer\(", page).group(1)
    assert f"{osm_var}.addTo(" not in page


def test_simplification_shrinks_boundaries(chongqing):
    _, (s, f, a, d, b) = chongqing
    kw = {"summary": s, "facilities": f.iloc[:0], "assignments": a.iloc[:0], "demand": d.iloc[:0], "boundaries": b}
    exact = render_html(make_map(**kw, simplify_deg=0.0))
    simple = render_html(make_map(**kw))
    assert len(simple) < 0.6 * len(exact)


def test_check_offline_catches_cdn_links():
    with pytest.raises(RuntimeError, match="external"):
        check_offline('<html><script src="https://cdn.jsdelivr.net/npm/leaflet.js"></script></html>')
    with pytest.raises(RuntimeError):
        check_offline('<link rel="stylesheet" href="//cdnjs.cloudflare.com/x.css">')
    with pytest.raises(RuntimeError):
        check_offline('<link rel="stylesheet" href="local.css">')  # a sibling file does not travel with the map
    check_offline('<img src="data:image/png;base64,AAAA"><script>var u = "https://tile/{z}";</script>')


def test_folium_default_cdn_links_would_be_caught():
    """If folium's default CDN links came back (e.g. a plugin), save_map would refuse the page."""
    import folium

    m = folium.Map()
    with pytest.raises(RuntimeError, match="external"):
        check_offline(m.get_root().render())


def test_vendored_leaflet_is_complete():
    js, css = leaflet_js(), leaflet_css()
    assert len(js) > 100_000 and "sourceMappingURL" not in js
    assert "leaflet-control-layers-toggle" in css and "data:image/png;base64," in css


def test_unknown_map_option_rejected(chongqing):
    _, (s, f, a, d, b) = chongqing
    with pytest.raises(TypeError):
        make_map(summary=s, facilities=f, assignments=a, demand=d, colour="red")


def test_coverage_circles_default_from_summary(chongqing, tmp_path):
    from siting.outputs import write_run

    _, (s, f, a, d, b) = chongqing
    summary = dict(s, coverage={"radius_km": {"hub": None, "park": 25.0}})
    out = write_run(tmp_path / "r", summary=summary, facilities=f, assignments=a, demand=d)
    page = (out / "map.html").read_text(encoding="utf-8")
    assert "Coverage of park (25.0 km)" in page and "Coverage of hub" not in page
    assert '"radius":25000.0' in page


def _paris_run():
    """A tiny single-level run far from Chongqing (no boundaries, no packaged data for it)."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point

    fac = gpd.GeoDataFrame({"facility_id": ["F1"], "name": ["Dépôt Nord"], "tier": ["facility"], "tier_level": [0],
                            "unit": [None], "region": [None], "volume": [3.0], "capacity": [float("nan")],
                            "utilisation": [float("nan")], "fixed_cost_cny": [0.0], "handling_cost_cny": [0.0],
                            "transport_cost_cny": [float("nan")], "required": [False]},
                           geometry=[Point(2.35, 48.86)], crs="EPSG:4326")
    pts = [(2.30, 48.84), (2.40, 48.90), (2.33, 48.88)]
    dem = gpd.GeoDataFrame({"demand_id": ["a", "b", "c"], "name": ["A", "B", "C"], "weight": [1.0, 1.0, 1.0],
                            "assigned_to": ["F1"] * 3, "distance_km": [4.0, 5.0, 2.0], "covered": [True] * 3},
                           geometry=[Point(p) for p in pts], crs="EPSG:4326")
    asg = gpd.GeoDataFrame({"from_id": ["a", "b", "c"], "to_id": ["F1"] * 3, "tier": ["facility"] * 3,
                            "distance_km": [4.0, 5.0, 2.0], "volume": [1.0] * 3, "cost_cny": [float("nan")] * 3},
                           geometry=[LineString([p, (2.35, 48.86)]) for p in pts], crs="EPSG:4326")
    summary = {"model": "p-median", "status": "optimal", "termination": "optimal", "objective": 11.0, "bound": 11.0,
               "gap": 0.0, "build_seconds": 0.0, "solve_seconds": 0.0, "seconds": 0.0, "facility_ids": ["F1"],
               "counts_by_tier": {"facility": 1}, "coverage": {}}
    return summary, fac, asg, dem


def test_reference_outline_without_boundaries_outside_chongqing():
    s, f, a, d = _paris_run()
    page = render_html(make_map(summary=s, facilities=f, assignments=a, demand=d))
    assert "Reference: extent of the data (offline)" in page and "siting-reference" in page
    assert "Chongqing districts" not in page
    assert "graticule every 0.5°" in page or "graticule every" in page
    # flow tooltips name both ends: the demand point and the facility, each with its id
    assert "\\u003cb\\u003eA\\u003c/b\\u003e (a) → \\u003cb\\u003eDépôt Nord\\u003c/b\\u003e (F1)" in page


def test_tianditu_only_with_a_key_and_never_gcj02_tiles(tmp_path, monkeypatch):
    s, f, a, d = _paris_run()
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    plain = write_run(tmp_path / "plain", summary=s, facilities=f, assignments=a, demand=d)
    text = (plain / "map.html").read_text(encoding="utf-8")
    assert "tianditu" not in text
    monkeypatch.setenv("TIANDITU_KEY", "abc123")
    keyed = write_run(tmp_path / "keyed", summary=s, facilities=f, assignments=a, demand=d)
    text = (keyed / "map.html").read_text(encoding="utf-8")
    assert all(f"tianditu.gov.cn/{x}_w/wmts" in text for x in ("vec", "img", "eva")) and text.count("tk=abc123") == 3
    assert "Tianditu map (online, CGCS2000)" in text
    check_offline(text)  # tile templates are not loaded unless the user switches the layer on
    for gcj in ("autonavi", "amap.com", "gtimg", "map.qq.com", "bdimg", "baidu"):
        assert gcj not in text.lower()
    # the key given in map_options wins over the environment
    given = write_run(tmp_path / "given", summary=s, facilities=f, assignments=a, demand=d,
                      map_options={"tianditu_key": "k&1"})
    assert "tk=k%261" in (given / "map.html").read_text(encoding="utf-8")
