"""Factory fixtures: each returns a create_* callable that builds real rows in the test session."""
from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from backend.auth.access import issue_token
from backend.auth.models import Role
from backend.auth.service import create_user as service_create_user
from backend.cases.models import AddressKind, Case, CaseAddress, CaseContact, CasePhone, ContactStatus
from backend.geo import make_point
from backend.policy.service import create_portfolio as service_create_portfolio
from backend.policy.service import ensure_default_portfolio

_seq = itertools.count(1)
# Chengdu, Tianfu Square: the default place things happen in tests.
CENTRE = (30.6571, 104.0658)


@pytest.fixture
def create_user(session):
    def create(role: Role | str = Role.COLLECTOR, **fields):
        n = next(_seq)
        values = {"username": f"user{n}", "password": "correct-horse", "name": f"User {n}",
                  "role": Role(role), "home": {"lat": CENTRE[0], "lon": CENTRE[1]}, **fields}
        return service_create_user(session, region="CN", **values)

    return create


@pytest.fixture
def create_portfolio(session):
    def create(**fields):
        n = next(_seq)
        values = {"code": f"bank{n}", "creditor": f"Bank {n}", **fields}
        return service_create_portfolio(session, **values)

    return create


def bare_case(session, external_ref: str) -> Case:
    """A case of the default portfolio with nothing attached, in any session (the committed fixture's too)."""
    case = Case(external_ref=external_ref, portfolio_id=ensure_default_portfolio(session).id, debtor_name="Debtor",
                amount_due=Decimal("100.00"), currency="CNY", days_past_due=30, timezone="Asia/Shanghai")
    session.add(case)
    session.flush()
    return case


@pytest.fixture
def create_case(session):
    def create(*, lat=CENTRE[0], lon=CENTRE[1], portfolio=None, phones=("+8613800138000",), contacts=(),
               status=ContactStatus.REACHABLE, **fields):
        n = next(_seq)
        portfolio = portfolio or ensure_default_portfolio(session)
        case = Case(external_ref=f"C-{n}", portfolio_id=portfolio.id, debtor_name=f"Debtor {n}",
                    amount_due=Decimal("5000.00"), currency="CNY", days_past_due=30, timezone="Asia/Shanghai",
                    contact_status=status, **fields)
        session.add(case)
        session.flush()
        session.add(CaseAddress(case_id=case.id, kind=AddressKind.HOME, text=f"成都市锦江区{n}号",
                                location=make_point(lat, lon), source="import"))
        for number in phones:
            session.add(CasePhone(case_id=case.id, number_e164=number, kind="mobile", source="import"))
        for contact in contacts:
            session.add(CaseContact(case_id=case.id, source="import", do_not_contact=False,
                                    volunteered_to_pay=False, is_guarantor=False, **contact))
        session.flush()
        session.refresh(case)
        return case

    return create


@pytest.fixture
def auth_headers():
    """Return headers carrying a valid bearer token for user."""

    def headers(user) -> dict:
        token, _ = issue_token(user)
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.fixture
def as_role(create_user, auth_headers):
    """Create a user of a role and return (user, headers)."""

    def login(role: Role | str, **fields):
        user = create_user(role, **fields)
        return user, auth_headers(user)

    return login


@pytest.fixture
def collector(as_role):
    """A collector at the centre and their headers."""
    return as_role(Role.COLLECTOR)


@pytest.fixture
def dispatcher(as_role):
    return as_role(Role.DISPATCHER)


@pytest.fixture
def supervisor(as_role):
    return as_role(Role.SUPERVISOR)
