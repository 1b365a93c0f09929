"""Geocoders behind one small interface, chosen by configuration (GEOCODER).

- nominatim: the OpenStreetMap geocoder, `/search?format=jsonv2` (lat/lon strings, WGS-84);
- amap: AMap's `/v3/geocode/geo` (key, optional `sig` = MD5 of the sorted params + private key),
  answers in GCJ-02, converted to WGS-84 on entry;
- tianditu: the national map service's `/geocoder?ds={"keyWord":...}&tk=` (CGCS2000 ≈ WGS-84).
Protocol details and sources: ../shared/PROVIDERS.md §5-7.
"""
from __future__ import annotations

import functools
import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Protocol

from backend.coords import gcj02_to_wgs84
from backend.geocoding.types import GeocoderBusy, GeocoderError, GeocodeResult

USER_AGENT = "FieldTrace/0.1 (self-hosted back office)"


class Geocoder(Protocol):
    name: str
    rate_per_s: float

    def geocode(self, text: str) -> GeocodeResult | None:
        """A position for the text, None if the provider found nothing; GeocoderError if it failed."""


def reads_answer(geocode):
    """A provider answer we cannot read (a field missing, a wrong type) is that provider failing for this
    text (GeocoderError: it stays pending and is asked again later), never a job that dies on it."""
    @functools.wraps(geocode)
    def wrapper(self, text: str) -> GeocodeResult | None:
        try:
            return geocode(self, text)
        except GeocoderError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
            raise GeocoderError(f"{self.name}: unreadable answer ({type(exc).__name__}: {exc})") from exc
    return wrapper


def _get_json(url: str, timeout_s: float):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        if exc.code == 429:
            raise GeocoderBusy(f"{url.split('?')[0]}: 429 too many requests") from exc
        raise GeocoderError(f"{url.split('?')[0]}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, TimeoutError, ValueError, OSError) as exc:
        raise GeocoderError(f"{url.split('?')[0]}: {exc}") from exc


# Nominatim's address ranks (docs/customize/Ranking.md): 30 a house, 26-27 a street, 12-25 areas.
def _nominatim_precision(place: dict) -> str:
    rank = int(place.get("place_rank") or 0)
    if rank >= 28 or place.get("address", {}).get("house_number"):
        return "rooftop"
    if rank >= 26:
        return "street"
    if rank >= 14:
        return "district"
    return "city"


class NominatimGeocoder:
    name = "nominatim"

    def __init__(self, base_url: str, *, rate_per_s: float = 1.0, timeout_s: float = 10.0, countrycodes: str = "cn"):
        self.base_url, self.rate_per_s, self.timeout_s, self.countrycodes = base_url.rstrip("/"), rate_per_s, timeout_s, countrycodes

    @reads_answer
    def geocode(self, text: str) -> GeocodeResult | None:
        query = urllib.parse.urlencode({"q": text, "format": "jsonv2", "limit": 1, "addressdetails": 1,
                                        "countrycodes": self.countrycodes, "accept-language": "zh"})
        places = _get_json(f"{self.base_url}/search?{query}", self.timeout_s)
        if not isinstance(places, list):
            raise GeocoderError(f"nominatim: unexpected answer {str(places)[:200]}")
        if not places:
            return None
        place = places[0]
        return GeocodeResult(lat=float(place["lat"]), lon=float(place["lon"]), precision=_nominatim_precision(place),
                             source=f"geocoder:{self.name}", adcode=None,
                             confidence=min(1.0, float(place.get("importance") or 0.5)))


# AMap's `level` of a match → our precision.
_AMAP_LEVELS = {"门牌号": "rooftop", "兴趣点": "rooftop", "单元号": "rooftop", "楼栋": "rooftop",
                "道路": "street", "道路交叉路口": "street", "村庄": "street", "热点商圈": "street",
                "乡镇": "district", "区县": "district", "开发区": "district", "市": "city", "省": "city"}


def amap_signature(params: dict[str, str], private_key: str) -> str:
    """AMap's `sig`: MD5 of the params sorted by name as raw `k=v` joined by `&`, private key appended."""
    plain = "&".join(f"{k}={params[k]}" for k in sorted(params)) + private_key
    return hashlib.md5(plain.encode("utf-8")).hexdigest()


class AmapGeocoder:
    name = "amap"

    def __init__(self, key: str, *, private_key: str | None = None, base_url: str = "https://restapi.amap.com",
                 rate_per_s: float = 3.0, timeout_s: float = 10.0):
        self.key, self.private_key, self.base_url = key, private_key, base_url.rstrip("/")
        self.rate_per_s, self.timeout_s = rate_per_s, timeout_s

    @reads_answer
    def geocode(self, text: str) -> GeocodeResult | None:
        params = {"key": self.key, "address": text, "output": "JSON"}
        if self.private_key:
            params["sig"] = amap_signature(params, self.private_key)
        answer = _get_json(f"{self.base_url}/v3/geocode/geo?{urllib.parse.urlencode(params)}", self.timeout_s)
        if str(answer.get("status")) != "1":
            raise GeocoderError(f"amap: {answer.get('infocode')} {answer.get('info')}")
        geocodes = answer.get("geocodes") or []
        if not geocodes or not isinstance(geocodes[0].get("location"), str):
            return None
        first = geocodes[0]
        lon, lat = (float(v) for v in first["location"].split(","))
        lat, lon = gcj02_to_wgs84(lat, lon)  # AMap answers in GCJ-02; inside, everything is WGS-84
        adcode = first.get("adcode") if isinstance(first.get("adcode"), str) else None
        return GeocodeResult(lat=lat, lon=lon, precision=_AMAP_LEVELS.get(first.get("level"), "district"),
                             source=f"geocoder:{self.name}", adcode=adcode or None, confidence=None)


class TiandituGeocoder:
    name = "tianditu"

    def __init__(self, key: str, *, base_url: str = "http://api.tianditu.gov.cn", rate_per_s: float = 5.0,
                 timeout_s: float = 10.0):
        self.key, self.base_url, self.rate_per_s, self.timeout_s = key, base_url.rstrip("/"), rate_per_s, timeout_s

    @reads_answer
    def geocode(self, text: str) -> GeocodeResult | None:
        ds = json.dumps({"keyWord": text}, ensure_ascii=False)
        answer = _get_json(f"{self.base_url}/geocoder?{urllib.parse.urlencode({'ds': ds, 'tk': self.key})}",
                           self.timeout_s)
        status = str(answer.get("status"))
        if status == "101":
            return None
        if status != "0":
            raise GeocoderError(f"tianditu: {status} {answer.get('msg')}")
        location = answer.get("location") or {}
        level = location.get("level") or ""
        precision = "rooftop" if level in ("门牌号", "地名地址", "兴趣点") else "street" if "道路" in level else "district"
        return GeocodeResult(lat=float(location["lat"]), lon=float(location["lon"]), precision=precision,
                             source=f"geocoder:{self.name}", adcode=None, confidence=None)


def configured_geocoder(config) -> Geocoder | None:
    """The geocoder GEOCODER names (nominatim | amap | tianditu), or None: the gazetteer alone."""
    name = (config.get("GEOCODER") or "").strip().lower()
    rate = config.get("GEOCODER_RATE_PER_S")
    extra = {"rate_per_s": float(rate)} if rate else {}
    if not name:
        return None
    if name == "nominatim":
        return NominatimGeocoder(config["NOMINATIM_URL"], **extra)
    if name == "amap":
        return AmapGeocoder(config["AMAP_KEY"], private_key=config.get("AMAP_PRIVATE_KEY") or None,
                            base_url=config.get("AMAP_URL") or "https://restapi.amap.com", **extra)
    if name == "tianditu":
        return TiandituGeocoder(config["TIANDITU_KEY"], base_url=config.get("TIANDITU_URL") or "http://api.tianditu.gov.cn",
                                **extra)
    raise ValueError(f"unknown GEOCODER {name!r} (nominatim, amap or tianditu)")
