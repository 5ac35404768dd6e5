"""The conftest guards: runs made by module-scoped ``tmp_path_factory`` fixtures are audited (the hole of
issue 14), and a test that solves without ``@pytest.mark.solver`` fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROBE = '''
import pytest

@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("hole") / "run"
    run.mkdir()
    (run / "manifest.json").write_text(
        '{"manifest_version": 1, "kind": "locate", "parameters": {}, "inputs": [], "certificate": {}}')
    return run

def test_uses_a_run_that_fails_verify(bad_run):
    assert bad_run.is_dir()
'''


@pytest.mark.slow  # a pytest subprocess
@pytest.mark.no_audit  # the inner session leaves a run that fails verify on purpose
def test_a_bad_run_made_by_a_module_fixture_fails_the_session(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "support").mkdir()
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                          str(tmp_path / "base"), str(tmp_path / "test_probe.py")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "siting verify fails on a run a tmp_path_factory fixture made" in run.stdout
    assert "1 passed, 1 error" in run.stdout


UNMARKED = '''
import numpy as np
from siting.core.problem import Problem
from siting.pipeline.locate import locate

def test_solves_without_the_mark():
    problem = Problem.from_cost_matrix(np.array([[1.0, 2.0], [2.0, 1.0]]))
    assert locate(problem, "mclp", p=1, radius_km=1.5).info.proven_optimal
'''


@pytest.mark.slow  # a pytest subprocess
def test_a_test_that_solves_without_the_solver_mark_fails(tmp_path: Path) -> None:
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "support").mkdir()
    (tmp_path / "test_unmarked.py").write_text(UNMARKED, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                          str(tmp_path / "base"), str(tmp_path / "test_unmarked.py")],
                         cwd=tmp_path, capture_output=True, text=True, timeout=240)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "ran HiGHS (in the test or a fixture it uses) but is not marked @pytest.mark.solver" in run.stdout
