"""Logging contact attempts with the rules enforced, do-not-contact requests, and who may log them."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached

from backend.audit.service import record_audit
from backend.auth.models import Role, User
from backend.cases import service as cases_service
from backend.cases.models import Case, CaseContact
from backend.contacts.models import REACHED_RESULTS, AttemptResult, Channel, ContactAttempt, DoNotContactEvent
from backend.contacts.rules import RuleCheck, check_attempt, classify_party
from backend.contacts.status import StatusFacts, facts_of, recompute_status, with_facts
from backend.dbtypes import driver
from backend.errors import DomainError, Forbidden, InvalidInput, NotFound
from backend.pagination import paginate
from backend.policy.service import get_policy
from backend.signals import contact_attempt_recorded
from backend.timeutil import utcnow
from backend.visits.models import OPEN_STATUSES, Visit, VisitStatus

DEBTOR = "debtor"


def get_case(session: Session, case_id: int) -> Case:
    """Return the case or raise NotFound."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("case", case_id)
    return case


def get_contact(session: Session, case: Case, contact_id: int, field: str | None = None) -> CaseContact:
    """Return a contact of the case or raise NotFound."""
    contact = session.get(CaseContact, contact_id)
    if contact is None or contact.case_id != case.id:
        raise NotFound("contact", contact_id, field=field)
    return contact


def resolve_party(session: Session, case: Case, party) -> CaseContact | None:
    """Turn the API's party ("debtor" or a contact id of this case) into None or the contact."""
    if party == DEBTOR:
        return None
    if isinstance(party, bool) or not (isinstance(party, int) or (isinstance(party, str) and party.isdigit())):
        raise InvalidInput("party", 'must be "debtor" or the id of one of the case\'s contacts')
    contact = session.get(CaseContact, int(party))
    if contact is None or contact.case_id != case.id:
        raise InvalidInput("party", f"contact {party} is not a contact of case {case.id}")
    return contact


def require_case_access(session: Session, user: User, case_id: int, *, now: datetime | None = None) -> None:
    """Collectors act on (and read the third parties of) a case only while they hold an open visit
    there, and `contacts.collector_access_days` after their last visit there ended; office roles on any."""
    if user.role != Role.COLLECTOR:
        return
    mine = sa.and_(Visit.case_id == case_id, Visit.collector_id == user.id)
    if session.scalar(sa.select(Visit.id).where(mine, Visit.status.in_(OPEN_STATUSES)).limit(1)) is not None:
        return
    ended = session.scalar(sa.select(sa.func.max(sa.func.coalesce(Visit.finished_at, Visit.updated_at)))
                           .where(mine, Visit.status.in_((VisitStatus.DONE, VisitStatus.FAILED))))
    if ended is not None:
        case = session.get(Case, case_id)
        days = get_policy(session, case.portfolio_id if case else None)["contacts.collector_access_days"]
        if ended >= (now or utcnow()) - timedelta(days=days):
            return
        raise Forbidden(f"your access to this case ended {days} days after your last visit there")
    raise Forbidden("collectors may act only on cases of visits assigned to them")


class AttemptRefused(DomainError):
    """The 409 a refused attempt gets: the first rule's code, every violation, when to try again; `check`
    keeps the whole decision for a caller that handles the refusal itself (the reminder sweep)."""

    def __init__(self, check: RuleCheck):
        first = check.violations[0]
        fields = {}
        for violation in check.violations:
            fields.setdefault("started_at" if violation.code == "quiet_hours" else "party", violation.message)
        extra = {"violations": [v.as_dict() for v in check.violations]}
        if check.next_allowed_at is not None:
            extra["next_allowed_at"] = check.next_allowed_at.isoformat()
        super().__init__(first.code, first.message, status=409, fields=fields, extra=extra)
        self.check = check


_LOCK_PARTY = "SELECT pg_advisory_xact_lock(hashtextextended(%(key)s, 0))"


def _lock_party(session: Session, case_id: int, contact_id: int | None) -> None:
    # Two attempts logged at once for one party must not both pass a cap. Plain SQL on the session's
    # DBAPI connection (same transaction): every attempt and outcome passes here.
    driver(session).execute(
        _LOCK_PARTY, {"key": f"contact-party:{case_id}:{contact_id or DEBTOR}"})


# visit_outcome_id is unique: an outcome delivered again finds its attempt stored (NULLs never conflict).
_INSERT_ATTEMPT = with_facts("""
INSERT INTO contact_attempts (case_id, contact_id, channel, started_at, result, reached, notes, late_entry, violations,
                              asked_not_to_be_contacted, source, visit_id, visit_outcome_id, logged_by_id, recorded_at)
VALUES (%(case_id)s, %(contact_id)s, %(channel)s::contact_channel, %(started_at)s, %(result)s::contact_result,
        %(reached)s, %(notes)s, %(late_entry)s, %(violations)s::jsonb, %(asked_not_to_be_contacted)s, %(source)s,
        %(visit_id)s, %(visit_outcome_id)s, %(logged_by_id)s, %(recorded_at)s)
ON CONFLICT (visit_outcome_id) DO NOTHING RETURNING id, case_id, contact_id, started_at, reached, result
""")
_PLAIN_COLUMNS = ("case_id", "contact_id", "started_at", "reached", "notes", "late_entry", "asked_not_to_be_contacted",
                  "source", "visit_id", "visit_outcome_id", "logged_by_id", "recorded_at")


def _insert(session: Session, attempt: ContactAttempt) -> StatusFacts | None:
    """INSERT the attempt, attach it as a persistent row and return its case's status facts counting it
    (as of attempt.recorded_at), all in one statement; None (nothing stored) when its visit outcome
    already has its attempt.

    Every attempt (each outcome from the door) is logged here: plain SQL on the session's DBAPI
    connection (same transaction), as the unit of work, then SQLAlchemy's execution layer, cost more
    than the statement. Every column is set by the caller, so nothing is left to expire.
    """
    session.flush()  # what the attempt refers to, written first (plain SQL does not autoflush)
    params = {key: getattr(attempt, key) for key in _PLAIN_COLUMNS}
    params.update(channel=attempt.channel.value, result=attempt.result.value, violations=json.dumps(attempt.violations),
                  now=attempt.recorded_at)
    row = driver(session).execute(_INSERT_ATTEMPT, params).fetchone()
    if row is None:
        return None
    attempt.id = row[0]
    make_transient_to_detached(attempt)
    session.add(attempt)
    return facts_of(row[1:])


def log_attempt(session: Session, *, case_id: int, party, channel: Channel | str, started_at: datetime,
                result: AttemptResult | str, notes: str = "", late_entry: bool = False,
                asked_not_to_be_contacted: bool = False, actor_id: int | None = None, source: str = "manual",
                visit_id: int | None = None, visit_outcome_id: int | None = None, enforce: bool = True,
                now: datetime | None = None) -> ContactAttempt:
    """Check an attempt against the rules and store it; refuse (AttemptRefused, 409) unless late or not
    enforced. The check runs once, under the party's lock, and nothing is written before it.

    A late entry (or a visit that already happened, enforce=False) is stored with its violations.
    The attempt of a visit outcome is stored once: the outcome delivered again returns the first.
    """
    now = now or utcnow()
    case = get_case(session, case_id)
    contact = resolve_party(session, case, party)
    policy = get_policy(session, case.portfolio_id)
    if started_at > now + timedelta(minutes=policy["contact.future_skew_minutes"]):
        raise InvalidInput("started_at", "is in the future")
    _lock_party(session, case.id, contact.id if contact else None)
    check = check_attempt(session, case=case, contact=contact, channel=channel, at=started_at, policy=policy)
    if enforce and not late_entry and not check.allowed:
        raise AttemptRefused(check)
    result = AttemptResult(result)
    attempt = ContactAttempt(
        case_id=case.id, contact_id=contact.id if contact else None, channel=Channel(channel), started_at=started_at,
        result=result, reached=result in REACHED_RESULTS, notes=notes or "", late_entry=late_entry,
        violations=[v.as_dict() for v in check.violations], asked_not_to_be_contacted=asked_not_to_be_contacted,
        source=source, visit_id=visit_id, visit_outcome_id=visit_outcome_id, logged_by_id=actor_id,
        recorded_at=now)
    facts = _insert(session, attempt)
    if facts is None:
        return session.scalars(sa.select(ContactAttempt).where(ContactAttempt.visit_outcome_id == visit_outcome_id)).one()
    if late_entry or check.violations:
        record_audit(session, actor_id=actor_id, action="contact_attempt.flagged", subject_type="case",
                     subject_id=case.id, attempt_id=attempt.id, late_entry=late_entry,
                     violations=[v.code for v in check.violations])
    if asked_not_to_be_contacted:
        set_do_not_contact(session, case=case, contact=contact, active=True, actor_id=actor_id, at=started_at,
                           attempt_id=attempt.id, reason="asked not to be contacted during a contact attempt")
    recompute_status(session, case, now=now, reason=f"attempt:{attempt.id}", attempt_id=attempt.id, policy=policy,
                     facts=facts)
    contact_attempt_recorded.send(case, session=session, attempt=attempt, actor_id=actor_id)
    return attempt


def set_do_not_contact(session: Session, *, case: Case, contact: CaseContact | None, active: bool,
                       actor_id: int | None, reason: str = "", at: datetime | None = None,
                       attempt_id: int | None = None) -> DoNotContactEvent:
    """Record that a party asked not to be contacted (active) or that the request was lifted; audited."""
    at = at or utcnow()
    event = DoNotContactEvent(case_id=case.id, contact_id=contact.id if contact else None, active=active,
                              reason=reason or "", attempt_id=attempt_id, actor_id=actor_id, at=at)
    session.add(event)
    if contact is not None:
        cases_service.set_do_not_contact(contact, active=active, at=at)
    record_audit(session, actor_id=actor_id,
                 action="contact.do_not_contact_set" if active else "contact.do_not_contact_lifted",
                 subject_type="case", subject_id=case.id, party=contact.id if contact else DEBTOR,
                 reason=reason or "", attempt_id=attempt_id)
    session.flush()
    return event


def party_do_not_contact(session: Session, case: Case, contact: CaseContact | None) -> bool:
    """Whether the party's do-not-contact request is in force now."""
    latest = session.scalar(
        sa.select(DoNotContactEvent.active)
        .where(DoNotContactEvent.case_id == case.id,
               DoNotContactEvent.contact_id.is_(None) if contact is None
               else DoNotContactEvent.contact_id == contact.id)
        .order_by(DoNotContactEvent.at.desc(), DoNotContactEvent.id.desc()).limit(1))
    if latest is None:
        return bool(contact is not None and contact.do_not_contact)
    return latest


def mark_volunteered(session: Session, *, case: Case, contact: CaseContact, actor_id: int | None,
                     notes: str = "") -> CaseContact:
    """Record that a third party volunteered to pay: from now on they may be told the amount; audited."""
    cases_service.set_volunteered_to_pay(contact)
    record_audit(session, actor_id=actor_id, action="contact.volunteered_to_pay", subject_type="case",
                 subject_id=case.id, party=contact.id, notes=notes or "")
    session.flush()
    return contact


def list_attempts(session: Session, *, case_id: int, page: int = 1,
                  page_size: int = 100) -> tuple[list[ContactAttempt], int]:
    """One page of a case's contact log, newest first, and how many attempts it holds."""
    return paginate(session, sa.select(ContactAttempt).where(ContactAttempt.case_id == case_id)
                    .order_by(ContactAttempt.started_at.desc(), ContactAttempt.id.desc()), page, page_size)


def party_view(case: Case, contact: CaseContact | None, policy) -> dict:
    """Who a party is, for reports (no amounts)."""
    party = classify_party(contact, policy)
    if contact is None:
        return {"party": DEBTOR, "contact_id": None, "name": case.debtor_name, "relationship": None,
                "obligor": True}
    return {"party": str(contact.id), "contact_id": contact.id, "name": contact.name,
            "relationship": contact.relationship, "obligor": party.obligor}
