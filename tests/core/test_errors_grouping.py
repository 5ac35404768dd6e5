"""Long error reports: grouped by cause, at most MAX_LINES lines, the full list in a CSV."""

from __future__ import annotations

import csv

from siting.cli import main
from siting.cli.common import defect_list_path
from siting.core.errors import MAX_LINES, DataError, DefectCollector, group_defects


def _flood() -> DataError:
    found = DefectCollector("towns.csv")
    for i in range(1031):
        found.add(f"demand 某镇{i} ({500101001 + i}) has no collection candidate within 1 km in the same unit")
    for r in (3, 9):
        found.add(f"weight is negative ({-r})", row=r, column="pop")
    found.add("every weight is 0", column="w")
    return DataError(found.defects)


def test_grouping_by_cause_ignores_names_numbers_and_quoted_values():
    groups = group_defects(_flood().defects)
    assert [len(g.defects) for g in groups] == [1031, 2, 1]
    assert groups[1].line() == ("towns.csv, row 3, column 'pop': weight is negative (-3) "
                                "[and 1 more like it (rows 9)]")


def test_short_reports_stay_one_line_per_problem():
    found = DefectCollector("a.csv")
    for r in range(MAX_LINES):
        found.add("coordinate is missing", row=r + 1, column="lon")
    err = DataError(found.defects)
    assert not err.grouped and err.summary_lines() == err.lines()


def test_long_report_prints_at_most_max_lines():
    err = _flood()
    lines = err.summary_lines()
    assert err.grouped and len(lines) == 3
    assert "[and 1,030 more like it]" in lines[0]
    found = DefectCollector("x.csv")
    for k in range(60):
        found.add(f"problem kind {'abcdefghijklmnopqrstuvwxyz'[k % 26]}{'xyz'[k // 26]}", row=k + 1)
    lines = DataError(found.defects).summary_lines()
    assert len(lines) == MAX_LINES + 1 and lines[-1].startswith("... and 40 more problems of 40 other kinds")


def test_defect_list_goes_next_to_out_else_to_the_temporary_directory(tmp_path):
    assert defect_list_path(["run", "x", "--out", str(tmp_path / "run1")]) == tmp_path / "run1.errors.csv"
    assert defect_list_path(["run", "x", f"--out={tmp_path / 'r'}"]) == tmp_path / "r.errors.csv"
    p = defect_list_path(["run", "x", "--out", str(tmp_path / "no" / "such" / "run")])
    assert p.name.startswith("siting-errors-") and p.suffix == ".csv"
    p.unlink()


def test_cli_writes_the_full_list(tmp_path, capfd):
    import pandas as pd

    rows = pd.DataFrame({"id": range(50), "lon": "106°30'00\"E", "lat": 29.5, "pop": -1})
    rows.to_csv(tmp_path / "d.csv", index=False)
    sites = tmp_path / "sites.csv"
    pd.DataFrame({"id": ["s"], "lon": [106.5], "lat": [29.5]}).to_csv(sites, index=False)
    assert main(["locate", "p-median", "--demand", str(tmp_path / "d.csv"), "--candidates", str(sites),
                 "--p", "1", "--out", str(tmp_path / "out")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 3, err  # DMS (one line), negative weights (grouped), the note
    assert "degrees-minutes-seconds" in err[0] and "[and 49 more like it (rows 2, 3, 4, ...)]" in err[1]
    listed = tmp_path / "out.errors.csv"
    assert err[2] == f"note: 51 problems in all, grouped by cause above; the full list is in {listed}"
    with listed.open(encoding="utf-8-sig") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 51 and table[-1]["row"] == "50" and table[-1]["column"] == "pop"
    assert not (tmp_path / "out").exists()
