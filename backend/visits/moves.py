"""When a case moves, its open visits follow the new address (and leave routes planned for the old one)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.cases.models import CaseAddress
from backend.signals import visit_released
from backend.timeutil import utcnow
from backend.visits.models import Visit, VisitStatus

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
