"""The generated maps in a real headless Chromium with the network off.

Chromium is driven through the DevTools protocol over ``--remote-debugging-pipe`` (file descriptors 3 and
4, NUL-separated JSON), so no extra Python package and no TCP port are needed. Every network request is
recorded: the map must make none besides its own ``file://`` URL and ``data:`` URIs. The proxy
``127.0.0.1:9`` makes any escaped request fail loudly as well.

Skipped when no Chromium is installed, except in CI (``CI`` set), where that is a failure.
Screenshots go to ``tests/artifacts/`` (gitignored).
"""

from __future__ import annotations

import base64
import re
import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from fake_run import fake_run

from siting.outputs import write_run

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _find_browser() -> str | None:
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="module")
def browser_path() -> str:
    path = _find_browser()
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("no Chromium found in CI: .ci/run should have installed Debian's chromium")
        pytest.skip("no Chromium installed (apt-get install chromium)")
    return path


class Chromium:
    """A headless Chromium with the network off, spoken to over the DevTools pipe."""

    def __init__(self, exe: str, *, width: int = 1400, height: int = 1000):
        self.profile = tempfile.mkdtemp(prefix="siting-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # the child's ends must not be 3 or 4 themselves, or the redirections below would clobber each other
        # (bash, not sh: dash cannot redirect from file descriptors above 9)
        for_child = []
        for fd in (to_browser_r, from_browser_w):
            high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
            os.close(fd)
            for_child.append(high)
        to_browser_r, from_browser_w = for_child
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--disable-default-apps",
            "--no-first-run",
            "--no-default-browser-check",
            "--proxy-server=127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>",
            f"--user-data-dir={self.profile}",
            f"--window-size={width},{height}",
            "--hide-scrollbars",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # the browser reads commands on fd 3 and writes replies on fd 4
        self.proc = subprocess.Popen(
            [shutil.which("bash") or "/bin/bash", "-c", f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w}', exe, *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buf = b""
        self._next_id = 0
        self.events: list[dict] = []

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:  # noqa: BLE001 - best effort, then kill
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the pipe (exit code {self.proc.poll()})")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict | None = None, *, session: str | None = None, timeout: float = 30) -> dict:
        self._next_id += 1
        msg: dict = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str, *, session: str, timeout: float = 30) -> dict:
        for ev in self.events:
            if ev.get("method") == method and ev.get("sessionId") == session:
                return ev
        deadline = time.monotonic() + timeout
        while True:
            ev = self._read_message(deadline)
            self.events.append(ev)
            if ev.get("method") == method and ev.get("sessionId") == session:
                return ev

    def open(self, url: str) -> str:
        """Open ``url`` in a new tab, wait for its load event; return the session id."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_event("Page.loadEventFired", session=session, timeout=60)
        return session

    def evaluate(self, expression: str, *, session: str):
        res = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session=session)
        if "exceptionDetails" in res:
            raise RuntimeError(f"JS error: {res['exceptionDetails']}")
        return res["result"].get("value")

    def screenshot(self, path: Path, *, session: str) -> None:
        data = self.send("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
        path.write_bytes(base64.b64decode(data))

    def problems(self, session: str, own_url: str) -> list[str]:
        """Console errors, uncaught exceptions, failed loads and any request that left the file."""
        out = []
        for ev in self.events:
            if ev.get("sessionId") != session:
                continue
            m, p = ev.get("method"), ev.get("params", {})
            if m == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('exception', {}).get('description') or p['exceptionDetails'].get('text')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
            elif m == "Log.entryAdded" and p["entry"].get("level") == "error":
                out.append(f"log: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif m == "Network.requestWillBeSent":
                url = p["request"]["url"]
                if not (url == own_url or url.startswith("data:")):
                    out.append(f"request: {url}")
            elif m == "Network.loadingFailed":
                out.append(f"loading failed: {p.get('errorText')}")
        return out


_PROBE = """
(() => {
  const maps = Object.keys(window).filter(k => { try { return window[k] instanceof L.Map; } catch (e) { return false; } });
  const map = maps.length ? window[maps[0]] : null;
  const out = {leaflet: (typeof L !== 'undefined') ? L.version : null, maps: maps.length,
               facilities: document.querySelectorAll('path.siting-facility').length,
               layerControl: document.querySelectorAll('.leaflet-control-layers').length,
               scale: document.querySelectorAll('.leaflet-control-scale').length,
               legend: document.querySelectorAll('.siting-legend').length,
               title: (document.querySelector('.siting-title') || {}).textContent || null,
               outside: 0, zoom: null, popup: null};
  if (map) {
    out.zoom = map.getZoom();
    const bounds = map.getBounds();
    let first = null;
    map.eachLayer(l => {
      if (l instanceof L.CircleMarker && !(l instanceof L.Circle) && String(l.options.className || '').includes('siting-facility')) {
        if (!bounds.contains(l.getLatLng())) { out.outside += 1; }
        if (!first) { first = l; }
      }
    });
    if (first) {
      first.openPopup();
      const el = document.querySelector('.leaflet-popup-content');
      out.popup = el ? el.textContent : null;
    }
  }
  return out;
})()
"""


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """The maps to check: a Chongqing-scale run, one without boundaries, one with no solution, a comparison."""
    from siting.outputs.compare import write_compare

    root = tmp_path_factory.mktemp("browser")
    s, f, a, d, b = fake_run(n_demand=1000, seed=11, scenario="Chongqing 3+41 (synthetic)")
    full = write_run(root / "full", summary=s, facilities=f, assignments=a, demand=d, boundaries=b,
                     map_options={"coverage_km": {"hub": 150.0, "park": 40.0}})
    s2, f2, a2, d2, _ = fake_run(n_demand=150, seed=12, scenario="small, no boundaries", drop_parks=5)
    plain = write_run(root / "plain", summary=s2, facilities=f2, assignments=a2, demand=d2, map_options={"osm": False})
    dem0 = d2.assign(assigned_to=None, distance_km=float("nan"), covered=False)
    s0 = dict(s2, status="no_solution", termination="time_limit", objective=None, bound=None, gap=None,
              facility_ids=[], counts_by_tier={}, cost_cny={})
    empty = write_run(root / "empty", summary=s0, facilities=f2.iloc[:0], assignments=a2.iloc[:0], demand=dem0, boundaries=b)
    s3, f3, a3, d3, _ = fake_run(n_demand=300, seed=11, scenario="fewer parks", drop_parks=6)
    other = write_run(root / "other", summary=s3, facilities=f3, assignments=a3, demand=d3, boundaries=b)
    cmp_dir = write_compare([full, other], root / "compare", boundaries=b)
    # the chain columns `siting run` adds to the demand layer, and a Chinese map with a Tianditu key (layers off)
    s4, f4, a4, d4, _ = fake_run(n_demand=200, seed=13, scenario="chain, zh")
    d4 = _with_chain(d4, f4, a4)
    zh = write_run(root / "zh", summary=s4, facilities=f4, assignments=a4, demand=d4, lang="zh",
                   map_options={"tianditu_key": "not-a-real-key"})
    return {
        "full": (full / "map.html", len(s["facility_ids"])),
        "plain": (plain / "map.html", len(s2["facility_ids"])),
        "empty": (empty / "map.html", 0),
        "compare": (cmp_dir / "compare.html", json.loads((cmp_dir / "compare.json").read_text())["sites_total"]),
        "zh": (zh / "map.html", len(s4["facility_ids"])),
    }


def _with_chain(demand, facilities, assignments):
    """Add the township -> park -> hub chain columns (as `siting run` writes them) to a fake demand layer."""
    names = dict(zip(facilities["facility_id"], facilities["name"], strict=True))
    hub_of = dict(zip(assignments.loc[assignments["tier"] == "hub", "from_id"], assignments.loc[assignments["tier"] == "hub", "to_id"], strict=True))
    park = demand["assigned_to"]
    hub = park.map(hub_of)
    return demand.assign(
        park_id=park, park_name=park.map(names), hub_id=hub, hub_name=hub.map(names),
        unit_name=park.map(dict(zip(facilities["facility_id"], facilities["unit"], strict=True))),
        time_min=demand["distance_km"] * 1.5, distance_source="modelled (great circle × 1.3)",
    )


@pytest.fixture(scope="module")
def chromium(browser_path):
    c = Chromium(browser_path)
    yield c
    c.close()


@pytest.mark.parametrize("name", ["full", "plain", "empty", "compare", "zh"])
def test_map_loads_offline(chromium, maps, name):
    path, expected = maps[name]
    url = path.resolve().as_uri()
    session = chromium.open(url)
    time.sleep(0.3)  # let Leaflet finish drawing before the screenshot
    info = chromium.evaluate(_PROBE, session=session)
    time.sleep(0.4)  # the probe opened a popup: let it fade in
    ARTIFACTS.mkdir(exist_ok=True)
    chromium.screenshot(ARTIFACTS / f"map-{name}.png", session=session)
    assert chromium.problems(session, url) == []
    assert info["leaflet"] == "1.9.4"
    assert info["maps"] == 1
    assert info["facilities"] == expected
    assert info["layerControl"] == 1 and info["scale"] == 1
    assert info["outside"] == 0, "the map must open fitted to its data"
    if expected:
        assert info["popup"], "a facility popup must open"
    if name != "compare":
        run_summary = json.loads((path.parent / "summary.json").read_text(encoding="utf-8"))
        assert len(run_summary["facility_ids"]) == info["facilities"]
        assert run_summary["scenario"] in info["title"]
        if expected and name != "zh":
            assert "Utilisation" in info["popup"] and "Transport cost" in info["popup"]
        if expected and name == "zh":
            assert "利用率" in info["popup"] and "运输成本" in info["popup"]


_TOOLTIPS = """
(() => {
  const maps = Object.keys(window).filter(k => { try { return window[k] instanceof L.Map; } catch (e) { return false; } });
  const map = window[maps[0]];
  const out = {reference: 0, flows: [], demand: [], legend: (document.querySelector('.siting-legend') || {}).textContent || '',
               control: (document.querySelector('.leaflet-control-layers') || {}).textContent || '', tiles: 0};
  map.eachLayer(l => {
    const cls = String((l.options || {}).className || '');
    const tip = l.getTooltip && l.getTooltip() ? l.getTooltip().getContent() : null;
    if (cls.includes('siting-reference')) { out.reference += 1; }
    if (cls.includes('siting-flow') && tip && out.flows.length < 50) { out.flows.push(tip); }
    if (cls.includes('siting-demand') && tip && out.demand.length < 50) { out.demand.push(tip); }
    if (l instanceof L.TileLayer) { out.tiles += 1; }
  });
  // hover the first demand point: its tooltip opens in the page
  let first = null, any = null;  // the first demand point with its serving chain (else any demand point)
  map.eachLayer(l => {
    const tip = l.getTooltip && l.getTooltip() ? String(l.getTooltip().getContent()) : '';
    if (!String((l.options || {}).className || '').includes('siting-demand')) { return; }
    if (!any) { any = l; }
    if (!first && tip.split('<br>').length > 6) { first = l; }
  });
  first = first || any;
  if (first) { first.openTooltip(); }
  const el = document.querySelector('.leaflet-tooltip');
  out.open = el ? el.textContent : null;
  return out;
})()
"""


def _tooltips(chromium, path):
    url = path.resolve().as_uri()
    session = chromium.open(url)
    time.sleep(0.3)
    info = chromium.evaluate(_TOOLTIPS, session=session)
    return session, url, info


def test_reference_layer_on_a_map_without_boundaries(chromium, maps):
    """The plain map (no boundaries given) lies in Chongqing: the packaged districts are drawn under it."""
    session, url, info = _tooltips(chromium, maps["plain"][0])
    assert chromium.problems(session, url) == []
    assert info["reference"] >= 30  # the Chongqing districts (38), drawn from the packaged data
    assert "Reference: Chongqing districts (offline)" in info["control"]
    assert "graticule" in info["control"]
    assert info["tiles"] == 0  # OSM was switched off for this map; nothing online is shown


def test_flow_and_demand_tooltips_show_names(chromium, maps):
    session, url, info = _tooltips(chromium, maps["full"][0])
    assert chromium.problems(session, url) == []
    assert info["flows"] and all("→" in t for t in info["flows"])
    # flows into parks name the park (物流园) and start at a named demand point (点…); flows into hubs name the hub
    assert any("物流园" in t and "点" in t for t in info["flows"])
    assert all(re.search(r"\(P\d+\)|\(H\d+\)", t) for t in info["flows"])  # the id after the name
    assert any("served by" in t and "物流园" in t for t in info["demand"])
    assert info["open"] and "weight" in info["open"]


def test_zh_map_shows_the_chain_in_chinese(chromium, maps):
    path = maps["zh"][0]
    session, url, info = _tooltips(chromium, path)
    time.sleep(0.3)
    ARTIFACTS.mkdir(exist_ok=True)
    chromium.screenshot(ARTIFACTS / "map-zh-tooltip.png", session=session)
    assert chromium.problems(session, url) == []  # the Tianditu layers are offered but off: no request
    assert "图例" in info["legend"] and "需求点" in info["legend"]
    assert "天地图矢量底图" in info["control"] and "参考：重庆区县边界（离线）" in info["control"]
    chain = [t for t in info["demand"] if "园区" in t]
    assert chain, info["demand"][:3]
    assert any("枢纽" in t and "分拨中心" in t and "规划单元" in t and "分钟" in t for t in chain)
    assert info["open"] and "需求量" in info["open"]


def test_console_errors_are_detected(chromium, tmp_path):
    """The harness itself: a page with a script error and an external script must be reported."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><script src="https://cdn.example.org/x.js"></script><script>nope();</script></body></html>')
    url = page.resolve().as_uri()
    session = chromium.open(url)
    problems = chromium.problems(session, url)
    assert any("nope" in p for p in problems), problems
    assert any("cdn.example.org" in p for p in problems), problems


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
