"""The outbox's delivery guarantees: retried, never twice, nothing lost when Redis loses its jobs."""
from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from backend.extensions import db
from backend.notify.jobs import deliver_due, sweep_notifications
from backend.notify.models import Notification
from backend.notify.service import Outgoing, enqueue
from backend.queues import get_queue
from backend.timeutil import utcnow
from tests.conftest import _clear_redis


def _queue_messages(session, count: int, **fields) -> list[int]:
    return enqueue(session, [Outgoing(channel="sms", template="plan_finished", to_phone=f"+86138{i:08d}",
                                      params={"job_id": i, "summary": "ok"}, **fields) for i in range(count)])


def _statuses(session) -> dict:
    session.expire_all()
    return dict(session.execute(sa.select(Notification.status, sa.func.count())
                                .group_by(Notification.status)).all())


def test_committed_messages_get_a_delivery_job_on_the_notify_queue(app, committed, webhook, run_worker):
    _queue_messages(committed, 5)
    committed.commit()
    assert get_queue("notify").count >= 1  # enqueued by the commit itself
    run_worker()
    assert sorted(webhook.delivered_ids().values()) == [1] * 5


def test_redis_flushed_with_messages_queued_each_is_still_delivered_exactly_once(
        app, committed, webhook, run_worker):
    ids = _queue_messages(committed, 40)
    committed.commit()
    assert get_queue("notify").count >= 1
    _clear_redis(app)  # Redis loses every job of this run
    assert get_queue("notify").count == 0
    assert run_worker() is not None and webhook.delivered == []  # nothing in Redis: nothing sent yet
    result = sweep_notifications()
    assert result["due"] == 40 and result["jobs_enqueued"] >= 1
    run_worker()
    sweep_notifications()  # a second sweep finds nothing more to send
    run_worker()
    assert _statuses(committed) == {"sent": 40}
    assert webhook.delivered_ids() == {i: 1 for i in ids}


def test_parallel_delivery_jobs_never_send_a_row_twice(app, committed, webhook, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_BATCH_SIZE", 7)
    ids = _queue_messages(committed, 120)
    committed.commit()
    errors = []

    def job():
        with app.app_context():
            try:
                deliver_due()
            except Exception as exc:  # surfaced below
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert webhook.delivered_ids() == {i: 1 for i in ids}
    assert webhook.seen == {i: 1 for i in ids}


def test_a_row_left_sending_by_a_dead_worker_is_failed_not_resent(app, committed, webhook):
    [row_id] = _queue_messages(committed, 1)
    committed.execute(sa.update(Notification).where(Notification.id == row_id).values(
        status="sending", attempts=1, claimed_at=utcnow() - timedelta(minutes=10)))
    committed.commit()
    assert sweep_notifications()["stuck_failed"] == 1
    deliver_due()
    row = committed.get(Notification, row_id)
    committed.refresh(row)
    assert row.status.value == "failed" and "not resent" in row.last_error
    assert webhook.seen == {}


def test_a_message_held_for_later_is_not_sent_before_its_time(session, webhook):
    later = utcnow() + timedelta(hours=3)
    [row_id] = _queue_messages(session, 1, not_before=later)
    assert deliver_due()["sent"] == 0
    assert deliver_due(now=later)["sent"] == 1
    assert webhook.delivered_ids() == {row_id: 1}


def test_no_provider_for_a_channel_fails_the_message_with_the_reason(session, app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_SMS_PROVIDER", None)
    monkeypatch.setitem(app.config, "NOTIFY_SMS_PROVIDER_CN", None)
    [row_id] = _queue_messages(session, 1)
    deliver_due()
    row = session.get(Notification, row_id)
    session.refresh(row)
    assert (row.status.value, row.attempts) == ("failed", 1)
    assert "NOTIFY_SMS_PROVIDER" in row.last_error


def test_a_batch_of_failures_is_recorded_in_one_statement_each_with_its_reason(session, app, monkeypatch):
    monkeypatch.setitem(app.config, "NOTIFY_SMS_PROVIDER", None)
    monkeypatch.setitem(app.config, "NOTIFY_SMS_PROVIDER_CN", None)
    row_ids = _queue_messages(session, 5)
    session.commit()
    failing_updates = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().startswith("UPDATE notifications") and "'failed'" in statement:
            failing_updates.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert deliver_due()["failed"] == 5
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(failing_updates) == 1
    session.expire_all()
    rows = session.scalars(sa.select(Notification).where(Notification.id.in_(row_ids))).all()
    assert {(row.status.value, row.provider) for row in rows} == {("failed", "-")}
    assert all("NOTIFY_SMS_PROVIDER" in row.last_error for row in rows)
