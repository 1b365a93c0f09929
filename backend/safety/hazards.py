"""Hazard flags: raised from visit outcomes, carried to every later visit at the address."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.policy.service import default_policy
from backend.safety.models import HazardFlag, HazardKind
from backend.timeutil import utcnow

# A dog is a reason for care, not for a second person; people and weapons are.
TWO_PERSON_KINDS = {HazardKind.HOSTILE, HazardKind.THREAT, HazardKind.WEAPON}


def flag_hazards(session: Session, *, address_id: int, hazards: list[dict], author_id: int | None,
                 visit_id: int | None = None) -> list[HazardFlag]:
    """Flag an address with each reported hazard ({kind, note?}); expiry from policy."""
    days = default_policy()["safety.hazard_flag_days"]
    flags = []
    for hazard in hazards:
        kind = HazardKind(hazard["kind"])
        flag = HazardFlag(address_id=address_id, kind=kind, note=hazard.get("note") or "",
                          requires_two=hazard.get("requires_two", kind in TWO_PERSON_KINDS),
                          author_id=author_id, visit_id=visit_id, created_at=utcnow(),
                          expires_at=utcnow() + timedelta(days=days))
        session.add(flag)
        flags.append(flag)
    session.flush()
    return flags


def active_hazards(session: Session, address_ids) -> dict[int, list[HazardFlag]]:
    """Return unexpired flags per address id."""
    ids = list(set(address_ids))
    if not ids:
        return {}
    rows = session.scalars(
        sa.select(HazardFlag).where(HazardFlag.address_id.in_(ids), HazardFlag.expires_at > utcnow())
        .order_by(HazardFlag.created_at))
    found: dict[int, list[HazardFlag]] = {}
    for flag in rows:
        found.setdefault(flag.address_id, []).append(flag)
    return found


def hazard_view(flag: HazardFlag) -> dict:
    """What a collector sees about a flag (no author identity)."""
    return {"kind": flag.kind.value, "note": flag.note, "requires_two": flag.requires_two,
            "since": flag.created_at.isoformat(), "expires_at": flag.expires_at.isoformat()}
