"""Outcomes reported from the door: stored once per Idempotency-Key, checked against where the
visit is, with the doubts (implausible travel, stale fix, quiet hours) flagged for supervisors.
"""
from __future__ import annotations

import functools
import json
from datetime import datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from backend.auth.access import Caller
from backend.auth.models import User
from backend.cases.models import Case, CaseAddress
from backend.cases.service import add_contact, add_phone
from backend.dbtypes import driver
from backend.errors import DomainError, Forbidden, InvalidInput, NotFound
from backend.geo import make_point
from backend.idempotency import validate_key
from backend.phones import PhoneError, normalise_phone
from backend.policy.hours import VISIT, is_quiet_time
from backend.policy.service import get_policy
from backend.signals import visit_closed, visit_outcome_recorded, visit_released
from backend.sync.once import once_per_key
from backend.timeutil import local_time, utcnow
from backend.visits.models import (
    FAILED_OUTCOMES,
    OutcomeFlag,
    OutcomeKind,
    Visit,
    VisitAssignment,
    VisitOutcome,
    VisitStatus,
)
from backend.visits.notices import notify_visit_taken
from backend.visits.states import check_transition, close_by_late_report, move
from backend.visits.whereabouts import latest_report, report_sources

SCOPE = "visits.outcome"
NEEDS_EXPLANATION = (OutcomeKind.ADDRESS_INVALID, OutcomeKind.MOVED)
SELF = ("debtor", "self")


def _missing(fields: dict[str, str]) -> None:
    if fields:
        raise DomainError("validation_error", "; ".join(f"{k}: {v}" for k, v in fields.items()), status=422,
                          fields=fields)


def check_evidence(data: dict) -> None:
    """422 naming the field when an outcome lacks the evidence it needs."""
    outcome, missing = data["outcome"], {}
    if outcome is OutcomeKind.PAID:
        payment = data.get("payment") or {}
        for key in ("amount", "receipt_no"):
            if not payment.get(key):
                missing[f"payment.{key}"] = "required when the outcome is paid"
    if outcome is OutcomeKind.PROMISE_TO_PAY:
        promise = data.get("promise") or {}
        for key in ("amount", "due_date"):
            if not promise.get(key):
                missing[f"promise.{key}"] = "required when the outcome is promise_to_pay"
        if promise.get("due_date") and promise["due_date"] < data["recorded_at"].date():
            missing["promise.due_date"] = "must not be before the visit"
    if outcome in NEEDS_EXPLANATION and not (data.get("notes") or "").strip() and not (data.get("reason") or "").strip():
        missing["notes"] = f"say why when the outcome is {outcome.value} (notes or reason)"
    _missing(missing)


def normalised_phones(new_phones: list[dict], region: str) -> list[dict]:
    """Return the reported numbers in E.164, or 422 naming the bad one."""
    out = []
    for index, phone in enumerate(new_phones):
        try:
            number = normalise_phone(phone["number"], region)
        except PhoneError as exc:
            raise InvalidInput(f"new_phones.{index}.number", str(exc)) from exc
        owner = phone.get("owner") or "debtor"
        if owner.lower() not in SELF and not phone.get("relationship"):
            raise InvalidInput(f"new_phones.{index}.relationship", "say how a third party relates to the debtor")
        out.append({"number_e164": number, "owner": owner, "relationship": phone.get("relationship")})
    return out


def hazards_of(data: dict) -> list[dict]:
    """The hazards reported; a hostile outcome always carries a hostile hazard."""
    hazards = [{"kind": h["kind"].value, "note": h.get("note") or ""} for h in data.get("hazards") or []]
    if data["outcome"] is OutcomeKind.HOSTILE and not any(h["kind"] == "hostile" for h in hazards):
        hazards.append({"kind": "hostile", "note": (data.get("notes") or "")[:500]})
    return hazards


def report_statement() -> sa.Select:
    """The visit, locked, with its case (and portfolio), and where the report was made from: one query.

    Columns after the visit: metres from the visit address, then for each kind of earlier report (the
    collector's previous outcome, and every source registered in visits.whereabouts, e.g. safety's
    check-ins) its time and metres from here.
    """
    return _report_statement(report_sources())


@functools.cache
def _report_statement(sources) -> sa.Select:
    """Built once per set of sources: this runs on every report from the field."""
    here = sa.func.ST_GeogFromText(sa.bindparam("here", type_=sa.String))
    laterals = [latest_report(VisitOutcome, "previous_outcome"), *(build() for _, build in sources)]
    # When the reporter was first given this visit (visits.history): None if they never held it.
    held_since = (sa.select(sa.func.min(VisitAssignment.at))
                  .where(VisitAssignment.visit_id == Visit.id,
                         VisitAssignment.collector_id == sa.bindparam("collector_id"))
                  .scalar_subquery())
    columns = [Visit, sa.func.ST_Distance(CaseAddress.location, here), held_since]
    for lateral in laterals:
        columns += [lateral.c.recorded_at, sa.func.ST_Distance(lateral.c.location, here)]
    statement = sa.select(*columns).join(CaseAddress, CaseAddress.id == Visit.address_id)
    for lateral in laterals:
        statement = statement.outerjoin(lateral, sa.true())
    return (statement.where(Visit.id == sa.bindparam("visit_id"))
            .options(joinedload(Visit.case, innerjoin=True))
            .with_for_update(of=Visit)
            .execution_options(populate_existing=True))


def _ewkt(data: dict) -> str:
    """Where the report was made, as PostGIS extended WKT (what make_point stores)."""
    return f"SRID=4326;POINT({float(data['lon'])!r} {float(data['lat'])!r})"


def _locked_visit(session: Session, visit_id: int, collector_id: int, data: dict
                  ) -> tuple[Visit | None, tuple[float, datetime | None, float | None], datetime | None]:
    """Lock the visit; return it, (metres from its address, previous report time, metres from it), and
    when the collector was first given it (None: never).

    The previous report is the latest outcome or check-in (any registered source) the collector sent
    before this one, as committed when the statement starts: if it has to wait for the visit's lock, a report of
    another visit committed meanwhile is not seen (as one committed just after the read never was).
    A report of this visit committed meanwhile leaves nothing to store here: a replay, or 409.
    """
    row = session.execute(report_statement(), {
        "visit_id": visit_id, "collector_id": collector_id, "recorded_at": data["recorded_at"],
        "here": _ewkt(data)}).one_or_none()
    if row is None:
        return None, (0.0, None, None), None
    reports = [(row[k], row[k + 1]) for k in range(3, len(row), 2)]
    previous = max((r for r in reports if r[0] is not None), key=lambda r: r[0], default=(None, None))
    return row[0], (row[1], previous[0], previous[1]), row[2]


def flags_for(*, policy, case: Case, recorded_at: datetime, geofence_m: float, previous_at: datetime | None,
              previous_m: float | None, fix_at: datetime | None = None, mock_location: bool = False,
              held_since: datetime | None = None, finished_at: datetime | None = None,
              reassigned: bool = False) -> list[str]:
    """Doubts about a report, for supervisors (never a refusal).

    stale_fix is the GPS fix's age when the report was made (fix_at to recorded_at), not how long the
    report took to arrive: an honest report queued offline is delivered late but is not stale.
    """
    flags = []
    if previous_at is not None and previous_m is not None and previous_m > geofence_m:
        elapsed = (recorded_at - previous_at).total_seconds()
        if elapsed <= 0 or previous_m / elapsed * 3.6 > policy["visits.implausible_speed_kmh"]:
            flags.append(OutcomeFlag.IMPLAUSIBLE_TRAVEL.value)
    if fix_at is not None and recorded_at - fix_at > timedelta(minutes=policy["visits.stale_fix_minutes"]):
        flags.append(OutcomeFlag.STALE_FIX.value)
    if is_quiet_time(recorded_at, case.timezone, policy, VISIT):
        flags.append(OutcomeFlag.QUIET_HOURS_VIOLATION.value)
    if mock_location:
        flags.append(OutcomeFlag.MOCK_LOCATION.value)
    tolerance = timedelta(minutes=policy["visits.backdate_tolerance_minutes"])
    if ((held_since is not None and recorded_at < held_since - tolerance)
            or (finished_at is not None and recorded_at > finished_at + tolerance)):
        flags.append(OutcomeFlag.BACKDATED.value)
    if reassigned:
        flags.append(OutcomeFlag.REASSIGNED.value)
    return flags


def geofence_radius(policy, accuracy_m: float | None) -> float:
    """The geofence widened by the fix's accuracy, never beyond the cap."""
    base = float(policy["visits.geofence_m"])
    return max(base, min(base + float(accuracy_m or 0), float(policy["visits.geofence_accuracy_cap_m"])))


def _join_phones(session: Session, case_id: int, outcome_id: int, phones: list[dict]) -> list[dict]:
    """New numbers join the case: the debtor's as phones, anyone else's as contacts."""
    joined = []
    for phone in phones:
        if phone["owner"].lower() in SELF:
            added = add_phone(session, case_id=case_id, number_e164=phone["number_e164"], source="visit",
                              source_ref=str(outcome_id))
            joined_as = "phone"
        else:
            added = add_contact(session, case_id=case_id, name=phone["owner"], relationship=phone["relationship"],
                                phone_e164=phone["number_e164"], source="visit", source_ref=str(outcome_id))
            joined_as = "contact"
        joined.append({**phone, "joined_as": joined_as, "new": added})
    return joined


_MOVED_COLUMNS = ("status", "started_at", "finished_at", "updated_at")  # what visits.states.move stamps
# The outcome and the visit's final status in one statement (the visit's UPDATE as a data-modifying
# CTE), as plain SQL on the session's DBAPI connection (same transaction): this runs for every report
# from the field, and the unit of work, then SQLAlchemy's execution layer, cost more than the statement.
_INSERT_FINISHED = """
WITH finished_visit AS (
    UPDATE visits SET status = %(status)s::visit_status, started_at = %(started_at)s, finished_at = %(finished_at)s,
                      updated_at = %(updated_at)s, last_outcome = %(last_outcome)s
    WHERE id = %(visit_id)s)
INSERT INTO visit_outcomes (visit_id, collector_id, outcome, recorded_at, received_at, location, accuracy_m,
                            fix_at, mock_location, distance_m, on_site, geofence_m, flags, notes, reason, promise, payment, new_phones,
                            hazards, idempotency_key, created_at)
VALUES (%(visit_id)s, %(collector_id)s, %(outcome)s::visit_outcome_kind, %(recorded_at)s, %(received_at)s,
        ST_GeogFromText(%(location)s), %(accuracy_m)s, %(fix_at)s, %(mock_location)s, %(distance_m)s, %(on_site)s, %(geofence_m)s,
        %(flags)s::varchar(40)[], %(notes)s, %(reason)s, %(promise)s::jsonb, %(payment)s::jsonb,
        %(new_phones)s::jsonb, %(hazards)s::jsonb, %(idempotency_key)s, %(created_at)s)
RETURNING id, EXISTS (SELECT 1 FROM visit_pins WHERE visit_id = %(visit_id)s)
"""
_JSON_COLUMNS = ("promise", "payment", "new_phones", "hazards")
_PLAIN_COLUMNS = ("visit_id", "collector_id", "recorded_at", "received_at", "accuracy_m", "fix_at", "mock_location",
                  "distance_m", "on_site",
                  "geofence_m", "flags", "notes", "reason", "idempotency_key", "created_at")


def _insert_finished(session: Session, outcome: VisitOutcome, visit: Visit, target: VisitStatus,
                     location: str) -> bool:
    """INSERT the outcome and move the visit to its final status, in one statement; return whether the
    visit is pinned (so that closing it costs a pin's removal only when it has one).

    The pin is read by this statement, after the visit's row lock was granted: a pin committed while the
    report waited for the lock is seen (a read in the locking statement would use that statement's older
    snapshot), and a pin asked for later waits for this report and then finds the visit closed.

    move() (checked, stamped) works on a copy of the fields it reads and stamps; the ORM objects are
    then given committed values only: the outcome becomes a persistent row (every column is set by
    _store, so nothing is left to expire) and the visit has nothing left to flush.
    """
    draft = move(SimpleNamespace(**{key: getattr(visit, key) for key in ("id", *_MOVED_COLUMNS)}), target)
    finished = {**{key: getattr(draft, key) for key in _MOVED_COLUMNS}, "last_outcome": outcome.outcome.value}
    params = {**{key: getattr(outcome, key) for key in _PLAIN_COLUMNS},
              **{key: json.dumps(getattr(outcome, key)) for key in _JSON_COLUMNS},
              **finished, "status": finished["status"].value, "outcome": outcome.outcome.value, "location": location}
    connection = driver(session)
    outcome.id, pinned = connection.execute(_INSERT_FINISHED, params).fetchone()
    make_transient_to_detached(outcome)
    session.add(outcome)
    for key, value in finished.items():
        set_committed_value(visit, key, value)
    return pinned


def _store(session: Session, *, visit: Visit, collector: User | Caller, key: str, data: dict, phones: list[dict],
           whereabouts: tuple[float, datetime | None, float | None], received_at: datetime,
           held_since: datetime | None, reassigned: bool) -> dict:
    target = VisitStatus.FAILED if data["outcome"] in FAILED_OUTCOMES else VisitStatus.DONE
    closes = visit.status not in CLOSED  # a late report beside a visit already closed changes nothing
    if not reassigned:
        check_transition(visit, target)
    case = visit.case
    policy = get_policy(session, case.portfolio_id)
    distance, previous_at, previous_m = whereabouts
    radius = geofence_radius(policy, data.get("accuracy_m"))
    outcome = VisitOutcome(
        visit_id=visit.id, collector_id=collector.id, outcome=data["outcome"], recorded_at=data["recorded_at"],
        received_at=received_at, location=make_point(data["lat"], data["lon"]), accuracy_m=data.get("accuracy_m"),
        fix_at=data.get("fix_at"), mock_location=bool(data.get("mock_location")),
        # An address not yet located has no distance: the report cannot be on site (it may propose the position).
        distance_m=None if distance is None else round(distance, 1),
        on_site=distance is not None and distance <= radius, geofence_m=radius,
        flags=flags_for(policy=policy, case=case, recorded_at=data["recorded_at"], geofence_m=radius,
                        previous_at=previous_at, previous_m=previous_m, fix_at=data.get("fix_at"),
                        mock_location=bool(data.get("mock_location")), held_since=held_since,
                        finished_at=visit.finished_at if visit.status in CLOSED else None, reassigned=reassigned),
        notes=data.get("notes") or "", reason=data.get("reason"), promise=_plain(data.get("promise")),
        payment=_plain(data.get("payment")), new_phones=[], hazards=hazards_of(data), idempotency_key=key,
        created_at=received_at)
    pinned = None  # not known: whoever removes pins looks
    if reassigned:
        _store_reassigned(session, outcome, visit, target, collector.id)
    else:
        pinned = _insert_finished(session, outcome, visit, target, _ewkt(data))
    if phones:
        outcome.new_phones = _join_phones(session, case.id, outcome.id, phones)
    if closes:
        visit_closed.send(visit, session=session, actor_id=collector.id, pinned=pinned)
    # No separate audit event: the outcome row is the immutable record of who reported what, when.
    # Receivers flag hazards (visits.hazards) and log the attempt and the promise (contacts): same transaction.
    visit_outcome_recorded.send(visit, session=session, outcome=outcome, actor_id=collector.id)
    return outcome_view(outcome, visit)


CLOSED = (VisitStatus.DONE, VisitStatus.FAILED, VisitStatus.CANCELLED)


def _store_reassigned(session: Session, outcome: VisitOutcome, visit: Visit, target: VisitStatus,
                      collector_id: int) -> None:
    """Store a report the phone queued before the visit was moved away from its collector.

    The collector knocked: the report stands. An open visit is closed by it and becomes the reporter's
    (visit_released takes it off the route of whoever held it since, who sees it gone on their next
    /me/route); a visit already closed keeps its status, the report is kept beside it for review.
    """
    session.add(outcome)
    if visit.status not in CLOSED:
        if visit.collector_id is not None and visit.collector_id != collector_id:
            notify_visit_taken(session, visit=visit, holder_id=visit.collector_id, address_text=visit.address.text)
            visit_released.send(visit, session=session)
        close_by_late_report(visit, target)
        visit.last_outcome = outcome.outcome.value
        visit.collector_id = collector_id
        if visit.scheduled_date is None:
            visit.scheduled_date = local_time(outcome.recorded_at, visit.case.timezone).date()
    session.flush()


def _plain(value: dict | None) -> dict | None:
    """JSON-safe copy of a nested promise/payment (decimals as strings, dates as ISO)."""
    if not value:
        return None
    return {k: (v.isoformat() if hasattr(v, "isoformat") else str(v)) for k, v in value.items() if v is not None}


def outcome_view(outcome: VisitOutcome, visit: Visit) -> dict:
    """The outcome as the API returns it (and replays it)."""
    return {"id": outcome.id, "visit_id": visit.id, "outcome": outcome.outcome.value,
            "recorded_at": outcome.recorded_at.isoformat(), "received_at": outcome.received_at.isoformat(),
            "distance_m": outcome.distance_m, "on_site": outcome.on_site, "geofence_m": outcome.geofence_m,
            "accuracy_m": outcome.accuracy_m,
            "fix_at": outcome.fix_at.isoformat() if outcome.fix_at else None, "mock_location": outcome.mock_location,
            "flags": list(outcome.flags), "visit_status": visit.status.value,
            "promise": outcome.promise, "payment": outcome.payment, "new_phones": outcome.new_phones,
            "hazards": outcome.hazards}


def _moved_away(visit: Visit, collector_id: int, held_since: datetime | None) -> bool:
    """Whether the visit has moved away from the collector since they were given it.

    403 only for a collector who never held it: a visit re-assigned, released or cancelled after the
    phone took it is still theirs to report.
    """
    holds_now = visit.collector_id == collector_id and visit.status is not VisitStatus.CANCELLED
    if not holds_now and held_since is None:
        raise Forbidden("only the collector assigned to this visit may report it")
    return not holds_now


def record_outcome(session: Session, *, visit_id: int, collector: User | Caller, key: str | None, data: dict,
                   region: str, received_at: datetime | None = None) -> tuple[int, dict]:
    """Store a collector's outcome once per key: (201, body) first, (200, same body) on a replay."""
    key = validate_key(key)
    # Locked from the start: reports of one visit (other keys, replays) queue here, one at a time.
    visit, whereabouts, held_since = _locked_visit(session, visit_id, collector.id, data)
    if visit is None:
        raise NotFound("visit", visit_id, field="visit_id")
    reassigned = _moved_away(visit, collector.id, held_since)
    check_evidence(data)
    phones = normalised_phones(data.get("new_phones") or [], region)
    received_at = received_at or utcnow()
    return once_per_key(
        session, user_id=collector.id, key=key, scope=SCOPE, payload={"visit_id": visit_id, **data}, required=True,
        apply=lambda: (201, _store(session, visit=visit, collector=collector, key=key, data=data, phones=phones,
                                   whereabouts=whereabouts, received_at=received_at, held_since=held_since,
                                   reassigned=reassigned)))
