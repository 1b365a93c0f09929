"""What a third party may be told: who we are trying to reach, never the debt, unless they volunteer to pay."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from backend.cases.models import Case, CaseContact
from backend.contacts.attempts import party_do_not_contact
from backend.contacts.compliance import earliest_contact
from backend.contacts.models import Channel
from backend.contacts.rules import classify_party
from backend.phones import mask_phone
from backend.policy.service import get_policy
from backend.timeutil import utcnow

THIRD_PARTY_PURPOSE = ("Ask only how to reach the debtor. Do not mention the debt, the amount or the "
                       "creditor, and do not ask this person to pay.")
OBLIGOR_PURPOSE = "This person may be told about the debt."


def may_disclose_debt(contact: CaseContact, policy) -> bool:
    """A third party learns the debt only after volunteering to pay; obligors (guarantor...) may be told."""
    return contact.volunteered_to_pay or classify_party(contact, policy).obligor


def call_sheet(session: Session, *, case: Case, contact: CaseContact, masked: bool,
               now: datetime | None = None) -> dict:
    """The sheet for calling a contact: the debtor's name and the contact's details; the debt only if allowed."""
    now = now or utcnow()
    policy = get_policy(session, case.portfolio_id)
    disclose = may_disclose_debt(contact, policy)
    timing = earliest_contact(session, case=case, contact=contact, channel=Channel.CALL, now=now, policy=policy)
    sheet = {
        "case_id": case.id,
        "debtor_name": case.debtor_name,
        "contact": {"id": contact.id, "name": contact.name, "relationship": contact.relationship,
                    "phone": mask_phone(contact.phone_e164) if masked else contact.phone_e164},
        "masked": masked,
        "purpose": OBLIGOR_PURPOSE if disclose else THIRD_PARTY_PURPOSE,
        "may_discuss_debt": disclose,
        "do_not_contact": party_do_not_contact(session, case, contact),
        "next_lawful_at": timing["earliest_at"],
        "allowed_now": timing["allowed_now"],
        "reasons": timing["reasons"],
    }
    if disclose:
        sheet["debt"] = {"amount_due": case.amount_due, "currency": case.currency,
                         "days_past_due": case.days_past_due}
    return sheet
