"""Safety alerts: raised, escalated, acknowledged, resolved; every step an event with who and when.

Levels name who must act: 1 the collector (a reminder), 2 the on-duty dispatcher, 3 a supervisor.
An alert payload carries the collector, the last position and the visit address, never the debt.
"""
from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, selectinload

from backend.audit.service import record_audit
from backend.auth.models import User
from backend.errors import DomainError, NotFound
from backend.geo import make_point, point_geojson, point_latlon
from backend.notify.service import cancel_for_alert, deliveries_for_alerts, find_by_ack_code
from backend.pagination import paginate
from backend.safety import notices
from backend.safety.models import AlertEvent, AlertKind, AlertState, SafetyAlert, SafetyShift
from backend.throttle import FailureThrottle, TooManyAttempts, address_key
from backend.timeutil import utcnow

log = logging.getLogger(__name__)

TOP_LEVEL = 3
LEVEL_NAMES = {1: "collector", 2: "dispatcher", 3: "supervisor"}
STATE_FILTERS = {
    "open": (AlertState.OPEN,),
    "acknowledged": (AlertState.ACKNOWLEDGED,),
    "resolved": (AlertState.RESOLVED,),
    "active": (AlertState.OPEN, AlertState.ACKNOWLEDGED),
}


def add_event(session: Session, *, alert_id: int, action: str, level: int, actor_id: int | None,
              at: datetime, note: str = "") -> None:
    """Record one step of an alert's life."""
    session.add(AlertEvent(alert_id=alert_id, action=action, level=level, actor_id=actor_id, at=at, note=note))


def raise_sos(session: Session, *, collector: User, lat: float, lon: float, recorded_at: datetime,
              note: str = "", duress: bool = False, now: datetime | None = None) -> SafetyAlert:
    """Raise an SOS at the highest level at once, with the position the phone sent."""
    now = now or utcnow()
    shift = session.scalar(sa.select(SafetyShift).where(
        SafetyShift.collector_id == collector.id, SafetyShift.ended_at.is_(None)))
    point = make_point(lat, lon)
    alert = SafetyAlert(kind=AlertKind.SOS, collector_id=collector.id, shift_id=shift.id if shift else None,
                        state=AlertState.OPEN, level=TOP_LEVEL, duress=duress, raised_at=now, notified_at=now,
                        visit_id=shift.visit_id if shift else None, position=point,
                        position_at=min(recorded_at, now), note=note or "")
    session.add(alert)
    if shift is not None:
        shift.last_position = point
    session.flush()
    add_event(session, alert_id=alert.id, action="raised", level=TOP_LEVEL, actor_id=collector.id, at=now,
              note="duress" if duress else "")
    record_audit(session, actor_id=collector.id, action="safety.sos", subject_type="safety_alert",
                 subject_id=alert.id, duress=duress)
    notices.notify_alerts(session, [alert.id], now=now)
    return alert


def raise_system_alert(session: Session, *, dedupe_key: str, note: str, now: datetime) -> int | None:
    """Raise a supervisor-level system alert once per dedupe key; return its id when newly raised."""
    alert_id = session.scalar(insert(SafetyAlert).values(
        kind=AlertKind.SYSTEM, state=AlertState.OPEN, level=TOP_LEVEL, duress=False, raised_at=now,
        notified_at=now, note=note[:500], dedupe_key=dedupe_key,
    ).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(SafetyAlert.id))
    if alert_id is not None:
        add_event(session, alert_id=alert_id, action="raised", level=TOP_LEVEL, actor_id=None, at=now, note=note)
        session.flush()
        notices.notify_alerts(session, [alert_id], now=now)
    return alert_id


def resolve_missed_alerts(session: Session, *, collector_id: int, heard_at: datetime, at: datetime) -> list[int]:
    """Resolve the collector's missed-check-in alerts whose deadline passed before they checked in."""
    rows = session.execute(
        sa.update(SafetyAlert)
        .where(SafetyAlert.collector_id == collector_id, SafetyAlert.kind == AlertKind.MISSED_CHECKIN,
               SafetyAlert.state != AlertState.RESOLVED, SafetyAlert.deadline <= heard_at)
        .values(state=AlertState.RESOLVED, resolved_by_id=collector_id, resolved_at=at,
                resolution="collector checked in")
        .returning(SafetyAlert.id, SafetyAlert.level)
        .execution_options(synchronize_session=False)).all()
    for alert_id, level in rows:
        add_event(session, alert_id=alert_id, action="resolved", level=level, actor_id=collector_id, at=at,
                  note="collector checked in")
        cancel_for_alert(session, alert_id, reason="collector checked in", now=at)
    return [alert_id for alert_id, _ in rows]


def list_alerts(session: Session, *, state: str | None = None, kind: str | None = None,
                collector_id: int | None = None, page: int = 1,
                page_size: int = 100) -> tuple[list[SafetyAlert], int]:
    """One page of alerts, most urgent then newest first, filtered by state (open, acknowledged,
    resolved, active), kind, collector; and how many match."""
    query = sa.select(SafetyAlert).options(selectinload(SafetyAlert.collector), selectinload(SafetyAlert.visit))
    if state:
        query = query.where(SafetyAlert.state.in_(STATE_FILTERS[state]))
    if kind:
        query = query.where(SafetyAlert.kind == AlertKind(kind))
    if collector_id:
        query = query.where(SafetyAlert.collector_id == collector_id)
    return paginate(session, query.order_by(SafetyAlert.level.desc(), SafetyAlert.raised_at.desc(),
                                            SafetyAlert.id.desc()), page, page_size)


def get_alert(session: Session, alert_id: int, *, lock: bool = False) -> SafetyAlert:
    """The alert, or 404."""
    query = sa.select(SafetyAlert).where(SafetyAlert.id == alert_id)
    alert = session.scalar(query.with_for_update() if lock else query)
    if alert is None:
        raise NotFound("alert", alert_id)
    return alert


def alert_events(session: Session, alert_id: int) -> list[AlertEvent]:
    """Every step of an alert, oldest first."""
    return list(session.scalars(sa.select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                                .order_by(AlertEvent.at, AlertEvent.id)))


def acknowledge_alert(session: Session, *, alert_id: int, actor: User, now: datetime | None = None,
                      via: str = "") -> SafetyAlert:
    """Someone has taken the alert in hand: escalation stops, and so do its messages not yet sent."""
    now = now or utcnow()
    alert = get_alert(session, alert_id, lock=True)
    if alert.state is not AlertState.OPEN:
        raise DomainError("alert_not_open", f"alert {alert_id} is {alert.state.value}",
                          extra={"state": alert.state.value})
    alert.state, alert.acknowledged_by_id, alert.acknowledged_at = AlertState.ACKNOWLEDGED, actor.id, now
    add_event(session, alert_id=alert.id, action="acknowledged", level=alert.level, actor_id=actor.id, at=now,
              note=via)
    record_audit(session, actor_id=actor.id, action="safety.alert_acknowledged", subject_type="safety_alert",
                 subject_id=alert.id, at=now, via=via or "console")
    cancel_for_alert(session, alert.id, reason=f"acknowledged by user {actor.id}", now=now)
    session.flush()
    return alert


# A code is 6 of 31 characters, guessable when nothing counts the wrong ones: after
# ACK_CODE_MAX_FAILURES within ACK_CODE_FAILURE_WINDOW_S from an address, or
# ACK_CODE_MAX_FAILURES_PER_ALERT for the alert from all addresses, every code (a right one too) is refused
# there until the window passes. The per-alert limit is the higher one: a stranger's guesses must not stop
# the recipients from acknowledging an SOS. The signed link and the console still work.
ACK_CODES = FailureThrottle("ack_code", "ACK_CODE_MAX_FAILURES", "ACK_CODE_FAILURE_WINDOW_S")
ACK_CODES_PER_ALERT = FailureThrottle("ack_code_alert", "ACK_CODE_MAX_FAILURES_PER_ALERT",
                                      "ACK_CODE_FAILURE_WINDOW_S")


class WrongAckCode(DomainError):
    """No message of this alert carried the code; its audit row is added (the caller commits it)."""

    status = 422

    def __init__(self):
        super().__init__("validation_error", "no message of this alert carried that code",
                         fields={"code": "unknown code"})


def acknowledge_with_code(session: Session, *, alert_id: int, code: str | None = None, token: str | None = None,
                          address: str | None = None, now: datetime | None = None) -> SafetyAlert:
    """Acknowledge with the short code of a staff message or the signed link sent with it; the
    acknowledging user is the one that message went to. Wrong codes are counted per alert and per
    client address (address), and audited."""
    get_alert(session, alert_id)
    if token:
        user = session.get(User, notices.read_ack_token(token, alert_id))
        via = "signed link"
    elif code:
        by_address, by_alert = [address_key(address)], [("alert", str(alert_id))]
        # Both limits asked before answering, so Retry-After is when every one of them allows a try again.
        wait = max(ACK_CODES.wait_s(by_address), ACK_CODES_PER_ALERT.wait_s(by_alert))
        if wait:
            log.warning("alert %s: acknowledgement code refused for %s s (too many wrong codes)", alert_id, wait)
            raise TooManyAttempts(wait, "code: too many wrong codes for this alert or from this address",
                                  {"code": "too many wrong codes; try again later"})
        message = find_by_ack_code(session, alert_id, code)
        if message is None:
            ACK_CODES.record_failure(by_address)
            ACK_CODES_PER_ALERT.record_failure(by_alert)
            record_audit(session, actor_id=None, action="safety.ack_code_failed", subject_type="safety_alert",
                         subject_id=alert_id, at=now, address=address)
            raise WrongAckCode()
        user = session.get(User, message.user_id)
        via = f"code {message.ack_code} ({message.channel.value})"
    else:
        raise DomainError("validation_error", "give the acknowledgement code or the link's token", status=422,
                          fields={"code": "required without a bearer token"})
    if user is None or not user.active:
        raise DomainError("forbidden", "that recipient may no longer acknowledge", status=403)
    return acknowledge_alert(session, alert_id=alert_id, actor=user, now=now, via=via)


def resolve_alert(session: Session, *, alert_id: int, actor: User, reason: str,
                  now: datetime | None = None) -> SafetyAlert:
    """Close an alert with the reason it is over."""
    now = now or utcnow()
    alert = get_alert(session, alert_id, lock=True)
    if alert.state is AlertState.RESOLVED:
        raise DomainError("alert_resolved", f"alert {alert_id} is already resolved", extra={"state": "resolved"})
    alert.state, alert.resolved_by_id, alert.resolved_at, alert.resolution = (
        AlertState.RESOLVED, actor.id, now, reason)
    add_event(session, alert_id=alert.id, action="resolved", level=alert.level, actor_id=actor.id, at=now,
              note=reason)
    cancel_for_alert(session, alert.id, reason="resolved", now=now)
    record_audit(session, actor_id=actor.id, action="safety.alert_resolved", subject_type="safety_alert",
                 subject_id=alert.id, at=now, reason=reason)
    session.flush()
    return alert


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


# How a lodging check-in shows to dispatchers: where, in words only.
AT_DECLARED_LODGING = "at declared lodging"


def _geojson(element) -> dict | None:
    latlon = point_latlon(element)
    return point_geojson(*latlon) if latlon else None


def with_deliveries(session: Session, alerts: list[SafetyAlert]) -> list[dict]:
    """Alert payloads, each with its messages' delivery (sent/failed per recipient and channel)."""
    deliveries = deliveries_for_alerts(session, [alert.id for alert in alerts])
    return [{**alert_view(alert), "deliveries": deliveries.get(alert.id, [])} for alert in alerts]


def alert_view(alert: SafetyAlert) -> dict:
    """An alert as dispatchers see it: who, where, which door; nothing about the debt."""
    visit = alert.visit
    return {
        "id": alert.id,
        "kind": alert.kind.value,
        "collector_id": alert.collector_id,
        "collector": {"id": alert.collector.id, "name": alert.collector.name} if alert.collector else None,
        "state": alert.state.value,
        "level": alert.level,
        "level_name": LEVEL_NAMES[alert.level],
        "duress": alert.duress,
        "raised_at": _iso(alert.raised_at),
        "notified_at": _iso(alert.notified_at),
        "deadline": _iso(alert.deadline),
        "last_position": _geojson(alert.position),
        "position_at": _iso(alert.position_at),
        "whereabouts": AT_DECLARED_LODGING if alert.at_declared_lodging else None,
        "visit": {"id": visit.id, "address": visit.address.text, "location": _geojson(visit.address.location)}
        if visit is not None else None,
        "note": alert.note,
        "acknowledged_by_id": alert.acknowledged_by_id,
        "acknowledged_at": _iso(alert.acknowledged_at),
        "resolved_by_id": alert.resolved_by_id,
        "resolved_at": _iso(alert.resolved_at),
        "resolution": alert.resolution,
    }


def event_view(event: AlertEvent) -> dict:
    """One step of an alert."""
    return {"action": event.action, "level": event.level, "actor_id": event.actor_id, "at": _iso(event.at),
            "note": event.note}
