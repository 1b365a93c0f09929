"""The geocode job: pending text-only addresses → positions, in batches, on its own `geocode` queue."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from backend.cases.addresses import apply_geocode
from backend.cases.models import CaseAddress, GeocodeStatus
from backend.extensions import db
from backend.geocoding.service import BatchStats, current_geocoder, geocode_texts
from backend.jobs.models import BackgroundJob, JobStatus
from backend.jobs.service import create_job, submit_job
from backend.timeutil import utcnow

GEOCODE_FUNC = "backend.cases.geocode.geocode_addresses"


def submit_geocoding(session: Session, address_ids: list[int], *, actor_id: int | None) -> int | None:
    """Queue the geocode job for these addresses (commits the caller's transaction); its job id."""
    if not address_ids:
        return None
    return _submit(session, {"address_ids": sorted(set(address_ids))}, actor_id=actor_id)


def _submit(session: Session, args: dict, *, actor_id: int | None) -> int:
    job = create_job(session, kind="geocode", queue="geocode", func=GEOCODE_FUNC, args=args, created_by_id=actor_id)
    submit_job(session, job.id)
    return job.id


def _pending():
    return sa.and_(CaseAddress.geocode_status == GeocodeStatus.PENDING.value, CaseAddress.superseded_at.is_(None))


def _pending_batches(session: Session, address_ids: list[int] | None, created_before: datetime | None,
                     batch_size: int) -> Iterator[tuple[list[int], float]]:
    """(ids still pending, share of the work done after them) batch by batch, in id order: the given ids
    a batch at a time, or every pending address created before the moment, walked by id (a cursor, so
    no list of them is held, and an address the provider failed on is passed, not asked again)."""
    if address_ids is not None:
        ids = sorted(set(address_ids))
        for start in range(0, len(ids), batch_size):
            chunk = ids[start:start + batch_size]
            pending = session.scalars(sa.select(CaseAddress.id).where(_pending(), CaseAddress.id.in_(chunk))
                                      .order_by(CaseAddress.id))
            yield list(pending), min(1.0, (start + batch_size) / len(ids))
        return
    scope = sa.select(CaseAddress.id).where(_pending())
    if created_before is not None:
        scope = scope.where(CaseAddress.created_at < created_before)
    total = session.scalar(sa.select(sa.func.count()).select_from(scope.subquery())) or 0
    after, seen = 0, 0
    while seen < total:
        chunk = list(session.scalars(scope.where(CaseAddress.id > after).order_by(CaseAddress.id).limit(batch_size)))
        if not chunk:
            return
        after, seen = chunk[-1], seen + len(chunk)
        yield chunk, min(1.0, seen / total)


def geocode_pending(session: Session, address_ids: list[int] | None = None, *, created_before: datetime | None = None,
                    batch_size: int | None = None, progress=None) -> dict:
    """Geocode pending addresses (these ids, or all created before a moment, or all) batch by batch,
    committing each batch. Idempotent: only addresses still pending are asked about and written."""
    batch_size = batch_size or current_app.config["GEOCODE_BATCH_SIZE"]
    geocoder = current_geocoder()
    stats, addresses, located, not_found = BatchStats(), 0, 0, 0
    for chunk, done in _pending_batches(session, address_ids, created_before, batch_size):
        if chunk:
            addresses += len(chunk)
            stats, outcomes = _geocode_batch(session, chunk, geocoder, stats)
            located += outcomes.count(GeocodeStatus.LOCATED.value)
            not_found += outcomes.count(GeocodeStatus.NOT_FOUND.value)
        if progress is not None:
            progress(done)
    return {"addresses": addresses, "located": located, "not_found": not_found, "distinct_texts": stats.distinct,
            "cache_hits": stats.cache_hits, "requests": stats.requests, "errors": stats.errors,
            "gazetteer": stats.gazetteer, "refused": stats.refused}


def _geocode_batch(session: Session, ids: list[int], geocoder, stats: BatchStats) -> tuple[BatchStats, list[str]]:
    """Geocode one batch of addresses and commit it; the statuses it wrote."""
    pending = _pending()
    texts = list(session.scalars(sa.select(CaseAddress.text).where(CaseAddress.id.in_(ids), pending)))
    # No address row is held while the provider is asked (minutes at 1 request/s): a dispatcher's
    # correction meanwhile wins, since only rows still pending with the text asked about are written.
    session.commit()
    results, stats = geocode_texts(session, texts, geocoder=geocoder, stats=stats)
    batch = session.scalars(sa.select(CaseAddress).where(CaseAddress.id.in_(ids), pending)
                            .with_for_update(skip_locked=True)).all()
    outcomes = []
    for address in batch:
        if address.normalised_text not in results:
            continue  # the provider failed on it: stays pending for the next run
        apply_geocode(address, results[address.normalised_text])
        outcomes.append(address.geocode_status)
    session.commit()
    return stats, outcomes


def geocode_addresses(address_ids: list[int] | None = None, created_before: str | None = None,
                      progress=None) -> dict:
    """Job: geocode the given pending addresses, or (the sweep's) every one created before a moment."""
    before = datetime.fromisoformat(created_before) if created_before is not None else None
    return geocode_pending(db.session, address_ids, created_before=before, progress=progress)


def retry_pending_geocoding(older_than_s: int = 600) -> dict:
    """Sweep: addresses still pending (a provider was down, over quota) get a new job, unless one is at work.

    The job's argument is a moment, not the addresses: it walks the pending ones created before it in the
    database, however many there are. One sweep at a time: every worker runs the cron scheduler, and two
    jobs submitted together would walk the same addresses and ask the provider about each twice."""
    session = db.session
    swept = _sweep(session, older_than_s)
    session.commit()  # submit_job committed already; else this ends the sweep's reads and its lock
    return swept


def _sweep(session: Session, older_than_s: int) -> dict:
    # Held until submit_job commits the job's row: a sweep that starts meanwhile then finds it busy.
    if not session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(sa.func.hashtextextended("geocode-pending", 0)))):
        return {"submitted": None, "pending": None}
    busy = session.scalar(sa.select(sa.func.count()).select_from(BackgroundJob).where(
        BackgroundJob.kind == "geocode", BackgroundJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])))
    if busy:
        return {"submitted": None, "pending": None}
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    pending = session.scalar(sa.select(sa.func.count()).select_from(CaseAddress).where(
        _pending(), CaseAddress.created_at < cutoff)) or 0
    if not pending:
        return {"submitted": None, "pending": 0}
    return {"submitted": _submit(session, {"created_before": cutoff.isoformat()}, actor_id=None), "pending": pending}
