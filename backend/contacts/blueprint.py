"""The contacts blueprint and what its two route modules (routes, promise_routes) share."""
from __future__ import annotations

from flask_smorest import Blueprint

from backend.auth.access import current_user
from backend.auth.models import Role
from backend.contacts import attempts as service
from backend.contacts.submit import LOGGERS
from backend.extensions import db

blp = Blueprint("contacts", __name__, url_prefix="/api/v1", description="Contact log and compliance")

# Who reads the log (LOGGERS log attempts: collectors only on cases of their own visits).
READERS = (Role.DISPATCHER, Role.TRACER, Role.SUPERVISOR, Role.ADMIN)
# Roles that dial third parties from a call sheet and so see the number unmasked (every read audited).
DIALERS = (Role.COLLECTOR, Role.TRACER, Role.SUPERVISOR, Role.ADMIN)

__all__ = ["DIALERS", "LOGGERS", "READERS", "blp", "case_for"]


def case_for(case_id: int):
    """The case, if the caller may work on it (collectors: cases of their own visits)."""
    case = service.get_case(db.session, case_id)
    service.require_case_access(db.session, current_user(), case.id)
    return case
