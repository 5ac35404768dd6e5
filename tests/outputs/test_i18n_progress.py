"""The message catalogue (English and Chinese), the CLI in Chinese, and progress only on a terminal."""

from __future__ import annotations

import io
import json
import re
import string
from pathlib import Path

import pytest
from rich.console import Console

from siting.outputs.i18n import LANGS, MESSAGES, check_lang, text
from siting.outputs.terminal import NO_PROGRESS, TerminalProgress, progress_for

REPO = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
# keys whose Chinese text may be Latin only (brand names, symbols, codes)
LATIN_OK = {"layer.osm", "layer.tier"}


def _fields(template: str) -> set[str]:
    return {f for _, f, _, _ in string.Formatter().parse(template) if f}


def test_every_message_is_translated_with_the_same_placeholders():
    assert LANGS == ("en", "zh")
    for key, (en, zh) in MESSAGES.items():
        assert en.strip() and zh.strip(), key
        assert _fields(en) == _fields(zh), key
        if key not in LATIN_OK:
            assert CJK.search(zh) or not re.search(r"[A-Za-z]{3,}", en), f"{key}: {zh!r} looks untranslated"
            assert zh != en or not re.search(r"[A-Za-z]", en), key


def test_lookup_and_languages():
    assert text("zh", "layer.demand", n=3) == "需求点（3）"
    assert text("en", "layer.demand", n=3) == "Demand points (3)"
    assert check_lang("zh-CN") == "zh" and check_lang("EN") == "en"
    with pytest.raises(ValueError, match="choose one of en, zh"):
        check_lang("fr")


def test_progress_is_quiet_when_not_on_a_terminal():
    pipe = Console(file=io.StringIO(), force_terminal=False)
    assert progress_for(pipe) is NO_PROGRESS
    assert progress_for(Console(file=io.StringIO(), force_terminal=True), quiet=True) is NO_PROGRESS
    with NO_PROGRESS.step("solve"):
        pass
    assert pipe.file.getvalue() == ""


def test_progress_on_a_terminal_reports_each_step():
    buf = io.StringIO()
    tty = Console(file=buf, force_terminal=True, width=100)
    progress = progress_for(tty, lang="zh")
    assert isinstance(progress, TerminalProgress)
    for key in ("load", "build", "solve", "polish", "verify", "write"):
        with progress.step(key):
            pass
    out = buf.getvalue()
    assert [k for k, _ in progress.done] == ["load", "build", "solve", "polish", "verify", "write"]
    assert "✓ 读取数据并计算距离：完成" in out and "求解（HiGHS）" in out


@pytest.mark.solver
def test_cli_run_in_chinese_and_quiet_off_a_terminal(tmp_path, capsys):
    from siting.cli import main

    scen = tmp_path / "zh.toml"
    text_ = (REPO / "models" / "example.toml").read_text(encoding="utf-8")
    text_ = text_.replace("../data/", str(REPO / "data") + "/")
    text_ = text_.replace("[scenario]\n", "[scenario]\nlang = \"zh\"\n", 1)
    scen.write_text(text_, encoding="utf-8")
    assert main(["run", str(scen), "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "年总成本" in captured.out and "独立校验：是" in captured.out and "件/年" in captured.out
    assert "✓" not in captured.err  # not a terminal: no progress lines
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "图例" in page and "需求点" in page and "Legend" not in page
    assert '<html lang="zh-CN">' in report
    # --lang on the command line wins over the scenario
    assert main(["run", str(scen), "--out", str(tmp_path / "en"), "--lang", "en", "--quiet"]) == 0
    assert "total" in capsys.readouterr().out
    assert "Legend" in (tmp_path / "en" / "map.html").read_text(encoding="utf-8")
    summary = json.loads((tmp_path / "en" / "summary.json").read_text(encoding="utf-8"))
    assert summary["summary_version"] == 2


def test_scenario_lang_is_validated(tmp_path):
    from siting.core.errors import ScenarioError
    from siting.scenario.load import load_scenario

    scen = tmp_path / "bad.toml"
    text_ = (REPO / "models" / "example.toml").read_text(encoding="utf-8").replace("../data/", str(REPO / "data") + "/")
    scen.write_text(text_, encoding="utf-8")
    with pytest.raises(ScenarioError, match="scenario.lang"):
        load_scenario(scen, overrides={"scenario.lang": "fr"})
