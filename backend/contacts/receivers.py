"""Visit outcomes become contact attempts (and promises, payments): the log covers calls and visits alike.

The outcome row belongs to the visits feature; it is read defensively (getattr) so the two evolve apart.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from backend.contacts.attempts import DEBTOR, log_attempt
from backend.contacts.models import AttemptResult, CasePayment, Channel, ContactAttempt, Promise
from backend.contacts.promises import record_payment, record_promise
from backend.signals import visit_outcome_recorded
from backend.timeutil import utcnow

log = logging.getLogger(__name__)

# What a door-step outcome means for the contact log (the party visited is the debtor).
OUTCOME_RESULTS = {
    "met_debtor": AttemptResult.ANSWERED,
    "promise_to_pay": AttemptResult.PROMISE,
    "paid": AttemptResult.ANSWERED,
    "refused": AttemptResult.REFUSED,
    "hostile": AttemptResult.REFUSED,
    "not_home": AttemptResult.NO_ANSWER,
    "moved": AttemptResult.WRONG_NUMBER,
    "address_invalid": AttemptResult.WRONG_NUMBER,
    "third_party_met": AttemptResult.THIRD_PARTY,
}


def _value(thing):
    return getattr(thing, "value", thing)


def _already_logged(session, outcome_id) -> bool:
    if outcome_id is None:
        return False
    return session.scalar(sa.select(ContactAttempt.id).where(ContactAttempt.visit_outcome_id == outcome_id)) is not None


@visit_outcome_recorded.connect
def log_visit_outcome(visit, *, session, outcome, actor_id=None, **_):
    """Log the visit as a contact attempt (never refused: it happened; violations listed)."""
    outcome_id = getattr(outcome, "id", None)
    if _already_logged(session, outcome_id):
        return
    kind = _value(getattr(outcome, "outcome", None))
    result = OUTCOME_RESULTS.get(kind, AttemptResult.NO_ANSWER)
    at = getattr(outcome, "recorded_at", None) or utcnow()
    notes = getattr(outcome, "notes", None) or ""
    attempt = log_attempt(session, case_id=visit.case_id, party=DEBTOR, channel=Channel.VISIT, started_at=at,
                          result=result, notes=f"visit {visit.id}: {kind}. {notes}".strip()[:2000],
                          actor_id=actor_id, source="visit", visit_id=visit.id, visit_outcome_id=outcome_id,
                          enforce=False, now=max(at, utcnow()))
    promise = getattr(outcome, "promise", None)
    if promise and _missing(session, Promise, outcome_id):
        record_promise(session, case_id=visit.case_id, amount=promise.get("amount"),
                       due_date=promise.get("due_date"), source="visit", promised_at=at, attempt_id=attempt.id,
                       visit_id=visit.id, visit_outcome_id=outcome_id, actor_id=actor_id, field_prefix="promise.",
                       strict_due=False)
    payment = getattr(outcome, "payment", None)
    if payment and _missing(session, CasePayment, outcome_id):
        record_payment(session, case_id=visit.case_id, amount=payment.get("amount"), paid_at=at,
                       receipt_no=payment.get("receipt_no"), source="visit", visit_id=visit.id,
                       visit_outcome_id=outcome_id, actor_id=actor_id, field_prefix="payment.")


def _missing(session, model, outcome_id) -> bool:
    if outcome_id is None:
        return True
    return session.scalar(sa.select(model.id).where(model.visit_outcome_id == outcome_id)) is None
