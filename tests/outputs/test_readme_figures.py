"""The README's quoted sample output must match the regression file of a real run (tests/data/readme_express.json).

README.md's Quickstart quotes what ``siting run models/chongqing-express.toml`` prints: the fenced block right
after the line containing "What the first command prints". Its lines, as ``siting run`` prints them::

    chongqing-express: optimal; total 3,314,200,516 CNY/yr (bound 3,313,800,420, gap 0.0121%)
    open: hub 3, park 41, collection 627; solved in 8.5 s
      hub          fixed ...  handling ...  transport ...  CNY/yr        (optional, one per tier)
    demand served: 100.00% of 3,013,090,946 parcels/yr; mean distance 1.17 km
    verified: yes; outputs in maps/chongqing-express

Each figure is compared with the regression file within its print rounding (the file's ``tolerance``), so a
README quoting another run (another incumbent within the gap) fails. Update both from one run with
``python scripts/readme_figures.py maps/chongqing-express``. The second test re-runs the scenario and checks
the regression file itself against a real run, within the solver's gap.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
REGRESSION = REPO / "tests" / "data" / "readme_express.json"
MARKER = "What the first command prints"

_HEAD = re.compile(r"^(?P<name>\S+): (?P<status>[^;]+); total (?P<total>[\d,]+) CNY/yr "
                   r"\(bound (?P<bound>[\d,]+), gap (?P<gap>[\d.e+-]+)%\)$")
_OPEN = re.compile(r"^open: (?P<counts>.+); solved in (?P<seconds>[\d.]+) s$")
_TIER = re.compile(r"^  (?P<tier>\S+)\s+fixed\s+(?P<fixed>[\d,]+)\s+handling\s+(?P<handling>[\d,]+)\s+"
                   r"transport\s+(?P<transport>[\d,]+)\s+CNY/yr$")
_SERVED = re.compile(r"^demand served: (?P<share>[\d.]+)% of (?P<total>[\d,]+) (?P<unit>\S+); "
                     r"mean distance (?P<d>[\d.]+) km$")
_VERIFIED = re.compile(r"^verified: (?P<ok>yes|NO); outputs in (?P<out>\S+)$")


def quoted_block(readme: str) -> list[str]:
    """The lines of the first fenced block after the line holding :data:`MARKER`."""
    at = readme.find(MARKER)
    assert at >= 0, f"README.md has no line with {MARKER!r}"
    m = re.search(r"^```[^\n]*\n(.*?)^```", readme[at:], flags=re.S | re.M)
    assert m, f"no fenced block after {MARKER!r}"
    return [ln for ln in m.group(1).splitlines() if ln.strip()]


def parse_block(lines: list[str]) -> dict:
    """The figures of the quoted output; fails naming the line that does not have the printed layout."""
    out: dict = {"tiers": {}}
    for ln in lines:
        for name, rx in (("head", _HEAD), ("open", _OPEN), ("tier", _TIER), ("served", _SERVED), ("verified", _VERIFIED)):
            m = rx.match(ln)
            if m:
                if name == "tier":
                    out["tiers"][m["tier"]] = {k: float(m[k].replace(",", "")) for k in ("fixed", "handling", "transport")}
                else:
                    out[name] = m.groupdict()
                break
        else:
            raise AssertionError(f"README line not in the layout siting run prints: {ln!r}")
    missing = [k for k in ("head", "open", "served", "verified") if k not in out]
    assert not missing, f"README block lacks the {', '.join(missing)} line(s)"
    return out


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def test_readme_quotes_the_regression_run():
    reg = json.loads(REGRESSION.read_text(encoding="utf-8"))
    tol = reg["tolerance"]
    got = parse_block(quoted_block(README.read_text(encoding="utf-8")))
    head, served = got["head"], got["served"]
    assert head["name"] == reg["scenario"]
    assert head["status"].split(",")[0] == reg["status"]
    for key, field in (("total", "total_cny"), ("bound", "bound_cny")):
        assert _num(head[key]) == pytest.approx(reg[field], rel=tol["cny_relative"], abs=0.5), \
            f"README {key} {head[key]} differs from the regression run ({reg[field]:,.0f}): run scripts/readme_figures.py"
    assert float(head["gap"]) / 100 == pytest.approx(reg["gap"], rel=tol["gap_relative"], abs=5e-9)
    counts = dict(re.findall(r"(\S+) (\d+)", got["open"]["counts"]))
    assert {k: int(v) for k, v in counts.items()} == reg["counts_by_tier"]
    for tier, costs in got["tiers"].items():
        for kind, v in costs.items():
            assert v == pytest.approx(reg["cost_cny"][tier][kind], rel=tol["cny_relative"], abs=0.5), (tier, kind)
    assert float(served["share"]) == pytest.approx(100 * reg["share_served"], abs=tol["share_points"])
    assert _num(served["total"]) == pytest.approx(reg["demand_total"], rel=tol["cny_relative"], abs=0.5)
    assert served["unit"] == reg["weight_unit"]
    assert float(served["d"]) == pytest.approx(reg["mean_distance_km"], abs=tol["distance_km"])
    assert (got["verified"]["ok"] == "yes") == bool(reg["verified"])


def test_the_parser_catches_drift():
    """The check itself: the issue's stale figures (another run at another gap) are refused."""
    lines = [
        "chongqing-express: optimal; total 3,314,031,324 CNY/yr (bound 3,313,800,420, gap 0.00697%)",
        "open: hub 3, park 41, collection 627; solved in 8.5 s",
        "demand served: 100.00% of 3,013,090,946 parcels/yr; mean distance 1.17 km",
        "verified: yes; outputs in maps/chongqing-express",
    ]
    got = parse_block(lines)
    assert _num(got["head"]["total"]) == 3314031324 and got["head"]["gap"] == "0.00697"
    assert _num(got["head"]["total"]) != pytest.approx(3314200516, rel=1e-6)  # the run the issue measured
    with pytest.raises(AssertionError, match="layout"):
        parse_block([*lines, "open: hub three"])
    readme = f"x\n{MARKER} (measured):\n\n```\n" + "\n".join(lines) + "\n```\nmore\n```\nother\n```\n"
    assert quoted_block(readme) == lines


@pytest.mark.solver
def test_regression_file_is_a_real_run():
    """A fresh run agrees with the regression file within the solver's gap (the figures are not made up)."""
    from siting.pipeline.run import run_scenario

    reg = json.loads(REGRESSION.read_text(encoding="utf-8"))
    s = run_scenario(REPO / "models" / "chongqing-express.toml", write=False).summary
    gap = max(float(s["solver_options"].get("mip_rel_gap") or 1e-4), s["gap"] or 0.0, reg["gap"])
    assert s["cost_cny"]["total"] == pytest.approx(reg["total_cny"], rel=2 * gap + 1e-9)
    assert s["bound"] <= reg["total_cny"] * (1 + 1e-9) and reg["bound_cny"] <= s["cost_cny"]["total"] * (1 + 1e-9)
    assert {k: s["counts_by_tier"][k] for k in ("hub", "park")} == {k: reg["counts_by_tier"][k] for k in ("hub", "park")}
    assert s["coverage"]["demand_total"] == pytest.approx(reg["demand_total"], rel=1e-9)
