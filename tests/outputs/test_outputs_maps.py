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
