"""WGS-84 ⇄ GCJ-02 ⇄ BD-09, the three coordinate systems phones and maps in China speak.

Inside FieldTrace every position is WGS-84. GCJ-02 is the obfuscated datum every map SDK licensed in
mainland China (AMap, Tencent) reports; BD-09 is Baidu's further offset of GCJ-02. The transforms are
the published ones, as implemented (and tested) by googollee/eviltransform and wandergis/coordTransform:

- WGS-84 → GCJ-02: the Krasovsky-ellipsoid formula (a = 6378245.0, ee = 0.00669342162296594323);
- GCJ-02 → WGS-84: no closed form, so a fixed-point inversion of the forward transform (converges to
  well under a millimetre in a few steps, better than eviltransform's ±0.5 m bisection);
- GCJ-02 ⇄ BD-09: Baidu's published x_pi rotation and offset.

GCJ-02 applies only inside mainland China: outside it (and in this rough box test, outside the box
eviltransform uses) GCJ-02 equals WGS-84. Reference vectors are in tests/geo/test_coords.py.
No PyPI package was kept instead: `coordtransform` ships no tests and `eviltransform` uses a different
semi-major axis (≈1e-7° off the published vectors); see ../shared/PROVIDERS.md §8.
"""
from __future__ import annotations

import enum
import math

_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0


class CoordSys(enum.StrEnum):
    WGS84 = "wgs84"
    GCJ02 = "gcj02"
    BD09 = "bd09"


def in_mainland_china(lat: float, lon: float) -> bool:
    """Whether GCJ-02 applies here (the bounding box eviltransform and its ports use)."""
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271


def _transform_lat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _offset(lat: float, lon: float) -> tuple[float, float]:
    d_lat = _transform_lat(lon - 105.0, lat - 35.0)
    d_lon = _transform_lon(lon - 105.0, lat - 35.0)
    rad = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(rad) ** 2
    sqrt_magic = math.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrt_magic) * math.pi)
    d_lon = (d_lon * 180.0) / (_A / sqrt_magic * math.cos(rad) * math.pi)
    return d_lat, d_lon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """WGS-84 → GCJ-02 (identity outside mainland China)."""
    if not in_mainland_china(lat, lon):
        return lat, lon
    d_lat, d_lon = _offset(lat, lon)
    return lat + d_lat, lon + d_lon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 → WGS-84 by fixed-point inversion of the forward transform (identity outside China)."""
    if not in_mainland_china(lat, lon):
        return lat, lon
    w_lat, w_lon = lat, lon
    for _ in range(10):
        g_lat, g_lon = wgs84_to_gcj02(w_lat, w_lon)
        e_lat, e_lon = g_lat - lat, g_lon - lon
        w_lat, w_lon = w_lat - e_lat, w_lon - e_lon
        if abs(e_lat) < 1e-10 and abs(e_lon) < 1e-10:
            break
    return w_lat, w_lon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 → BD-09 (Baidu's published rotation and offset)."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """BD-09 → GCJ-02."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def to_wgs84(lat: float, lon: float, coord_sys: CoordSys | str) -> tuple[float, float]:
    """A position as a phone or map sent it → WGS-84 (outside mainland China every system is WGS-84)."""
    coord_sys = CoordSys(coord_sys)
    if coord_sys is CoordSys.WGS84 or not in_mainland_china(lat, lon):
        return lat, lon
    if coord_sys is CoordSys.BD09:
        lat, lon = bd09_to_gcj02(lat, lon)
    return gcj02_to_wgs84(lat, lon)


def from_wgs84(lat: float, lon: float, coord_sys: CoordSys | str) -> tuple[float, float]:
    """A stored WGS-84 position → the system a client's base map draws in (the inverse of to_wgs84)."""
    coord_sys = CoordSys(coord_sys)
    if coord_sys is CoordSys.WGS84 or not in_mainland_china(lat, lon):
        return lat, lon
    lat, lon = wgs84_to_gcj02(lat, lon)
    return gcj02_to_bd09(lat, lon) if coord_sys is CoordSys.BD09 else (lat, lon)


def geojson_from_wgs84(obj, coord_sys: CoordSys | str):
    """Convert every [lon, lat] position in a GeoJSON object (in place) and return it."""
    coord_sys = CoordSys(coord_sys)
    if coord_sys is CoordSys.WGS84 or obj is None:
        return obj

    def convert(coordinates):
        if coordinates and isinstance(coordinates[0], (int, float)):
            lat, lon = from_wgs84(coordinates[1], coordinates[0], coord_sys)
            return [round(lon, 7), round(lat, 7), *coordinates[2:]]
        return [convert(c) for c in coordinates]

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "coordinates" and isinstance(value, list):
                    node[key] = convert(value)
                elif key != "properties":
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(obj)
    return obj
