"""Record a real `siting run` as the README's regression file, and print the README block to paste.

    siting run models/chongqing-express.toml --overwrite          # writes maps/chongqing-express/
    python scripts/readme_figures.py maps/chongqing-express        # writes tests/data/readme_express.json

The README's Quickstart quotes what the first command prints (the block after "What the first command
prints"); tests/outputs/test_readme_figures.py fails when those figures differ from this file. Update both
from the same run: run this script, then paste the block it prints into README.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from siting.outputs.summary import normalise_summary
from siting.outputs.terminal import run_result_lines

REPO = Path(__file__).resolve().parents[1]
TARGET = REPO / "tests" / "data" / "readme_express.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run_dir", type=Path, help="output directory of `siting run models/chongqing-express.toml`")
    ap.add_argument("--out", type=Path, default=TARGET, help=f"regression file to write (default {TARGET})")
    ap.add_argument("--shown-dir", default="maps/chongqing-express", help="output directory as the README shows it")
    args = ap.parse_args(argv)
    s = normalise_summary(json.loads((args.run_dir / "summary.json").read_text(encoding="utf-8")))
    manifest = json.loads((args.run_dir / "manifest.json").read_text(encoding="utf-8"))
    cov = s["coverage"]
    record = {
        "what": "figures of a real run of models/chongqing-express.toml, quoted in README.md's Quickstart",
        "command": manifest.get("command"),
        "created_utc": manifest.get("created_utc"),
        "software": {k: v for k, v in (manifest.get("software") or {}).items() if k in ("siting", "highspy", "python", "git")},
        "scenario": s["scenario"],
        "status": s["status"],
        "total_cny": s["cost_cny"]["total"],
        "objective_cny": s["objective"],
        "bound_cny": s["bound"],
        "gap": s["gap"],
        "counts_by_tier": s["counts_by_tier"],
        "cost_cny": {t: c for t, c in s["cost_cny"].items() if t not in ("total", "by_type")},
        "demand_total": cov["demand_total"],
        "share_served": cov["share_served"],
        "mean_distance_km": cov["mean_distance_km"],
        "weight_unit": s["weight_unit"],
        "verified": s["verified"],
        "tolerance": {
            "cny_relative": 1e-6,
            "gap_relative": 0.01,
            "share_points": 0.006,
            "distance_km": 0.006,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    lines = run_result_lines(s, name=s["scenario"], ok=bool(s["verified"]), out_dir=args.shown_dir)
    lines[0] = lines[0].replace("[bold]", "").replace("[/bold]", "")
    print(f"wrote {args.out}; paste into README.md after 'What the first command prints':\n")
    print("```\n" + "\n".join(lines) + "\n```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
