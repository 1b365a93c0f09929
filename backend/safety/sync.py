"""Safety events as offline writes: a check-in, a lodging or an SOS, from its endpoint or `POST /sync`.

A phone may send one directly and again through the queue under the same key: both paths go through
the same SyncType and fingerprint the validated fields under the same scope, so it is stored once
and the second delivery replays the first answer.
"""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.safety.checkins import checkin_view, record_checkin
from backend.safety.lodgings import lodging_view, register_lodging
from backend.safety.schemas import CheckinSchema, LodgingSchema, SosSchema
from backend.safety.sos import submit_sos
from backend.sync.once import once_per_key
from backend.sync.registry import SyncType, Write

REFUSED = "only collectors send safety events"


def record(session: Session, user: User, fields: dict) -> tuple[int, dict]:
    """Record a check-in; answer with the next deadline."""
    return 201, checkin_view(record_checkin(session, collector=user, **fields))


def declare(session: Session, user: User, fields: dict) -> tuple[int, dict]:
    """Declare a lodging or meal place; answer with its warnings."""
    lodging, warnings = register_lodging(session, collector=user, **fields)
    return 201, {**lodging_view(lodging), "warnings": warnings}


def raise_sos(session: Session, user: User, fields: dict) -> tuple[int, dict]:
    """Raise an SOS (an SOS queued while offline still raises the alert when it arrives)."""
    return submit_sos(session, collector=user, **fields)


def _once(scope: str, apply: Callable[[Session, User, dict], tuple[int, dict]]):
    def apply_write(session: Session, user: User, write: Write) -> tuple[int, dict]:
        return once_per_key(session, user_id=user.id, key=write.key, scope=scope, payload=write.fields,
                            apply=lambda: apply(session, user, write.fields))

    apply_write.__doc__ = f"{apply.__doc__} Once per Idempotency-Key when the phone sends one."
    return apply_write


CHECKIN = SyncType("checkin", "safety.checkin", CheckinSchema(), (Role.COLLECTOR,),
                   _once("safety.checkin", record), refused=REFUSED)
LODGING = SyncType("lodging", "safety.lodging", LodgingSchema(), (Role.COLLECTOR,),
                   _once("safety.lodging", declare), refused=REFUSED)
SOS = SyncType("sos", "safety.sos", SosSchema(), (Role.COLLECTOR,), _once("safety.sos", raise_sos), refused=REFUSED)
SYNC_TYPES = (CHECKIN, LODGING, SOS)
