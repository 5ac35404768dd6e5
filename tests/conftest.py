"""Shared test hooks.

Issue 8 asks that ``siting verify`` passes on every run the tests make. Rather than trusting each test file to
remember, two autouse fixtures audit every finished run directory (one holding a ``manifest.json``):

- after each test, the runs it left under its ``tmp_path``; a test that tampers with a run on purpose opts
  out with ``@pytest.mark.no_audit``;
- at the end of the session (of each xdist worker), the runs that module- or session-scoped fixtures made
  with ``tmp_path_factory`` (everything under the session's base temporary directory that is not some
  test's ``tmp_path``). There is no opt-out here: tamper with a copy under the test's own ``tmp_path``.

A test that makes HiGHS solve (itself or through a fixture) without ``@pytest.mark.solver`` fails, so the fast
lane ``-m "not solver and not browser and not slow"`` never solves.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Test helpers shared by several test packages (fake runs, fake sweep workers) live in tests/support/.
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_audit: do not re-verify the run directories this test leaves behind")
    _watch_highs()


# ------------------------------------------------------------------ every test that solves is marked `solver`
#: the test running now (its setup, call and teardown) and whether HiGHS ran a model during it
_NOW: dict[str, object] = {"item": None, "solved": False}


def _watch_highs() -> None:
    """Note every ``highspy.Highs.run`` (the matrix route, the Pyomo route and the warehouse heuristic all
    end there), so that a test which solves without ``@pytest.mark.solver`` fails (see makereport below)."""
    try:
        import highspy
    except ImportError:  # nothing can solve
        return
    run = highspy.Highs.run
    if getattr(run, "_siting_watched", False):
        return

    def watched(self, *args, **kwargs):
        _NOW["solved"] = True
        return run(self, *args, **kwargs)

    watched._siting_watched = True
    highspy.Highs.run = watched


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    _NOW.update(item=item, solved=False)
    try:
        return (yield)
    finally:
        _NOW.update(item=None, solved=False)


def _audit_failures(manifests: list[Path]) -> list[str]:
    from siting.provenance.audit import audit

    failures = []
    for manifest in manifests:
        report = audit(manifest.parent)
        if not report.ok:
            failures.append(f"{manifest.parent}: " + "; ".join(str(c) for c in report.failed))
    return failures


#: every test's ``tmp_path`` (audited by :func:`_audit_runs_left_behind` unless the test opted out)
_TEST_TMP_PATHS: set[Path] = set()


@pytest.fixture(scope="session", autouse=True)
def _audit_fixture_runs(tmp_path_factory: pytest.TempPathFactory):
    """At the end of the session, audit the runs made by fixtures under ``tmp_path_factory``."""
    yield
    base = tmp_path_factory.getbasetemp()
    manifests = sorted(m for m in base.rglob("manifest.json")
                       if not any(parent in _TEST_TMP_PATHS for parent in m.parents))
    failures = _audit_failures(manifests)
    assert not failures, ("siting verify fails on a run a tmp_path_factory fixture made:\n"
                          + "\n".join(failures))


@pytest.fixture(autouse=True)
def _audit_runs_left_behind(request: pytest.FixtureRequest):
    yield
    tmp = request.node.funcargs.get("tmp_path") if hasattr(request.node, "funcargs") else None
    if tmp is None:
        return
    _TEST_TMP_PATHS.add(Path(tmp))
    if request.node.get_closest_marker("no_audit"):
        return
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and not rep.passed:
        return  # the test itself failed or was skipped: its own report says why
    failures = _audit_failures(sorted(Path(tmp).rglob("manifest.json")))
    assert not failures, "siting verify fails on a run this test made:\n" + "\n".join(failures)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    rep = yield
    if rep.when == "call":
        item.rep_call = rep
    if (rep.when == "teardown" and rep.passed and _NOW["item"] is item and _NOW["solved"]
            and item.get_closest_marker("solver") is None):
        rep.outcome = "failed"
        rep.longrepr = (f"{item.nodeid} ran HiGHS (in the test or a fixture it uses) but is not marked "
                        "@pytest.mark.solver; the fast lane (-m 'not solver ...') must not solve")
    return rep
