"""Write the second bad-input corpus (issue 16): files a planner or GIS analyst actually produces.

Run from the repository root: ``python tests/data/bad/make_more_cases.py``. Each file is ``demand.csv`` or
``sites.csv`` of this folder with one defect; ``index.csv`` holds the commands and expected messages.
Deterministic (no randomness), so re-running rewrites identical files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def dms(x: float, pos: str, neg: str) -> str:
    d = int(abs(x))
    m = int((abs(x) - d) * 60)
    s = (abs(x) - d - m / 60) * 3600
    return f"{d}°{m:02d}'{s:04.1f}\"{pos if x >= 0 else neg}"


def xlsx(df: pd.DataFrame, name: str) -> None:
    df.to_excel(HERE / name, index=False, engine="openpyxl")


def main() -> None:
    demand = pd.read_csv(HERE / "demand.csv", dtype=str)
    sites = pd.read_csv(HERE / "sites.csv", dtype=str)

    # Excel: a #VALUE! left by a formula (Excel row 4 = data row 3); an old .xls; a broken workbook; header only
    d = demand.copy()
    d.loc[2, "lat"] = "#VALUE!"
    xlsx(d, "demand_xlsx_value_error.xlsx")
    (HERE / "demand_old_excel.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504)
    (HERE / "demand_broken_workbook.xlsx").write_bytes(b"PK\x03\x04 this zip was cut off in an e-mail")
    xlsx(demand.iloc[:0], "demand_xlsx_header_only.xlsx")
    d = demand.copy()
    d.loc[[1, 6], "pop"] = "-3"
    xlsx(d, "demand_xlsx_weight_negative.xlsx")

    # coordinates as people type them
    d = demand.copy()
    d["lon"] = [dms(float(x), "E", "W") for x in demand["lon"]]
    d["lat"] = [dms(float(x), "N", "S") for x in demand["lat"]]
    d.to_csv(HERE / "demand_dms.csv", index=False)
    d = demand.copy()
    d["pop"] = [f"{int(x) * 1000:,}" for x in demand["pop"]]
    d.to_csv(HERE / "demand_thousands.csv", index=False)
    d = demand.copy()
    for c in ("lon", "lat"):
        d[c] = d[c].str.replace(".", ",", regex=False)
    d.to_csv(HERE / "demand_semicolon_decimal_comma.csv", index=False, sep=";")
    d = demand.copy()
    d.loc[4, ["lon", "lat"]] = ["0", "0"]
    d.to_csv(HERE / "demand_null_island.csv", index=False)
    pd.DataFrame({"id": [f"p{i}" for i in range(3000)], "lon": 0, "lat": 0, "pop": 1}).to_csv(
        HERE / "demand_zeros_3000.csv", index=False)

    # far away: Paris among Chongqing points, a candidate in Paris, a sign error (western hemisphere)
    d = demand.copy()
    d.loc[7, ["id", "name", "lon", "lat"]] = ["paris", "Paris", "2.3522", "48.8566"]
    d.to_csv(HERE / "demand_paris.csv", index=False)
    s = sites.copy()
    s.loc[3, ["lon", "lat"]] = ["2.3522", "48.8566"]
    s.to_csv(HERE / "sites_paris.csv", index=False)
    d = demand.copy()
    d.loc[2, "lon"] = "-" + d.loc[2, "lon"]
    d.to_csv(HERE / "demand_lon_sign_lost.csv", index=False)

    # absurd magnitudes
    d = demand.copy()
    d.loc[5, "pop"] = "1e308"
    d.to_csv(HERE / "demand_weight_1e308.csv", index=False)
    pd.DataFrame({"id": [f"p{i}" for i in range(200)], "lon": 106.5 + 0.001 * pd.RangeIndex(200),
                  "lat": 29.5, "pop": 9e11}).to_csv(HERE / "demand_weight_sum_huge.csv", index=False)
    d = demand.copy()
    d["pop"] = "0"
    d.to_csv(HERE / "demand_weights_all_zero.csv", index=False)
    s = sites.copy()
    s.loc[2, "cost"] = "1e15"
    s.to_csv(HERE / "sites_cost_1e15.csv", index=False)
    s = sites.copy()
    s.loc[1, "cap"] = "NaN"
    s.to_csv(HERE / "sites_cap_nan_text.csv", index=False)
    s = sites.copy()
    s.loc[4, "cap"] = "1e20"
    s.to_csv(HERE / "sites_cap_1e20.csv", index=False)

    # structure of the file
    (HERE / "demand_blank_lines.csv").write_text("\n\n  \n", encoding="utf-8")
    lines = (HERE / "demand.csv").read_text(encoding="utf-8").splitlines()
    (HERE / "demand_header_twice.csv").write_text(
        "\n".join([lines[0] + ",lon"] + [r + ",106.5" for r in lines[1:]]) + "\n", encoding="utf-8")
    s = sites.copy()
    s.loc[3, "id"] = "s1"
    s.to_csv(HERE / "sites_dup_id.csv", index=False)
    d = demand.rename(columns={"lon": "lon_wgs84", "lat": "lat_wgs84"})
    d.to_csv(HERE / "demand_named_wgs84.csv", index=False)
    (HERE / "demand_folder.csv").mkdir(exist_ok=True)
    (HERE / "demand_folder.csv" / "README.md").write_text("a folder named like a CSV file (bad-input case)\n",
                                                          encoding="utf-8")
    d = demand.copy()
    d.loc[[0, 3], "lat"] = ["29.4.2", "twenty-nine"]
    d.to_csv(HERE / "demand_lat_typos.csv", index=False)


if __name__ == "__main__":
    main()
