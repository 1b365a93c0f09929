"""The demo data gives the address review work: text-only addresses awaiting a position and one door
position a collector proposed; seeding twice stores them once."""
from __future__ import annotations

import sqlalchemy as sa

from backend.cases.models import AddressPositionProposal, Case, CaseAddress
from backend.demo.seed import TEXT_ONLY, seed_demo


def test_demo_seeds_text_only_addresses_and_one_pending_proposal_once(session):
    seed_demo(session, n_cases=6, n_collectors=2)
    seed_demo(session, n_cases=6, n_collectors=2)
    rows = session.execute(sa.select(Case.external_ref, CaseAddress.geocode_status, CaseAddress.location)
                           .join(CaseAddress, CaseAddress.case_id == Case.id)
                           .where(Case.external_ref.in_([ref for ref, _ in TEXT_ONLY]))).all()
    assert sorted(ref for ref, _, _ in rows) == sorted(ref for ref, _ in TEXT_ONLY)
    assert {(status, location) for _, status, location in rows} == {("pending", None)}
    proposals = session.scalars(sa.select(AddressPositionProposal)).all()
    assert [(p.status, p.address.text, p.address.case.external_ref) for p in proposals] == \
        [("pending", TEXT_ONLY[0][1], TEXT_ONLY[0][0])]
