"""A real city to plan in: Chengdu's districts, for demo data and benchmarks.

Points are drawn around district centres with a spread that matches the district's size, so a
generated day has the dense core and thin outskirts a real field team works in.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

CITY_NAME = "Chengdu"
CITY_TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class District:
    name: str
    lat: float
    lon: float
    spread_km: float
    weight: float  # share of the caseload


DISTRICTS: tuple[District, ...] = (
    District("Jinjiang 锦江区", 30.6570, 104.0830, 2.5, 9),
    District("Qingyang 青羊区", 30.6740, 104.0620, 2.5, 9),
    District("Jinniu 金牛区", 30.6910, 104.0520, 3.0, 11),
    District("Wuhou 武侯区", 30.6420, 104.0430, 3.0, 11),
    District("Chenghua 成华区", 30.6600, 104.1020, 3.0, 10),
    District("Gaoxin 高新区", 30.5800, 104.0650, 3.5, 10),
    District("Tianfu 天府新区", 30.4700, 104.0700, 5.0, 6),
    District("Longquanyi 龙泉驿区", 30.5570, 104.2690, 4.0, 6),
    District("Xindu 新都区", 30.8230, 104.1580, 4.0, 6),
    District("Wenjiang 温江区", 30.6820, 103.8560, 3.5, 5),
    District("Shuangliu 双流区", 30.5740, 103.9230, 4.0, 6),
    District("Pidu 郫都区", 30.8080, 103.8870, 4.0, 5),
    District("Qingbaijiang 青白江区", 30.8780, 104.2510, 4.0, 3),
    District("Xinjin 新津区", 30.4100, 103.8110, 4.0, 3),
)

STREETS = ("人民南路", "蜀都大道", "天府大道", "一环路", "二环路", "建设路", "春熙路", "玉林路",
           "光华大道", "羊西线", "成华大道", "龙泉大道", "沙湾路", "双楠路", "红星路", "府河路")


def random_point(rng: random.Random, district: District | None = None) -> tuple[float, float, District]:
    """Return (lat, lon, district) drawn around a district centre, weighted by caseload."""
    if district is None:
        district = rng.choices(DISTRICTS, weights=[d.weight for d in DISTRICTS])[0]
    # Gaussian around the centre; 1 degree latitude ~ 111 km.
    dlat = rng.gauss(0, district.spread_km / 2) / 111.0
    dlon = rng.gauss(0, district.spread_km / 2) / (111.0 * math.cos(math.radians(district.lat)))
    return district.lat + dlat, district.lon + dlon, district


def random_address(rng: random.Random, district: District) -> str:
    """Return a plausible street address in the district."""
    return f"成都市{district.name.split()[1]}{rng.choice(STREETS)}{rng.randint(1, 399)}号{rng.randint(1, 30)}栋{rng.randint(1, 28)}0{rng.randint(1, 6)}"
