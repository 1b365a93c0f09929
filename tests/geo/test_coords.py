"""The GCJ-02 / BD-09 transforms against published reference points (../shared/PROVIDERS.md §8)."""
import math

import pytest

from backend.coords import (
    bd09_to_gcj02,
    from_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    geojson_from_wgs84,
    to_wgs84,
    wgs84_to_gcj02,
)

# (WGS-84 lat, lon) → (GCJ-02 lat, lon), from eviltransform's python/test.py and go/transform_test.go.
REFERENCE = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),
]


def metres(a, b) -> float:
    lat = math.radians((a[0] + b[0]) / 2)
    return math.hypot((a[0] - b[0]) * 111_320, (a[1] - b[1]) * 111_320 * math.cos(lat))


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_wgs84_to_gcj02_matches_reference(wgs, gcj):
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), REFERENCE)
def test_gcj02_to_wgs84_round_trips_within_a_centimetre(wgs, gcj):
    assert metres(gcj02_to_wgs84(*gcj), wgs) < 0.01


def test_bd09_reference_point():
    assert from_wgs84(39.911954, 116.377817, "bd09") == pytest.approx((39.919575550965874, 116.39045471310828),
                                                                        abs=1e-9)


def test_bd09_round_trip_within_a_metre():
    gcj = (30.6412, 104.0436)
    assert metres(bd09_to_gcj02(*gcj02_to_bd09(*gcj)), gcj) < 1.0
    wgs = (30.6401, 104.0412)
    assert metres(to_wgs84(*from_wgs84(*wgs, "bd09"), "bd09"), wgs) < 1.0


def test_offset_is_hundreds_of_metres_in_china():
    wgs = (30.6401, 104.0412)
    assert 300 < metres(wgs84_to_gcj02(*wgs), wgs) < 800


def test_outside_mainland_china_gcj02_is_wgs84():
    copenhagen = (55.6761, 12.5683)
    assert wgs84_to_gcj02(*copenhagen) == copenhagen
    assert to_wgs84(*copenhagen, "gcj02") == copenhagen
    assert from_wgs84(*copenhagen, "bd09") == copenhagen


@pytest.mark.parametrize("coord_sys", ["wgs84", "gcj02", "bd09"])
def test_outside_mainland_china_every_system_is_wgs84_both_ways(coord_sys):
    for place in ((55.6761, 12.5683), (-33.8688, 151.2093), (40.7128, -74.0060)):
        assert (to_wgs84(*place, coord_sys), from_wgs84(*place, coord_sys)) == (place, place)


def test_geojson_conversion_touches_every_position_but_not_properties():
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [104.0412, 30.6401]},
         "properties": {"coordinates": [1, 2]}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[104.0, 30.6], [104.1, 30.7]]},
         "properties": {}}]}
    geojson_from_wgs84(doc, "gcj02")
    lon, lat = doc["features"][0]["geometry"]["coordinates"]
    assert metres(gcj02_to_wgs84(lat, lon), (30.6401, 104.0412)) < 1.0
    assert doc["features"][0]["properties"]["coordinates"] == [1, 2]
    assert doc["features"][1]["geometry"]["coordinates"][1] != [104.1, 30.7]
