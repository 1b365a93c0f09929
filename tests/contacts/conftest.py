"""Contact-log factories: cases with third parties, local times in the debtor's zone, attempt posting."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from backend.cases.models import ContactStatus
from backend.contacts.attempts import log_attempt

SHANGHAI = "Asia/Shanghai"
NEW_YORK = "America/New_York"
# A Tuesday, well in the past (attempts may not be dated in the future).
DAY = "2026-11-10"

CONTACTS = (
    {"name": "Li Na", "relationship": "spouse", "phone_e164": "+8613900139001"},
    {"name": "Wang Fang", "relationship": "friend", "phone_e164": "+8613900139002"},
    {"name": "Zhang Wei", "relationship": "parent", "phone_e164": "+8613900139003"},
    {"name": "Chen Jie", "relationship": "guarantor", "phone_e164": "+8613900139004", "is_guarantor": True},
)


def local(text: str, tz: str = SHANGHAI) -> datetime:
    """'2026-11-10 21:59' in the debtor's zone, as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


def at(hhmm: str, day: str = DAY, tz: str = SHANGHAI) -> datetime:
    return local(f"{day} {hhmm}", tz)


@pytest.fixture
def debtor_case(session, create_case):
    """A case with a spouse, a friend, a parent and a guarantor; status and timezone as asked."""

    def create(status: ContactStatus = ContactStatus.REACHABLE, tz: str = SHANGHAI, portfolio=None, **fields):
        contacts = [{k: v for k, v in c.items() if k != "is_guarantor"} for c in CONTACTS]
        case = create_case(status=status, portfolio=portfolio, contacts=contacts)
        case.timezone = tz
        for key, value in fields.items():  # the factory fixes days_past_due, created_at...
            setattr(case, key, value)
        for contact, spec in zip(case.contacts, CONTACTS, strict=True):
            contact.is_guarantor = spec.get("is_guarantor", False)
        session.flush()
        return case

    return create


def contact_named(case, relationship: str):
    return next(c for c in case.contacts if c.relationship == relationship)


@pytest.fixture
def us_portfolio(create_portfolio):
    return create_portfolio(profile="us_fdcpa")




@pytest.fixture
def post_attempt(client, dispatcher):
    """POST a contact attempt as a dispatcher (or the headers given); return the response."""

    def post(case, party="debtor", when=None, *, channel="call", result="no_answer", headers=None, **extra):
        body = {"party": getattr(party, "id", party),
                "channel": channel, "started_at": when.isoformat(), "result": result, **extra}
        return client.post(f"/api/v1/cases/{case.id}/contact-attempts", json=body,
                           headers=headers or dispatcher[1])

    return post


@pytest.fixture
def logged(session):
    """Log an attempt through the service (rules enforced), for building history quickly."""

    def log(case, contact=None, when=None, *, channel="call", result="no_answer", **extra):
        return log_attempt(session, case_id=case.id, party="debtor" if contact is None else contact.id,
                           channel=channel, started_at=when, result=result, **extra)

    return log
