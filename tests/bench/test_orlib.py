"""OR-Library readers, optima listings, published optima and the ``siting bench orlib`` command."""

from __future__ import annotations

import itertools
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest

from siting.bench.generate import pmed_text
from siting.bench.runner import discover
from siting.bench.orlib import floyd_warshall, load_optima, pmed_cost_matrix, read_cap, read_optima, read_optima_csv, read_pmed
from siting.core.errors import DataError, ScenarioError

SHARED = Path(os.environ.get("SITING_SHARED") or Path(__file__).resolve().parents[3] / "shared")
ORLIB = SHARED / "benchmarks" / "orlib"
needs_orlib = pytest.mark.skipif(not (ORLIB / "pmed").is_dir(), reason=f"{ORLIB} is absent")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    f = tmp_path / name
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(text)
    return f


# ------------------------------------------------------------------------------------------ pmed reader
def test_repeated_edge_keeps_last_line(tmp_path: Path) -> None:
    # edge {1,2} appears three times: costs 5, 2, then 9 (written 2 1) -> OR-Library keeps 9.
    # Summing would give 16, taking the minimum 2.
    f = _write(tmp_path, "tiny.txt", " 4 6 1 \n 1 2 5 \n 2 3 1 \n 1 2 2\n 3 4 2 \n 2 1 9 \n 4 2 7 \n")
    prob = read_pmed(f)
    d = prob.matrix().toarray()
    expected = np.array(
        [[0, 9, 10, 12], [9, 0, 1, 3], [10, 1, 0, 2], [12, 3, 2, 0]], dtype=float
    )
    np.testing.assert_array_equal(d, expected)
    assert prob.meta["p"] == 1 and prob.meta["repeated_edges"] == 2 and prob.meta["n_edges"] == 6
    assert prob.n_demand == prob.n_candidates == 4 and prob.n_pairs == 16
    np.testing.assert_array_equal(prob.weight, np.ones(4))


def test_floyd_matches_scipy_on_generated_graph() -> None:
    rng = np.random.default_rng(3)
    n = 60
    i = rng.integers(0, n, 400)
    j = (i + rng.integers(1, n, 400)) % n
    c = rng.integers(0, 50, 400).astype(float)  # zero-cost edges included
    a, _ = pmed_cost_matrix(n, i, j, c, method="scipy")
    b, _ = pmed_cost_matrix(n, i, j, c, method="floyd")
    np.testing.assert_array_equal(a, b)


@needs_orlib
def test_floyd_matches_scipy_on_pmed1() -> None:
    a = read_pmed(ORLIB / "pmed" / "pmed1.txt", method="scipy").matrix().toarray()
    b = read_pmed(ORLIB / "pmed" / "pmed1.txt", method="floyd").matrix().toarray()
    np.testing.assert_array_equal(a, b)
    assert read_pmed(ORLIB / "pmed" / "pmed1.txt").meta["repeated_edges"] == 2


def test_floyd_warshall_small() -> None:
    inf = np.inf
    c = np.array([[0, 4, inf], [4, 0, 1], [inf, 1, 0]])
    np.testing.assert_array_equal(floyd_warshall(c), [[0, 4, 5], [4, 0, 1], [5, 1, 0]])


def test_malformed_pmed_reports_every_line(tmp_path: Path) -> None:
    f = _write(tmp_path, "bad.txt", "5 4 2\n1 2 3\n2 x 4\n3 9 1\n4 4 2\n")
    with pytest.raises(DataError) as exc:
        read_pmed(f)
    lines = exc.value.lines()
    assert any("line 3" in s and "'x'" in s for s in lines), lines
    with pytest.raises(DataError) as exc:
        read_pmed(_write(tmp_path, "bad2.txt", "5 4 2\n1 2 3\n2 3 4\n3 9 1\n4 4 2\n"))
    text = str(exc.value)
    assert "line 4" in text and "1..5" in text and "line 5" in text and "itself" in text
    with pytest.raises(DataError, match="file ends early"):
        read_pmed(_write(tmp_path, "short.txt", "5 4 2\n1 2 3\n2 3 4\n"))
    with pytest.raises(DataError, match="extra values"):
        read_pmed(_write(tmp_path, "long.txt", "3 2 1\n1 2 3\n2 3 4\n3 1\n"))
    with pytest.raises(DataError, match="not connected"):
        read_pmed(_write(tmp_path, "split.txt", "4 2 1\n1 2 3\n3 4 4\n"))
    with pytest.raises(DataError, match="p must be"):
        read_pmed(_write(tmp_path, "p.txt", "3 2 4\n1 2 3\n2 3 4\n"))


@pytest.mark.slow  # bench orlib isolates each instance in a fresh process
def test_malformed_file_via_cli_is_one_line_per_defect(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from siting.cli import main

    _write(tmp_path, "pmed/pmed1.txt", "5 4 2\n1 2 3\n2 x 4\n3 9 1\n4 5 2\n")
    rc = main(["bench", "orlib", str(tmp_path), "--json"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err
    assert len([s for s in err.splitlines() if s.startswith("error:")]) == 2
    assert "line 3" in err and "line 4" in err


# ------------------------------------------------------------------------------------------ cap reader
_CAP = """ 3 4
 100 10.
 capacity 20.
 50 0.
 10
 5.0 10.0
 20.0
 20
 40.0 20.0 60.0
 5
 1 2 3
 15
 30 15
 45
"""


def test_read_cap_units_and_capacity_word(tmp_path: Path) -> None:
    f = _write(tmp_path, "capx.txt", _CAP)
    with pytest.raises(DataError, match="capacity"):
        read_cap(f)
    prob = read_cap(f, capacity=70)
    assert prob.meta["instance"] == "capx70" and prob.n_demand == 4 and prob.n_candidates == 3
    np.testing.assert_array_equal(prob.capacity, [100, 70, 50])
    np.testing.assert_array_equal(prob.fixed_cost_cny, [10, 20, 0])
    np.testing.assert_array_equal(prob.weight, [10, 20, 5, 15])
    # weight * per-unit cost is the file's cost of serving all of j from i
    total = (prob.weight[prob.pair_demand] * prob.distance_km).reshape(4, 3)
    np.testing.assert_allclose(total, [[5, 10, 20], [40, 20, 60], [1, 2, 3], [30, 15, 45]], rtol=1e-15)


def test_malformed_cap(tmp_path: Path) -> None:
    bad = _CAP.replace(" 20.0\n", " -2\n").replace(" 5\n", " 0\n").replace("30 15", "30 abc")
    with pytest.raises(DataError) as exc:
        read_cap(_write(tmp_path, "capbad.txt", bad), capacity=70)
    text = str(exc.value)
    assert "line 7" in text and "c(3,1)" in text  # the -2
    assert "line 10" in text and "demand of customer 3" in text
    assert "line 13" in text and "'abc'" in text
    with pytest.raises(DataError, match="file ends early"):
        read_cap(_write(tmp_path, "capshort.txt", " 3 4\n 100 10.\n"))


# ------------------------------------------------------------------------------------------ optima
def test_optima_listings(tmp_path: Path) -> None:
    f = _write(tmp_path, "opt.txt", "Data file   Optimal solution value\npmed1 5819\ncap71.txt\t\t932615.750\n"
               "capa 8000 19240822.449\n\n")
    assert read_optima(f) == {"pmed1": 5819.0, "cap71": 932615.75, "capa8000": 19240822.449}
    with pytest.raises(DataError, match="line 3"):
        read_optima(_write(tmp_path, "bad.txt", "pmed1 5819\npmed2 4093\nthis is wrong\n"))
    c = _write(tmp_path, "optima.csv", "set,instance,n,p_or_m,optimal,source\npmed,pmed1,100,5,5819,x\n"
               "cap,cap41,50,16,oops,y\n")
    with pytest.raises(DataError, match="row 2"):
        read_optima_csv(c)


@needs_orlib
def test_load_optima_of_development_set() -> None:
    opt = load_optima(ORLIB)
    assert opt[("pmed", "pmed20")] == 1789 and opt[("cap", "cap41")] == 1040444.375
    assert opt[("uncap", "cap74")] == 1034976.975 and ("uncap", "cap41") not in opt
    cases = discover(ORLIB, ["pmed3", "cap71", "cap41"])
    assert [(c.instance, c.set) for c in cases] == [("pmed3", "pmed"), ("cap41", "cap"), ("cap71", "cap"),
                                                     ("cap71", "uncap")]
    with pytest.raises(ScenarioError, match="pmed99"):
        discover(ORLIB, ["pmed99"])


def test_capacity_word_file_expands(tmp_path: Path) -> None:
    _write(tmp_path, "cap/capa.txt", _CAP)
    _write(tmp_path, "cap/capopt.txt", "capa 70 123.0\n")
    _write(tmp_path, "cap/uncapopt.txt", "capa 99.5\n")
    names = [(c.instance, c.set, c.capacity) for c in discover(tmp_path)]
    assert ("capa70", "cap", 70.0) in names and ("capa8000", "cap", 8000.0) in names
    assert ("capa14000", "cap", 14000.0) in names and ("capa", "uncap", math.inf) in names
    assert [c.instance for c in discover(tmp_path, ["capa70"])] == ["capa70"]


# ------------------------------------------------------------------------------------------ published optima
def _check(prob, res, known) -> None:
    from siting.single.verify import verify

    assert res.info.proven_optimal, res.info.describe()
    assert res.objective == pytest.approx(known, rel=1e-9, abs=1e-6)
    verdict = verify(prob, res)
    assert verdict.ok, verdict.describe()
    assert verdict.objective == pytest.approx(known, rel=1e-9)


@needs_orlib
@pytest.mark.orlib
@pytest.mark.solver
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_pmed_published_optima(k: int) -> None:
    from siting.algorithms.pmedian import solve_pmedian

    opt = load_optima(ORLIB)
    prob = read_pmed(ORLIB / "pmed" / f"pmed{k}.txt")
    res = solve_pmedian(prob, p=prob.meta["p"])
    _check(prob, res, opt[("pmed", f"pmed{k}")])


@needs_orlib
@pytest.mark.orlib
@pytest.mark.solver
@pytest.mark.parametrize("name", ["cap41", "cap42", "cap43", "cap44", "cap71"])
def test_cap_published_optima(name: str) -> None:
    from siting.algorithms.warehouse import solve_cflp, solve_uflp

    opt = load_optima(ORLIB)
    prob = read_cap(ORLIB / "cap" / f"{name}.txt")
    _check(prob, solve_cflp(prob), opt[("cap", name)])
    if ("uncap", name) in opt:
        unc = prob.with_options(capacity=np.full(prob.n_candidates, np.inf))
        _check(unc, solve_uflp(unc), opt[("uncap", name)])


# ------------------------------------------------------------------------------------------ CLI
@needs_orlib
@pytest.mark.orlib
@pytest.mark.solver
def test_cli_json_lines() -> None:
    # run as a separate process and read its real stdout: every line must be a JSON record (HiGHS prints a
    # start-up banner from C straight to file descriptor 1, which in-process capture does not see)
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", "import sys; from siting.cli import _entry; sys.exit(_entry())",
                           "bench", "orlib", str(ORLIB), "--instances", "pmed4,cap71", "--json",
                           "--time-limit", "60"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip().splitlines()
    recs = [json.loads(s) for s in out]
    assert [(r["instance"], r["set"]) for r in recs] == [("pmed4", "pmed"), ("cap71", "cap"), ("cap71", "uncap")]
    for r in recs:
        assert list(r)[:10] == ["instance", "set", "n", "p_or_m", "known_optimum", "objective", "status", "gap",
                                "seconds", "peak_mb"]
        assert r["status"] == "optimal" and r["objective"] == pytest.approx(r["known_optimum"], rel=1e-9)
        assert r["verified"] is True
        assert r["peak_mb"] > 0 and r["seconds"] > 0
    assert (recs[0]["n"], recs[0]["p_or_m"]) == (100, 20) and (recs[1]["n"], recs[1]["p_or_m"]) == (50, 16)


def _brute_pmedian(d: np.ndarray, p: int) -> float:
    return min(d[:, list(s)].min(axis=1).sum() for s in itertools.combinations(range(d.shape[1]), p))


@pytest.mark.solver
def test_cli_on_own_directory_and_mismatch_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from siting.cli import main

    f = _write(tmp_path, "pmed/pmed7.txt", pmed_text(12, 3, seed=5, n_edges=20))
    best = _brute_pmedian(read_pmed(f).matrix().toarray(), 3)
    _write(tmp_path, "pmed/pmedopt.txt", f"Data file   Optimal solution value\npmed7 {best:g}\n")
    assert main(["bench", "orlib", str(tmp_path), "--json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["objective"] == best and rec["matches"] is True and rec["n"] == 12 and rec["p_or_m"] == 3
    _write(tmp_path, "pmed/pmedopt.txt", f"pmed7 {best + 1:g}\n")
    assert main(["bench", "orlib", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert "mismatch: pmed7" in captured.err and "pmed7" in captured.out
