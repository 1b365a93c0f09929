"""Visit outcomes become contact attempts (and promises, payments): the log covers calls and visits alike.

The outcome row belongs to the visits feature; it is read defensively (getattr) so the two evolve apart.
"""
from __future__ import annotations

import logging

import sqlalchemy as sa

from backend.contacts.attempts import DEBTOR, log_attempt
from backend.contacts.models import AttemptResult, Channel
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


# What an earlier delivery of the same outcome already stored (asked only when it brings a promise or payment).
_STORED = sa.text("""
SELECT EXISTS (SELECT 1 FROM promises WHERE visit_outcome_id = :id),
       EXISTS (SELECT 1 FROM case_payments WHERE visit_outcome_id = :id)
""")


def _already_stored(session, outcome_id) -> tuple[bool, bool]:
    """(promise, payment) already stored for this outcome."""
    if outcome_id is None:
        return False, False
    return tuple(session.execute(_STORED, {"id": outcome_id}).one())


@visit_outcome_recorded.connect
def log_visit_outcome(visit, *, session, outcome, actor_id=None, **_):
    """Log the visit as a contact attempt (never refused: it happened; violations listed)."""
    outcome_id = getattr(outcome, "id", None)
    kind = _value(getattr(outcome, "outcome", None))
    result = OUTCOME_RESULTS.get(kind, AttemptResult.NO_ANSWER)
    at = getattr(outcome, "recorded_at", None) or utcnow()
    notes = getattr(outcome, "notes", None) or ""
    attempt = log_attempt(session, case_id=visit.case_id, party=DEBTOR, channel=Channel.VISIT, started_at=at,
                          result=result, notes=f"visit {visit.id}: {kind}. {notes}".strip()[:2000],
                          actor_id=actor_id, source="visit", visit_id=visit.id, visit_outcome_id=outcome_id,
                          enforce=False, now=max(at, utcnow()))  # once per outcome, however often delivered
    promise, payment = getattr(outcome, "promise", None), getattr(outcome, "payment", None)
    promise_stored, payment_stored = _already_stored(session, outcome_id) if promise or payment else (False, False)
    if promise and not promise_stored:
        record_promise(session, case_id=visit.case_id, amount=promise.get("amount"),
                       due_date=promise.get("due_date"), source="visit", promised_at=at, attempt_id=attempt.id,
                       visit_id=visit.id, visit_outcome_id=outcome_id, actor_id=actor_id, field_prefix="promise.",
                       strict_due=False)
    if payment and not payment_stored:
        record_payment(session, case_id=visit.case_id, amount=payment.get("amount"), paid_at=at,
                       receipt_no=payment.get("receipt_no"), source="visit", visit_id=visit.id,
                       visit_outcome_id=outcome_id, actor_id=actor_id, field_prefix="payment.")

