"""Regenerate the synthetic example data (seeded; run from the repository root).

    python data/example/make_example.py

Synthetic, not real: 2 planning regions (North, South), each with 2 units; 40 villages with made-up
populations; 3 depot candidates per unit; 4 hub candidates (2 per region). Coordinates are WGS84 in an
arbitrary 50 km x 35 km box. Used by models/example.toml (docs and tests).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def main() -> None:
    rng = np.random.default_rng(20240601)
    units = [("N1", "North", 110.00, 30.18), ("N2", "North", 110.25, 30.18),
             ("S1", "South", 110.00, 30.00), ("S2", "South", 110.25, 30.00)]
    rows = []
    for u, region, lon0, lat0 in units:
        for k in range(10):
            rows.append({
                "id": f"V{u}{k:02d}", "name": f"Village {u}-{k:02d}",
                "lon": round(lon0 + rng.uniform(0.0, 0.24), 5), "lat": round(lat0 + rng.uniform(0.0, 0.16), 5),
                "population": int(rng.integers(800, 12000)), "unit": u, "region": region,
            })
    villages = pd.DataFrame(rows)
    depots = []
    for u, region, lon0, lat0 in units:
        for k in range(3):
            depots.append({"id": f"D{u}{k}", "name": f"Depot site {u}-{k}", "lon": round(lon0 + rng.uniform(0.04, 0.20), 5),
                           "lat": round(lat0 + rng.uniform(0.03, 0.13), 5), "unit": u, "region": region,
                           "fixed_cost_cny": int(rng.integers(18, 26)) * 100_000})
    hubs = []
    for region, lat0 in (("North", 30.18), ("South", 30.00)):
        for k in range(2):
            hubs.append({"id": f"H{region[0]}{k}", "name": f"Hub site {region}-{k}", "lon": round(110.1 + 0.2 * k, 5),
                         "lat": round(lat0 + 0.08, 5), "unit": ("N" if region == "North" else "S") + str(k + 1),
                         "region": region})
    villages.to_csv(HERE / "villages.csv", index=False)
    pd.DataFrame(depots).to_csv(HERE / "depots.csv", index=False)
    pd.DataFrame(hubs).to_csv(HERE / "hubs.csv", index=False)


if __name__ == "__main__":
    main()
