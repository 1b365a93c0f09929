"""The outbox's service: add messages to the caller's transaction, read them back, cancel the moot.

Callers (safety, contacts, visits, planning) build `Outgoing` messages and call `enqueue` before
they commit: the message exists exactly when the event does. Once the transaction commits, the
session hook (`kick_after_commit`) puts delivery jobs on the `notify` queue; if Redis is down then,
the notify sweep finds the rows later.
"""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.notify.models import Channel, Notification, NotificationPreference, NotificationStatus
from backend.notify.templates import normalize_locale, render
from backend.policy.hours import after_quiet_period
from backend.policy.service import default_policy
from backend.timeutil import utcnow

KICK_FLAG = "notify_kick"
# Short acknowledgement codes: no 0/O, 1/I/L, so a code read aloud or typed from an SMS survives.
ACK_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
ACK_CODE_LENGTH = 6
DEFAULT_CHANNELS = ("push", "sms")

INSERT_ROWS = sa.text("""
INSERT INTO notifications (channel, template, locale, params, text, user_id, to_phone, to_email, to_push, alert_id,
                           level, promise_id, visit_id, ack_code, dedupe_key, not_before, status, attempts,
                           max_attempts, created_at, last_error, finished_at)
SELECT r.channel::notification_channel, r.template, r.locale, r.params, r.text, r.user_id, r.to_phone, r.to_email,
       r.to_push, r.alert_id, r.level, r.promise_id, r.visit_id, r.ack_code, r.dedupe_key, r.not_before,
       CAST(:status AS notification_status), 0, :max_attempts, :now, CAST(:last_error AS text),
       CAST(:finished_at AS timestamptz)
FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS r(
    channel text, template text, locale text, params jsonb, text text, user_id integer, to_phone text,
    to_email text, to_push text, alert_id integer, level integer, promise_id integer, visit_id integer,
    ack_code text, dedupe_key text, not_before timestamptz)
ON CONFLICT (dedupe_key) DO NOTHING
RETURNING id
""")


@dataclass
class Outgoing:
    """One message to add to the outbox."""

    channel: str
    template: str
    params: dict
    locale: str = "zh-CN"
    user_id: int | None = None
    to_phone: str | None = None
    to_email: str | None = None
    to_push: str | None = None
    alert_id: int | None = None
    level: int | None = None
    promise_id: int | None = None
    visit_id: int | None = None
    ack_code: str | None = None
    not_before: datetime | None = None
    dedupe_key: str | None = None
    extra: dict = field(default_factory=dict)


def new_ack_code() -> str:
    return "".join(secrets.choice(ACK_ALPHABET) for _ in range(ACK_CODE_LENGTH))


def enqueue(session: Session, messages: list[Outgoing], *, now: datetime | None = None) -> list[int]:
    """Add messages (queued) to the caller's transaction; a repeated dedupe key is stored once.

    Returns the ids of the rows added. After the caller commits, delivery starts (kick_after_commit).
    """
    now = now or utcnow()
    ids = _insert(session, messages, now=now, status=NotificationStatus.QUEUED)
    if ids:
        session.info[KICK_FLAG] = session.info.get(KICK_FLAG, 0) + len(ids)
    return ids


def record_refused(session: Session, messages: list[Outgoing], *, reason: str,
                   now: datetime | None = None) -> list[int]:
    """Store messages a rule refused as `refused` with the reason (in last_error), for people to review:
    finished, never queued, never sent. A repeated dedupe key is stored once; returns the rows added."""
    now = now or utcnow()
    return _insert(session, messages, now=now, status=NotificationStatus.REFUSED, last_error=reason[:1000],
                   finished_at=now)


def _insert(session: Session, messages: list[Outgoing], *, now: datetime, status: NotificationStatus,
            last_error: str | None = None, finished_at: datetime | None = None) -> list[int]:
    if not messages:
        return []
    rows = [{
        "channel": Channel(m.channel).value, "template": m.template, "locale": normalize_locale(m.locale),
        "params": {k: v for k, v in m.params.items() if v is not None},
        "text": render(m.template, m.locale, m.params), "user_id": m.user_id, "to_phone": m.to_phone,
        "to_email": m.to_email, "to_push": m.to_push, "alert_id": m.alert_id, "level": m.level,
        "promise_id": m.promise_id, "visit_id": m.visit_id, "ack_code": m.ack_code, "dedupe_key": m.dedupe_key,
        "not_before": (m.not_before or now).isoformat(),
    } for m in messages]
    # One statement for any number of messages (10,000 for a mass alert): the rows travel as one JSON
    # parameter; a multi-row VALUES took seconds to compile and hits the 65,535-parameter limit.
    return list(session.scalars(INSERT_ROWS, {
        "rows": json.dumps(rows, ensure_ascii=False, default=str), "now": now, "status": status.value,
        "last_error": last_error, "finished_at": finished_at,
        "max_attempts": default_policy()["notify.max_attempts"]}))


# --- preferences ----------------------------------------------------------------------------------

def preferences(session: Session, user: User) -> dict:
    """A user's delivery settings (defaults when never set)."""
    row = session.get(NotificationPreference, user.id)
    return {
        "user_id": user.id,
        "channels": list(row.channels) if row else list(DEFAULT_CHANNELS),
        "quiet_start": row.quiet_start.strftime("%H:%M") if row and row.quiet_start else None,
        "quiet_end": row.quiet_end.strftime("%H:%M") if row and row.quiet_end else None,
        "locale": row.locale if row else "zh-CN",
        "email": row.email if row else None,
        "push_registration_id": row.push_registration_id if row else None,
        "timezone": user.timezone,
        "phone": user.phone,
    }


def update_preferences(session: Session, user: User, changes: dict) -> dict:
    """Change some of a user's delivery settings; the rest keep their values."""
    current = preferences(session, user)
    merged = {**current, **changes}
    start, end = merged["quiet_start"], merged["quiet_end"]
    values = {
        "channels": sorted(set(merged["channels"])),
        "quiet_start": _hhmm(start), "quiet_end": _hhmm(end),
        "locale": normalize_locale(merged["locale"]), "email": merged["email"] or None,
        "push_registration_id": merged["push_registration_id"] or None, "updated_at": utcnow(),
    }
    session.execute(insert(NotificationPreference).values(user_id=user.id, **values)
                    .on_conflict_do_update(index_elements=["user_id"], set_=values))
    session.flush()
    return preferences(session, user)


def _hhmm(value) -> time | None:
    if value is None or isinstance(value, time):
        return value
    hours, minutes = str(value).split(":")
    return time(int(hours), int(minutes))


def load_preferences(session: Session, user_ids) -> dict[int, NotificationPreference]:
    """The stored settings of these users (one query; users without a row are absent)."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = session.scalars(sa.select(NotificationPreference).where(NotificationPreference.user_id.in_(ids)))
    return {row.user_id: row for row in rows}


def to_user(session: Session, user: User, *, channels: list[str] | tuple[str, ...], template: str, params: dict,
            honour_quiet: bool, now: datetime, only_accepted: bool, dedupe: str | None = None,
            prefs: dict[int, NotificationPreference] | None = None, **link) -> list[Outgoing]:
    """Messages to a staff user on each of `channels` they can be reached on.

    `only_accepted`: keep the channels the user accepts (staff notices); safety alerts pass False and
    reach every channel the policy names. `honour_quiet`: hold the message until the user's quiet
    period ends (never for safety alerts to on-duty staff).
    """
    prefs = (prefs if prefs is not None else load_preferences(session, [user.id])).get(user.id)
    accepted = set(prefs.channels) if prefs else set(DEFAULT_CHANNELS)
    not_before = now
    if honour_quiet and prefs is not None:
        not_before = after_quiet_period(now, user.timezone, prefs.quiet_start, prefs.quiet_end)
    out = []
    for channel in channels:
        if only_accepted and channel not in accepted:
            continue
        address = {"push": {"to_push": (prefs.push_registration_id if prefs and prefs.push_registration_id
                                        else f"alias:ft{user.id}")},
                   "sms": {"to_phone": user.phone}, "voice": {"to_phone": user.phone},
                   "email": {"to_email": prefs.email if prefs else None}}[channel]
        if not any(address.values()):
            continue  # no number or address for this channel: the other channels still go
        out.append(Outgoing(channel=channel, template=template, params=params, user_id=user.id,
                            locale=prefs.locale if prefs else "zh-CN", not_before=not_before,
                            dedupe_key=f"{dedupe}:{user.id}:{channel}" if dedupe else None, **address, **link))
    return out


STAFF_CHANNELS = ("push", "email", "sms")
COLLECTOR_CHANNELS = ("push", "sms")


def notify_users(session: Session, users: list[User], *, template: str, params: dict,
                 channels: tuple[str, ...] = STAFF_CHANNELS, dedupe: str | None = None, **link) -> list[int]:
    """Queue a notice (not a safety alert) to each user on the channels they accept, held through their
    own quiet period; one preferences read for all of them. Returns the rows added."""
    users = [u for u in users if u is not None and u.active]
    if not users:
        return []
    now = utcnow()
    prefs = load_preferences(session, [u.id for u in users])
    messages = [message for user in users
                for message in to_user(session, user, channels=channels, template=template, params=params,
                                       honour_quiet=True, now=now, only_accepted=True, dedupe=dedupe, prefs=prefs,
                                       **link)]
    return enqueue(session, messages, now=now)


# --- reading and cancelling -----------------------------------------------------------------------

def cancel_for_alert(session: Session, alert_id: int, *, reason: str, now: datetime | None = None) -> int:
    """Messages of an alert not yet handed to a provider will never be: it is acknowledged or over."""
    result = session.execute(sa.update(Notification)
                             .where(Notification.alert_id == alert_id,
                                    Notification.status == NotificationStatus.QUEUED)
                             .values(status=NotificationStatus.CANCELLED, last_error=reason[:1000],
                                     finished_at=now or utcnow())
                             .execution_options(synchronize_session=False))
    return result.rowcount


def find_by_ack_code(session: Session, alert_id: int, code: str) -> Notification | None:
    """The staff message of this alert that carried this acknowledgement code."""
    return session.scalar(sa.select(Notification).where(
        Notification.alert_id == alert_id, Notification.ack_code == code.strip().upper(),
        Notification.user_id.is_not(None)).limit(1))


def deliveries_for_alerts(session: Session, alert_ids: list[int]) -> dict[int, list[dict]]:
    """Per alert: each message's recipient, channel, level and status (what the alert payload shows)."""
    if not alert_ids:
        return {}
    rows = session.execute(sa.select(Notification.alert_id, Notification.id, Notification.user_id,
                                     User.name, Notification.channel, Notification.level, Notification.status,
                                     Notification.attempts, Notification.sent_at, Notification.last_error)
                           .outerjoin(User, User.id == Notification.user_id)
                           .where(Notification.alert_id.in_(alert_ids))
                           .order_by(Notification.alert_id, Notification.id)).all()
    found: dict[int, list[dict]] = {alert_id: [] for alert_id in alert_ids}
    for row in rows:
        found[row.alert_id].append({
            "id": row.id, "user_id": row.user_id, "user_name": row.name, "channel": row.channel.value,
            "level": row.level, "status": row.status.value, "attempts": row.attempts,
            "sent_at": row.sent_at.isoformat() if row.sent_at else None, "last_error": row.last_error})
    return found


def list_notifications(*, alert_id: int | None = None, promise_id: int | None = None,
                       visit_id: int | None = None, user_id: int | None = None, status: str | None = None,
                       channel: str | None = None, since: datetime | None = None, until: datetime | None = None,
                       on: date | None = None) -> sa.Select:
    """The outbox, newest first, filtered (a statement for backend.pagination.paginate)."""
    query = sa.select(Notification)
    for column, value in ((Notification.alert_id, alert_id), (Notification.promise_id, promise_id),
                          (Notification.visit_id, visit_id), (Notification.user_id, user_id)):
        if value is not None:
            query = query.where(column == value)
    if status:
        query = query.where(Notification.status == NotificationStatus(status))
    if channel:
        query = query.where(Notification.channel == Channel(channel))
    if since:
        query = query.where(Notification.created_at >= since)
    if until:
        query = query.where(Notification.created_at < until)
    if on:
        start = datetime.combine(on, time(0), ZoneInfo("UTC"))
        query = query.where(Notification.created_at >= start, Notification.created_at < start + timedelta(days=1))
    return query.order_by(Notification.created_at.desc(), Notification.id.desc())


def notification_view(row: Notification) -> dict:
    return {
        "id": row.id, "channel": row.channel.value, "user_id": row.user_id, "to_phone": row.to_phone,
        "to_email": row.to_email, "template": row.template, "locale": row.locale, "text": row.text,
        "alert_id": row.alert_id, "level": row.level, "promise_id": row.promise_id, "visit_id": row.visit_id,
        "status": row.status.value, "attempts": row.attempts, "max_attempts": row.max_attempts,
        "last_error": row.last_error, "provider": row.provider, "provider_message_id": row.provider_message_id,
        "created_at": row.created_at, "not_before": row.not_before, "sent_at": row.sent_at,
        "finished_at": row.finished_at,
    }
