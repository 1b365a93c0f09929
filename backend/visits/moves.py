"""When a case moves, its open visits follow the new address (and leave routes planned for the old one)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.cases.addresses import propose_position
from backend.cases.models import CaseAddress
from backend.geo import point_latlon
from backend.policy.service import get_policy
from backend.signals import visit_released
from backend.timeutil import utcnow
from backend.visits.models import OutcomeKind, Visit, VisitOutcome, VisitStatus

# An in-progress visit is at the door already: it finishes where it started.
FOLLOWING = (VisitStatus.REQUESTED, VisitStatus.NEEDS_APPROVAL, VisitStatus.SCHEDULED, VisitStatus.ASSIGNED)


def retarget_open_visits(address: CaseAddress, *, session: Session, old_address_ids: list[int], **_) -> list[int]:
    """Receiver of signals.address_moved: move open visits to the new address; return their ids."""
    visits = session.scalars(sa.select(Visit).where(Visit.address_id.in_(old_address_ids),
                                                    Visit.status.in_(FOLLOWING))
                             .order_by(Visit.id).with_for_update()).all()
    now = utcnow()
    for visit in visits:
        visit.moved_from_address_id, visit.address_moved_at = visit.address_id, now
        visit.address = address
        # The stop was planned at the old door: whatever route holds it no longer fits.
        visit_released.send(visit, session=session)
    session.flush()
    return [visit.id for visit in visits]


# Outcomes that say the door is not the debtor's (or not there): their fix is not the address's position.
NOT_THE_DOOR = (OutcomeKind.MOVED, OutcomeKind.ADDRESS_INVALID)


def propose_door_position(visit: Visit, *, session: Session, outcome: VisitOutcome, **_) -> None:
    """Receiver of visit_outcome_recorded: an accurate fix at an address known only to the street (or
    worse) proposes the door's position; a dispatcher confirms it (cases.addresses.decide_proposal)."""
    # Other senders (tests, replays) may send a bare record: no fix, nothing to propose.
    accuracy_m, location = getattr(outcome, "accuracy_m", None), getattr(outcome, "location", None)
    if outcome.outcome in NOT_THE_DOOR or accuracy_m is None or location is None:
        return
    policy = get_policy(session, visit.case.portfolio_id)
    if accuracy_m > policy["geocoding.proposal_accuracy_m"]:
        return
    lat, lon = point_latlon(location)
    propose_position(session, address_id=visit.address_id, lat=lat, lon=lon, accuracy_m=accuracy_m,
                     proposed_by_id=outcome.collector_id, source_ref=f"visit_outcome:{outcome.id}")
