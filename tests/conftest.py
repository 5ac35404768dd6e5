"""Shared test hooks.

Issue 8 asks that ``siting verify`` passes on every run the tests make. Rather than trusting each test file to
remember, this autouse fixture audits, after each test, every finished run directory (one holding a
``manifest.json``) that the test left under its ``tmp_path``. A test that tampers with a run on purpose opts
out with ``@pytest.mark.no_audit``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# Test helpers shared by several test packages (fake runs, fake sweep workers) live in tests/support/.
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "no_audit: do not re-verify the run directories this test leaves behind")


@pytest.fixture(autouse=True)
def _audit_runs_left_behind(request: pytest.FixtureRequest):
    yield
    tmp = request.node.funcargs.get("tmp_path") if hasattr(request.node, "funcargs") else None
    if tmp is None or request.node.get_closest_marker("no_audit"):
        return
    rep = getattr(request.node, "rep_call", None)
    if rep is not None and not rep.passed:
        return  # the test itself failed or was skipped: its own report says why
    from siting.provenance.audit import audit

    failures = []
    for manifest in sorted(Path(tmp).rglob("manifest.json")):
        report = audit(manifest.parent)
        if not report.ok:
            failures.append(f"{manifest.parent}: " + "; ".join(str(c) for c in report.failed))
    assert not failures, "siting verify fails on a run this test made:\n" + "\n".join(failures)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    rep = yield
    if rep.when == "call":
        item.rep_call = rep
    return rep
