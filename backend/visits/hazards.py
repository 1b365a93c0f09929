"""Hazard flags: raised from visit outcomes, carried to every later visit at the address."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.policy.service import default_policy
from backend.timeutil import utcnow
from backend.visits.models import OPEN_STATUSES, HazardFlag, HazardKind, Visit

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


def _value(thing) -> str:
    """The plain lowercase value of a str, a StrEnum or None."""
    raw = getattr(thing, "value", thing)
    return str(raw).strip().lower() if raw is not None else ""


def hazards_from_outcome(outcome) -> list[dict]:
    """Read an outcome's reported hazards ({kind, note?} or strings); `hostile` implies one.

    Read defensively (dicts, objects or plain words): unknown kinds become `other` with the reported
    word kept as the note.
    """
    known = {kind.value for kind in HazardKind}
    merged: dict[str, list[str]] = {}
    for item in getattr(outcome, "hazards", None) or []:
        if isinstance(item, dict):
            kind, note = _value(item.get("kind")), str(item.get("note") or "")
        else:
            kind, note = _value(getattr(item, "kind", item)), str(getattr(item, "note", "") or "")
        if not kind:
            continue
        if kind not in known:
            kind, note = HazardKind.OTHER.value, note or kind
        merged.setdefault(kind, [])
        if note:
            merged[kind].append(note)
    result = next((getattr(outcome, name) for name in ("outcome", "kind", "result")
                   if getattr(outcome, name, None) is not None), None)
    if _value(result) == HazardKind.HOSTILE.value and HazardKind.HOSTILE.value not in merged:
        merged[HazardKind.HOSTILE.value] = ["outcome recorded as hostile"]
    return [{"kind": kind, "note": "; ".join(notes)[:500]} for kind, notes in merged.items()]


def require_two_at_address(session: Session, address_id: int, except_visit_id: int | None) -> None:
    """Mark the address's other open visits as needing two collectors (dispatch must honour it)."""
    session.execute(sa.update(Visit).where(
        Visit.address_id == address_id, Visit.status.in_(OPEN_STATUSES),
        Visit.id != (except_visit_id or 0), Visit.requires_two.is_(False)).values(requires_two=True))


def flag_outcome_hazards(visit, **kwargs) -> None:
    """Receiver of visit_outcome_recorded (connected in backend.visits.register): an outcome reporting
    hazards flags the visit's address, in the same transaction."""
    session = kwargs["session"]
    hazards = hazards_from_outcome(kwargs.get("outcome"))
    address_id = getattr(visit, "address_id", None)
    if not hazards or address_id is None:
        return
    flags = flag_hazards(session, address_id=address_id, hazards=hazards, author_id=kwargs.get("actor_id"),
                         visit_id=getattr(visit, "id", None))
    if any(flag.requires_two for flag in flags):
        require_two_at_address(session, address_id, getattr(visit, "id", None))
