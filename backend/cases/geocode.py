"""The geocode job: pending text-only addresses → positions, in batches, on its own `geocode` queue."""
from __future__ import annotations

from datetime import timedelta

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
    job = create_job(session, kind="geocode", queue="geocode", func=GEOCODE_FUNC,
                     args={"address_ids": sorted(set(address_ids))}, created_by_id=actor_id)
    submit_job(session, job.id)
    return job.id


def geocode_pending(session: Session, address_ids: list[int] | None = None, *, batch_size: int | None = None,
                    progress=None) -> dict:
    """Geocode pending addresses (all, or these ids) batch by batch, committing each batch."""
    batch_size = batch_size or current_app.config["GEOCODE_BATCH_SIZE"]
    geocoder = current_geocoder()
    query = sa.select(CaseAddress.id).where(CaseAddress.geocode_status == GeocodeStatus.PENDING.value,
                                            CaseAddress.superseded_at.is_(None))
    if address_ids is not None:
        query = query.where(CaseAddress.id.in_(address_ids))
    ids = list(session.scalars(query.order_by(CaseAddress.id)))
    stats, located, not_found = BatchStats(), 0, 0
    for start in range(0, len(ids), batch_size):
        pending = CaseAddress.geocode_status == GeocodeStatus.PENDING.value
        chunk = ids[start:start + batch_size]
        texts = list(session.scalars(sa.select(CaseAddress.text).where(CaseAddress.id.in_(chunk), pending)))
        # No address row is held while the provider is asked (minutes at 1 request/s): a dispatcher's
        # correction meanwhile wins, since only rows still pending with the text asked about are written.
        session.commit()
        results, stats = geocode_texts(session, texts, geocoder=geocoder, stats=stats)
        batch = session.scalars(sa.select(CaseAddress).where(CaseAddress.id.in_(chunk), pending)
                                .with_for_update(skip_locked=True)).all()
        for address in batch:
            if address.normalised_text not in results:
                continue  # the provider failed on it: stays pending for the next run
            apply_geocode(address, results[address.normalised_text])
            located += address.geocode_status == GeocodeStatus.LOCATED.value
            not_found += address.geocode_status == GeocodeStatus.NOT_FOUND.value
        session.commit()
        if progress is not None:
            progress(min(1.0, (start + batch_size) / max(len(ids), 1)))
    return {"addresses": len(ids), "located": located, "not_found": not_found, "distinct_texts": stats.distinct,
            "cache_hits": stats.cache_hits, "requests": stats.requests, "errors": stats.errors,
            "gazetteer": stats.gazetteer, "refused": stats.refused}


def geocode_addresses(address_ids: list[int] | None = None, progress=None) -> dict:
    """Job: geocode the given pending addresses."""
    return geocode_pending(db.session, address_ids, progress=progress)


def retry_pending_geocoding(older_than_s: int = 600) -> dict:
    """Sweep: addresses still pending (a provider was down, over quota) get a new job, unless one is at work."""
    session = db.session
    busy = session.scalar(sa.select(sa.func.count()).select_from(BackgroundJob).where(
        BackgroundJob.kind == "geocode", BackgroundJob.status.in_([JobStatus.QUEUED, JobStatus.RUNNING])))
    if busy:
        return {"submitted": None, "pending": None}
    ids = list(session.scalars(sa.select(CaseAddress.id).where(
        CaseAddress.geocode_status == GeocodeStatus.PENDING.value, CaseAddress.superseded_at.is_(None),
        CaseAddress.created_at < utcnow() - timedelta(seconds=older_than_s)).limit(100_000)))
    return {"submitted": submit_geocoding(session, ids, actor_id=None), "pending": len(ids)}
