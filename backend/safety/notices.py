"""Who is told of a safety alert, on which channels, and what stops it (policy data, not branches).

Level 1 the collector (push, then SMS unless they check in meanwhile); level 2 the on-duty
dispatchers (push + SMS); level 3 the supervisors (SMS + voice); an SOS reaches levels 2 and 3 at
once; a system alert the supervisors. Channels per level are `notify.alert_channels_level_N`.

Duress: nothing ever goes to the collector's own phone (someone may be holding it), and staff see
an ordinary SOS, flagged duress only in their text. Safety messages ignore staff quiet periods.
Messages carry the collector's name and phone and the last position (the visit's address when
they are at one, else coordinates), never the debt, never a lodging's name or address. Each staff
message carries a short acknowledgement code and, when NOTIFY_PUBLIC_URL is set, a signed link.

A message the outbox gives up on raises the next level at once (`on_notification_failed`).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session, selectinload

from backend.auth.models import Role, User
from backend.errors import DomainError
from backend.geo import point_latlon
from backend.notify.service import Outgoing, enqueue, load_preferences, new_ack_code, to_user
from backend.notify.templates import ALERT_WORDS, normalize_locale
from backend.policy.hours import in_daily_window
from backend.policy.service import default_policy
from backend.safety.models import AlertEvent, AlertKind, AlertState, SafetyAlert
from backend.timeutil import utcnow

TOP_LEVEL = 3
ACK_SALT = "fieldtrace-alert-ack"


# --- signed acknowledgement links -----------------------------------------------------------------

def _ack_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=ACK_SALT)


def ack_token(alert_id: int, user_id: int) -> str:
    return _ack_serializer().dumps({"a": alert_id, "u": user_id})


def read_ack_token(token: str, alert_id: int) -> int:
    """The user a signed link was sent to, if it is ours, unexpired and for this alert; else 422."""
    max_age = int(default_policy()["notify.ack_link_ttl_hours"]) * 3600
    try:
        claims = _ack_serializer().loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise DomainError("validation_error", "the link has expired", status=422,
                          fields={"token": "expired"}) from exc
    except BadSignature as exc:
        raise DomainError("validation_error", "not a valid link", status=422, fields={"token": "invalid"}) from exc
    if claims.get("a") != alert_id or not isinstance(claims.get("u"), int):
        raise DomainError("validation_error", "the link is for another alert", status=422,
                          fields={"token": "not for this alert"})
    return claims["u"]


def ack_url(alert_id: int, user_id: int) -> str:
    base = (current_app.config.get("NOTIFY_PUBLIC_URL") or "").rstrip("/")
    if not base:
        return ""
    return f"{base}/api/v1/safety/alerts/{alert_id}/ack?token={ack_token(alert_id, user_id)}"


# --- recipients -----------------------------------------------------------------------------------

def on_duty_dispatchers(session: Session, now: datetime) -> list[User]:
    """Active dispatchers inside their shift hours (local time); all of them if none is."""
    dispatchers = list(session.scalars(sa.select(User).where(User.role == Role.DISPATCHER, User.active.is_(True))
                                       .order_by(User.id)))
    on_duty = [user for user in dispatchers
               if in_daily_window(now.astimezone(ZoneInfo(user.timezone)).time(), user.shift_start, user.shift_end)]
    return on_duty or dispatchers


def supervisors(session: Session) -> list[User]:
    return list(session.scalars(sa.select(User).where(User.role == Role.SUPERVISOR, User.active.is_(True))
                                .order_by(User.id)))


def levels_to_notify(alert: SafetyAlert) -> list[int]:
    """An SOS (duress or not) tells levels 2 and 3 together; otherwise the alert's level."""
    if alert.kind is AlertKind.SOS:
        return [2, 3]
    if alert.kind is AlertKind.SYSTEM:
        return [TOP_LEVEL]
    return [alert.level]


def _position_text(alert: SafetyAlert, words: dict) -> str:
    # The lodging's address never goes into a message (an SMS is read by whoever holds the phone);
    # staff who may read it open the alert, where the read is audited.
    if alert.at_declared_lodging:
        return words["at_lodging"]
    if alert.visit is not None and alert.visit.address is not None:
        return alert.visit.address.text
    latlon = point_latlon(alert.position)
    return f"{latlon[0]:.5f},{latlon[1]:.5f}" if latlon else words["unknown"]


def staff_params(alert: SafetyAlert, *, level: int, locale: str, code: str, url: str) -> dict:
    """What a staff message says: who, where, since when, how to acknowledge; nothing about the debt."""
    words = ALERT_WORDS[normalize_locale(locale)]
    collector = alert.collector
    tz = ZoneInfo(collector.timezone if collector else "Asia/Shanghai")
    return {
        "level_text": words["level"].format(level=level),
        "kind_text": words[alert.kind.value],
        "duress_text": words["duress"] if alert.duress else "",
        "collector_name": collector.name if collector else (alert.note[:120] or words["unknown"]),
        "collector_phone": (collector.phone or "") if collector else "",
        "address": _position_text(alert, words),
        "position_at": alert.position_at.astimezone(tz).strftime("%H:%M") if alert.position_at else "",
        "ack_code": code, "ack_url": url,
    }


def alert_messages(session: Session, alerts: list[SafetyAlert], *, now: datetime) -> list[Outgoing]:
    """Every message the alerts' current levels call for (deduplicated per alert, level and notification)."""
    policy = default_policy()
    dispatchers = on_duty_dispatchers(session, now) if alerts else []
    sups = supervisors(session) if alerts else []
    prefs = load_preferences(session, [u.id for u in dispatchers + sups] +
                             [a.collector_id for a in alerts if a.collector_id])
    out: list[Outgoing] = []
    for alert in alerts:
        stamp = alert.notified_at.strftime("%Y%m%dT%H%M%S.%f")
        for level in levels_to_notify(alert):
            channels = list(policy[f"notify.alert_channels_level_{level}"])
            dedupe = f"alert:{alert.id}:{level}:{stamp}"
            link = {"alert_id": alert.id, "level": level}
            if level == 1:
                if alert.duress or alert.collector is None:
                    continue  # under duress the collector's phone is never told anything
                delay = timedelta(seconds=policy["notify.level1_sms_delay_s"])
                for index, message in enumerate(to_user(
                        session, alert.collector, channels=channels, template="alert_collector", params={},
                        honour_quiet=False, now=now, only_accepted=False, dedupe=dedupe, prefs=prefs, **link)):
                    # The first channel at once, the next ones only if the collector has not answered by then.
                    message.not_before = now + delay * index
                    out.append(message)
                continue
            for user in dispatchers if level == 2 else sups:
                if alert.collector_id == user.id:
                    continue
                code = new_ack_code()
                locale = prefs[user.id].locale if user.id in prefs else "zh-CN"
                params = staff_params(alert, level=level, locale=locale, code=code, url=ack_url(alert.id, user.id))
                out.extend(to_user(session, user, channels=channels, template="alert_staff", params=params,
                                   honour_quiet=False, now=now, only_accepted=False, dedupe=dedupe, prefs=prefs,
                                   ack_code=code, **link))
    return out


def notify_alerts(session: Session, alert_ids: list[int], *, now: datetime | None = None) -> int:
    """Queue the messages for these alerts' current levels, in the caller's transaction."""
    if not alert_ids:
        return 0
    now = now or utcnow()
    alerts = list(session.scalars(sa.select(SafetyAlert).where(SafetyAlert.id.in_(alert_ids),
                                                               SafetyAlert.state == AlertState.OPEN)
                                  .options(selectinload(SafetyAlert.collector), selectinload(SafetyAlert.visit))
                                  .order_by(SafetyAlert.id)
                                  # The sweep moved levels with plain SQL: read them, not the identity map's.
                                  .execution_options(populate_existing=True)))
    return len(enqueue(session, alert_messages(session, alerts, now=now), now=now))


def on_notification_failed(_sender, *, session: Session, failed: list[dict], now: datetime) -> None:
    """Alert messages could not be delivered: an open alert still at the level a failed message was for
    rises to the next level at once (once per level); any other failure is recorded on its open alert.

    The alerts of the whole batch are locked in one statement, in id order: a concurrent acknowledgement
    or sweep is waited for (an alert acknowledged meanwhile is left alone), and two delivery jobs failing
    messages of the same alerts queue behind each other instead of deadlocking.
    """
    rows = [row for row in failed if row.get("alert_id") is not None]
    if not rows:
        return
    alerts = {alert.id: alert for alert in session.scalars(
        sa.select(SafetyAlert).where(SafetyAlert.id.in_({row["alert_id"] for row in rows}),
                                     SafetyAlert.state == AlertState.OPEN)
        .order_by(SafetyAlert.id).with_for_update()
        # The sweep moves levels with plain SQL: the locked rows, not the identity map's.
        .execution_options(populate_existing=True))}
    escalated: dict[int, None] = {}
    for row in rows:
        alert = alerts.get(row["alert_id"])
        if alert is None:
            continue
        note = f"delivery failed: {row['channel']} to user {row.get('user_id')}: {row.get('error', '')}"[:500]
        if alert.level == row["level"] and alert.level < TOP_LEVEL:
            alert.level, alert.notified_at = alert.level + 1, now
            session.add(AlertEvent(alert_id=alert.id, action="escalated", level=alert.level, actor_id=None,
                                   at=now, note=note))
            escalated[alert.id] = None
        else:
            session.add(AlertEvent(alert_id=alert.id, action="delivery_failed", level=row["level"] or alert.level,
                                   actor_id=None, at=now, note=note))
    session.flush()
    notify_alerts(session, list(escalated), now=now)
