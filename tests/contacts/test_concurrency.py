"""Two attempts logged at the same moment for one party cannot both slip under a cap."""
from __future__ import annotations

import threading
import time
from decimal import Decimal

from backend.cases.models import AddressKind, Case, CaseAddress, CaseContact, ContactStatus
from backend.contacts.attempts import log_attempt
from backend.errors import DomainError
from backend.extensions import db
from backend.geo import make_point
from backend.policy.service import ensure_default_portfolio
from tests.contacts.conftest import at


def seed(session) -> tuple[int, int]:
    portfolio = ensure_default_portfolio(session)
    case = Case(external_ref="RACE-1", portfolio_id=portfolio.id, debtor_name="Racer", amount_due=Decimal("100"),
                currency="CNY", days_past_due=30, timezone="Asia/Shanghai", contact_status=ContactStatus.LOST)
    session.add(case)
    session.flush()
    session.add(CaseAddress(case_id=case.id, kind=AddressKind.HOME, text="x", location=make_point(30.6, 104.0)))
    contact = CaseContact(case_id=case.id, name="Parent", relationship="parent", phone_e164="+8613900139100",
                          is_guarantor=False, do_not_contact=False, volunteered_to_pay=False, source="import")
    session.add(contact)
    session.commit()
    return case.id, contact.id


def test_concurrent_attempts_cannot_both_pass_the_hourly_cap(app, committed):
    case_id, contact_id = seed(committed)
    log_attempt(committed, case_id=case_id, party=contact_id, channel="call", started_at=at("10:00"),
                result="no_answer")
    committed.commit()
    barrier, results = threading.Barrier(2), []

    def attempt(when):
        with app.app_context():
            try:
                barrier.wait()
                log_attempt(db.session, case_id=case_id, party=contact_id, channel="call", started_at=when,
                            result="no_answer")
                time.sleep(0.2)  # hold the transaction open while the other one tries
                db.session.commit()
                results.append("stored")
            except DomainError as exc:
                db.session.rollback()
                results.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=attempt, args=(at(t),)) for t in ("10:20", "10:21")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["stored", "third_party_cap"]
