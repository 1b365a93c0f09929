"""The live board: collectors on shift now, where they last checked in, what is due, what is wrong.

Only open monitored sessions appear: once a collector ends the shift their position is not shown.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.cases.models import CaseAddress
from backend.geo import parse_geojson
from backend.safety.alerts import AT_DECLARED_LODGING, LEVEL_NAMES, STATE_FILTERS
from backend.safety.models import CheckinKind, SafetyAlert, SafetyShift
from backend.timeutil import utcnow
from backend.visits.models import HazardFlag, Visit


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _alert_summary(alert: SafetyAlert) -> dict:
    return {"id": alert.id, "kind": alert.kind.value, "state": alert.state.value, "level": alert.level,
            "level_name": LEVEL_NAMES[alert.level], "duress": alert.duress, "raised_at": _iso(alert.raised_at),
            "collector_id": alert.collector_id}


def _hazards_this_shift(session: Session, shifts: list[SafetyShift]) -> dict[int, list[dict]]:
    """Hazards each collector on shift reported since their shift began (newest first)."""
    started = {shift.collector_id: shift.started_at for shift in shifts}
    if not started:
        return {}
    rows = session.execute(sa.select(HazardFlag.author_id, HazardFlag.kind, HazardFlag.visit_id, HazardFlag.created_at)
                           .where(HazardFlag.author_id.in_(list(started)))
                           .order_by(HazardFlag.created_at.desc(), HazardFlag.id.desc()))
    found: dict[int, list[dict]] = {}
    for author_id, kind, visit_id, created_at in rows:
        if created_at >= started[author_id]:
            found.setdefault(author_id, []).append({"kind": kind.value, "visit_id": visit_id, "at": _iso(created_at)})
    return found


def live_board(session: Session, *, now: datetime | None = None) -> dict:
    """Every open session with its last check-in, position, deadline and active alerts (two queries)."""
    now = now or utcnow()
    rows = session.execute(
        sa.select(SafetyShift, User.name, sa.func.ST_AsGeoJSON(SafetyShift.last_position), CaseAddress.text)
        .join(User, User.id == SafetyShift.collector_id)
        .outerjoin(Visit, Visit.id == SafetyShift.visit_id)
        .outerjoin(CaseAddress, CaseAddress.id == Visit.address_id)
        .where(SafetyShift.ended_at.is_(None))
        .order_by(SafetyShift.next_checkin_by.asc().nulls_last(), User.name)).all()
    alerts = list(session.scalars(sa.select(SafetyAlert).where(SafetyAlert.state.in_(STATE_FILTERS["active"]))
                                  .order_by(SafetyAlert.level.desc(), SafetyAlert.raised_at)))
    by_collector: dict[int, list[dict]] = {}
    for alert in alerts:
        by_collector.setdefault(alert.collector_id, []).append(_alert_summary(alert))
    on_shift = {shift.collector_id for shift, *_ in rows}
    hazards = _hazards_this_shift(session, [shift for shift, *_ in rows])
    collectors = [{
        "collector_id": shift.collector_id,
        "name": name,
        "shift_started_at": _iso(shift.started_at),
        "last_checkin": {"kind": shift.last_checkin_kind.value, "at": _iso(shift.last_checkin_at)}
        if shift.last_checkin_kind else None,
        "last_position": parse_geojson(position),
        "whereabouts": AT_DECLARED_LODGING if shift.last_checkin_kind is CheckinKind.LODGING else None,
        "visit": {"id": shift.visit_id, "address": address} if shift.visit_id else None,
        "next_checkin_by": _iso(shift.next_checkin_by),
        "overdue": shift.next_checkin_by is not None and shift.next_checkin_by < now,
        "open_alerts": by_collector.get(shift.collector_id, []),
        "hazards": hazards.get(shift.collector_id, []),
        "deadline_reason": shift.deadline_reason,
    } for shift, name, position, address in rows]
    # Alerts of nobody on shift (system alerts, an SOS after hours): listed without any position.
    others = [summary for collector_id, summaries in by_collector.items() if collector_id not in on_shift
              for summary in summaries]
    return {"generated_at": now.isoformat(), "collectors": collectors, "other_alerts": others}
