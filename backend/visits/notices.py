"""New visit requests reach the dispatchers of their area: one waiting to be scheduled, or an
outsourced one waiting for approval. A dispatcher's `areas` are district codes; the address's code
comes from the geocoder. The area named in the text is the address's district (the text up to it)."""
from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.notify.service import COLLECTOR_CHANNELS, notify_users

# 成都市锦江区... -> 成都市锦江区: the area, not the door.
DISTRICT = re.compile(r"^(.{0,20}?(?:区|县))")
CITY = re.compile(r"^(.{0,10}?市)")


def area_of(address_text: str) -> str:
    """The district part of an address, else its city (never the street and number)."""
    found = DISTRICT.match(address_text or "") or CITY.match(address_text or "")
    return found.group(1) if found else ""


def dispatchers_of_area(session: Session, adcode: str | None) -> list[User]:
    """The active dispatchers covering an address's district (a city code covers its districts); those
    covering no listed area cover everywhere. When nobody covers it (or the address has no code yet),
    every active dispatcher: a request nobody hears of is never planned."""
    dispatchers = list(session.scalars(sa.select(User).where(User.role == Role.DISPATCHER, User.active.is_(True))
                                       .order_by(User.id)))
    covering = [u for u in dispatchers if adcode and any(adcode.startswith(area) for area in u.areas or ())]
    everywhere = [u for u in dispatchers if not u.areas]
    return covering + everywhere or dispatchers


def notify_visit_requested(session: Session, *, visit, address_text: str, adcode: str | None = None) -> None:
    """Queue a notice to the dispatchers of the visit's area (their channels and quiet periods)."""
    template = "visit_needs_approval" if visit.outsourced else "visit_requested"
    notify_users(session, dispatchers_of_area(session, adcode), template=template,
                 params={"visit_id": visit.id, "area": area_of(address_text)},
                 dedupe=f"visit:{visit.id}:{template}", visit_id=visit.id)


def notify_visit_taken(session: Session, *, visit, holder_id: int, address_text: str) -> None:
    """Tell the collector who held a visit that a late report from its earlier holder closed it, so
    they do not knock on a door already visited (their next /me/route shows it gone too)."""
    notify_users(session, [session.get(User, holder_id)], template="visit_taken_off_route",
                 params={"visit_id": visit.id, "area": area_of(address_text)}, channels=COLLECTOR_CHANNELS,
                 dedupe=f"visit:{visit.id}:taken", visit_id=visit.id)


def notify_visits_released_by_departure(session: Session, *, collector, visit_ids: list[int]) -> None:
    """Tell every active dispatcher that a deactivated collector's visits are back in the pool."""
    notify_users(session, dispatchers_of_area(session, None), template="visits_released_by_departure",
                 params={"collector_name": collector.name, "count": len(visit_ids)})
