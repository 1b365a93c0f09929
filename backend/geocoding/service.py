"""Many address texts → positions: cache first, then the configured geocoder (rate-limited), then the gazetteer."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.extensions import redis_conn
from backend.geocoding.gazetteer import gazetteer
from backend.geocoding.models import GeocodeCacheEntry
from backend.geocoding.providers import Geocoder, configured_geocoder
from backend.geocoding.ratelimit import RateLimiter
from backend.geocoding.types import GeocoderBusy, GeocoderError, GeocodeResult, normalise_address
from backend.timeutil import utcnow

log = logging.getLogger(__name__)
# Requests in flight at once: enough to hide a provider's latency, while the limiter keeps the rate.
PARALLEL_REQUESTS = 4
# A provider's 429 (its clock and ours disagree on a window's edge): ask again after the limiter.
BUSY_RETRIES = 3


@dataclass
class BatchStats:
    distinct: int = 0
    cache_hits: int = 0
    requests: int = 0
    errors: int = 0
    gazetteer: int = 0
    refused: int = 0
    failed_texts: set[str] = field(default_factory=set)


def _limiter(geocoder: Geocoder) -> RateLimiter:
    prefix = current_app.config.get("QUEUE_PREFIX", "")
    return RateLimiter(redis_conn.client, f"{prefix}geocode:rate:{geocoder.name}", geocoder.rate_per_s)


def _cached(session: Session, provider: str, keys: list[str]) -> dict[str, GeocodeResult | None]:
    rows = session.scalars(sa.select(GeocodeCacheEntry).where(
        GeocodeCacheEntry.provider == provider, GeocodeCacheEntry.normalised_text.in_(keys))).all()
    return {r.normalised_text: (GeocodeResult(r.lat, r.lon, r.precision, provider, r.adcode, r.confidence)
                                if r.found else None) for r in rows}


def _remember(session: Session, provider: str, answers: dict[str, GeocodeResult | None]) -> None:
    if not answers:
        return
    now = utcnow()
    rows = [{"provider": provider, "normalised_text": key, "found": a is not None, "lat": a and a.lat,
             "lon": a and a.lon, "precision": a and a.precision, "adcode": a and a.adcode,
             "confidence": a and a.confidence, "created_at": now} for key, a in answers.items()]
    session.execute(insert(GeocodeCacheEntry).values(rows).on_conflict_do_nothing())


def _ask(geocoder: Geocoder, limiter: RateLimiter, texts: dict[str, str], stats: BatchStats):
    def one(key: str):
        for attempt in range(BUSY_RETRIES + 1):
            limiter.wait()
            try:
                return key, geocoder.geocode(texts[key]), None
            except GeocoderBusy as exc:
                stats.refused += 1
                if attempt == BUSY_RETRIES:
                    return key, None, exc
            except GeocoderError as exc:
                return key, None, exc

    answers = {}
    with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS) as pool:
        for key, answer, error in pool.map(one, list(texts)):
            stats.requests += 1
            if error is not None:
                log.warning("geocoder %s failed on %r: %s", geocoder.name, texts[key], error)
                stats.errors += 1
                stats.failed_texts.add(key)
            else:
                answers[key] = answer
    return answers


def geocode_texts(session: Session, texts: Iterable[str], *, geocoder: Geocoder | None = None,
                  stats: BatchStats | None = None) -> tuple[dict[str, GeocodeResult | None], BatchStats]:
    """Positions by normalised text. A text the provider failed on is left out (try again later)."""
    stats = stats or BatchStats()
    by_key: dict[str, str] = {}
    for text in texts:
        by_key.setdefault(normalise_address(text), text)
    stats.distinct += len(by_key)
    results: dict[str, GeocodeResult | None] = {}
    if geocoder is not None:
        provider = f"geocoder:{geocoder.name}"
        cached = _cached(session, provider, list(by_key))
        stats.cache_hits += len(cached)
        results.update(cached)
        missing = {key: text for key, text in by_key.items() if key not in cached}
        if missing:
            answers = _ask(geocoder, _limiter(geocoder), missing, stats)
            _remember(session, provider, answers)
            results.update(answers)
    for key, text in by_key.items():
        if results.get(key) is None and key not in stats.failed_texts:
            # Nothing configured, or the geocoder found nothing: the district's centroid, if the text names one.
            results[key] = gazetteer().geocode(text)
            stats.gazetteer += results[key] is not None
    return results, stats


def current_geocoder() -> Geocoder | None:
    """The geocoder this deployment's configuration names (None: the gazetteer alone)."""
    return configured_geocoder(current_app.config)
