"""The door's true position, proposed from a collector's fix to the dispatchers who confirm addresses.

It stands on the field-day floor because the rule needs what safety seals: a fix taken at or near the
collector's home, a place they declared (lodging, meal) or where they checked in for the night is never
proposed, however accurate, or the address review map would show where the collector sleeps. A mocked
fix is never proposed either.
"""
from __future__ import annotations

from sqlalchemy.orm import Session

from backend.cases.addresses import propose_position, wants_position
from backend.geo import point_latlon
from backend.policy.service import get_policy
from backend.safety.lodgings import near_private_place
from backend.visits.models import OutcomeKind, Visit, VisitOutcome

# Outcomes that say the door is not the debtor's (or not there): their fix is not the address's position.
NOT_THE_DOOR = (OutcomeKind.MOVED, OutcomeKind.ADDRESS_INVALID)


def propose_door_position(visit: Visit, *, session: Session, outcome: VisitOutcome, **_) -> None:
    """Receiver of visit_outcome_recorded: an accurate fix at an address known only to the street (or
    worse) proposes the door's position; a dispatcher confirms it (cases.addresses.decide_proposal)."""
    # Other senders (tests, replays) may send a bare record: no fix, nothing to propose.
    accuracy_m, location = getattr(outcome, "accuracy_m", None), getattr(outcome, "location", None)
    if (outcome.outcome in NOT_THE_DOOR or accuracy_m is None or location is None
            or getattr(outcome, "mock_location", False)):
        return
    policy = get_policy(session, visit.case.portfolio_id)
    if accuracy_m > policy["geocoding.proposal_accuracy_m"] or not wants_position(visit.address):
        return  # most outcomes stop here, before the query below
    if near_private_place(session, collector_id=outcome.collector_id, location=location,
                          radius_m=policy["geocoding.proposal_private_radius_m"]):
        return
    lat, lon = point_latlon(location)
    propose_position(session, address_id=visit.address_id, lat=lat, lon=lon, accuracy_m=accuracy_m,
                     proposed_by_id=outcome.collector_id, source_ref=f"visit_outcome:{outcome.id}")
