"""The one result shape every geocoder returns."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class GeocodeResult:
    lat: float            # WGS-84
    lon: float
    precision: str        # rooftop | street | district | city
    source: str           # geocoder:<name> | gazetteer
    adcode: str | None = None
    confidence: float | None = None


class GeocoderError(Exception):
    """The provider failed (network, quota, bad key): try again later, do not cache."""


class GeocoderBusy(GeocoderError):
    """The provider refused for rate (HTTP 429): wait for the limiter and ask again."""


# Separators that never change which door is meant; "-" stays ("65-3号" is not "653号").
_NOISE = re.compile(r"[\s,，.。;；:：、'\"“”‘’()（）\[\]【】_#/\\|]+")


def normalise_address(text: str) -> str:
    """The cache key of an address: NFKC (full-width digits and letters), lower case, no spaces or punctuation."""
    text = unicodedata.normalize("NFKC", text or "").lower().strip()
    text = _NOISE.sub("", text.replace("—", "-").replace("–", "-"))
    return text.removeprefix("中华人民共和国").removeprefix("中国")
