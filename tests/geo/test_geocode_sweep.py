"""The geocode sweep's job carries a moment, not the addresses: it walks the pending ones in the database."""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from backend.cases.geocode import geocode_pending, retry_pending_geocoding
from backend.cases.models import AddressKind, CaseAddress
from backend.geocoding.types import normalise_address
from backend.jobs.models import BackgroundJob
from backend.timeutil import utcnow
from tests.factories import bare_case
from tests.geo.conftest import KEHUA
from tests.threads import at_once

TEXTS = (KEHUA, "四川省成都市锦江区春熙路1号", "四川省成都市青羊区西大街1号")


def _pending(session, case, texts, *, age: timedelta) -> list[int]:
    rows = [CaseAddress(case_id=case.id, kind=AddressKind.OTHER, text=text, normalised_text=normalise_address(text),
                        geocode_status="pending", source="import", created_at=utcnow() - age) for text in texts]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def _statuses(session, ids) -> list[str]:
    session.expire_all()
    return [session.get(CaseAddress, i).geocode_status for i in ids]


def test_the_sweep_job_holds_a_moment_and_geocodes_what_was_pending_before_it(session, create_case, no_geocoder,
                                                                             run_worker, job_ids):
    case = create_case()
    old = _pending(session, case, TEXTS, age=timedelta(hours=1))
    [recent] = _pending(session, case, ["四川省成都市金牛区一环路北段2号"], age=timedelta(seconds=0))

    swept = retry_pending_geocoding(older_than_s=600)

    assert swept["pending"] == 3
    job = session.get(BackgroundJob, swept["submitted"])
    assert list(job.args) == ["created_before"]  # no address ids, however many are pending
    run_worker()
    assert _statuses(session, old) == ["located"] * 3  # the gazetteer placed them
    assert _statuses(session, [recent]) == ["pending"]  # its import's own job sees to it
    session.expire_all()
    assert session.get(BackgroundJob, job.id).result["addresses"] == 3


def test_the_walk_passes_what_the_provider_failed_on_and_a_rerun_asks_only_what_is_left(
        session, create_case, amap, app, monkeypatch):
    case = create_case()
    ids = _pending(session, case, TEXTS, age=timedelta(hours=1))
    before = utcnow()
    monkeypatch.setitem(app.config, "AMAP_KEY", "wrong-key")
    failed = geocode_pending(session, created_before=before, batch_size=1)  # one address a batch: three batches
    assert (failed["addresses"], failed["errors"], _statuses(session, ids)) == (3, 3, ["pending"] * 3)
    monkeypatch.setitem(app.config, "AMAP_KEY", "test-amap-key")
    first = geocode_pending(session, created_before=before, batch_size=2)
    assert first["addresses"] == 3 and "pending" not in _statuses(session, ids)
    asked = len(amap.requests)
    again = geocode_pending(session, created_before=before, batch_size=2)
    assert (again["addresses"], len(amap.requests)) == (0, asked)


def test_two_sweeps_at_once_submit_one_job(app, committed):
    # Every worker process runs the cron scheduler: two sweeps may start together, and two jobs would walk
    # (and ask the provider about) the same addresses.
    committed.execute(sa.text("SELECT setval('background_jobs_id_seq', :n)"), {"n": random.randrange(10**9, 2 * 10**9)})
    _pending(committed, bare_case(committed, "C-sweep"), TEXTS, age=timedelta(hours=1))
    committed.commit()

    swept = at_once(app, [lambda _client: retry_pending_geocoding(older_than_s=600)] * 4)

    assert len([s for s in swept if s["submitted"]]) == 1, swept
    assert committed.scalar(sa.select(sa.func.count()).select_from(BackgroundJob)
                            .where(BackgroundJob.kind == "geocode")) == 1
