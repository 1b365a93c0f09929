"""A visit outcome as an offline write: the same apply serves POST /visits/{id}/outcome and POST /sync."""
from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.sync.registry import SyncType, Write
from backend.visits.outcomes import SCOPE, record_outcome
from backend.visits.schemas import OutcomeInSchema


def apply_outcome(session: Session, user: User, write: Write) -> tuple[int, dict]:
    """Store the outcome once per key (a key is required): (201, body), then (200, same body)."""
    return record_outcome(session, visit_id=write.target_id, collector=user, key=write.key,
                          data=write.fields, region=current_app.config["DEFAULT_REGION"])


# One schema instance for every report: a schema class would be instantiated (its fields deep-copied) per use.
OUTCOME = SyncType("outcome", SCOPE, OutcomeInSchema(), (Role.COLLECTOR,), apply_outcome,
                   target=("visit_id", "visit"), refused="only collectors report visit outcomes")
