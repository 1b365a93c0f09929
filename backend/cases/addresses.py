"""Addresses as they really arrive: text with or without a position, moves, fixes and proposals.

A home or work address that differs from the current one of that kind is a move, and so is a dispatcher's
new text for an address of any kind: the old one is kept as history (superseded_at, superseded_by_id),
and open visits follow (visits listens to signals.address_moved).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager

from backend.cases.models import (
    NOT_LOCATED_PRECISIONS,
    SINGLE_KINDS,
    AddressKind,
    AddressPositionProposal,
    Case,
    CaseAddress,
    GeocodeStatus,
    Precision,
    ProposalStatus,
)
from backend.errors import DomainError, NotFound
from backend.geo import make_point, point_latlon
from backend.geocoding.types import normalise_address
from backend.signals import address_moved
from backend.timeutil import utcnow

# Sources a position may come from.
IMPORT, COLLECTOR, DISPATCHER = "import", "collector", "dispatcher"


@dataclass
class PutResult:
    address: CaseAddress
    created: bool
    moved_from: list[int] = field(default_factory=list)
    moved_visit_ids: list[int] = field(default_factory=list)


def _locate(address: CaseAddress, lat: float, lon: float, *, source: str, precision: str = Precision.ROOFTOP,
            adcode: str | None = None, confidence: float | None = None) -> None:
    address.location = make_point(lat, lon)
    address.geocode_status = GeocodeStatus.LOCATED.value
    address.precision, address.source, address.adcode = str(precision), source, adcode
    address.confidence, address.located_at = confidence, utcnow()


def current_addresses(session: Session, case_id: int, kind: AddressKind | None = None) -> list[CaseAddress]:
    """The case's current (not superseded) addresses, oldest first."""
    query = sa.select(CaseAddress).where(CaseAddress.case_id == case_id, CaseAddress.superseded_at.is_(None))
    if kind is not None:
        query = query.where(CaseAddress.kind == kind)
    return list(session.scalars(query.order_by(CaseAddress.id)))


def put_address(session: Session, *, case_id: int, kind: AddressKind, text: str, lat: float | None = None,
                lon: float | None = None, source: str = IMPORT, replacing: CaseAddress | None = None) -> PutResult:
    """Add or refresh an address; a different home/work address replaces the current one (a move), and
    so does any address `replacing` names (a dispatcher's new text for it, of whatever kind)."""
    kind = AddressKind(kind)
    same = session.scalar(sa.select(CaseAddress).where(
        CaseAddress.case_id == case_id, CaseAddress.kind == kind, CaseAddress.text == text,
        CaseAddress.superseded_at.is_(None)).with_for_update())
    if same is not None:
        if lat is not None and lon is not None:
            _locate(same, lat, lon, source=source)
        session.flush()
        result = PutResult(same, created=False)
        if replacing is not None and replacing.id != same.id:  # corrected to the text of another: one remains
            _supersede(session, result, [replacing])
        return result
    address = CaseAddress(case_id=case_id, kind=kind, text=text, normalised_text=normalise_address(text),
                          source=source, geocode_status=GeocodeStatus.PENDING.value, created_at=utcnow())
    if lat is not None and lon is not None:
        _locate(address, lat, lon, source=source)
    session.add(address)
    session.flush()
    result = PutResult(address, created=True)
    if kind in SINGLE_KINDS:
        old = [a for a in current_addresses(session, case_id, kind) if a.id != address.id]
    else:
        old = [replacing] if replacing is not None else []
    if old:
        _supersede(session, result, old)
    return result


def add_address(session: Session, *, case_id: int, kind: AddressKind, text: str, lat: float | None = None,
                lon: float | None = None, source: str = DISPATCHER) -> PutResult:
    """A dispatcher's new address for a case (put_address), one change to the case's addresses at a time."""
    _lock_case_addresses(session, case_id)
    return put_address(session, case_id=case_id, kind=kind, text=text, lat=lat, lon=lon, source=source)


def _lock_case_addresses(session: Session, case_id: int) -> None:
    """Wait for any other dispatcher's change to this case's addresses to commit: two at once would both
    find no current address of a text (or both the old home) and each add one; two merges into each
    other would deadlock. Imports do not take it (one lock per case would fill PostgreSQL's lock table)."""
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(
        sa.func.hashtextextended(f"cases.addresses:{case_id}", 0))))


def _supersede(session: Session, result: PutResult, old: list[CaseAddress]) -> None:
    """Keep `old` as history, replaced by the result's address; open visits there follow it."""
    now = utcnow()
    for previous in old:
        previous.superseded_at, previous.superseded_by_id = now, result.address.id
    session.flush()
    result.moved_from = [a.id for a in old]
    for _, moved in address_moved.send(result.address, session=session, old_address_ids=result.moved_from):
        result.moved_visit_ids += list(moved or ())


def get_address(session: Session, case_id: int, address_id: int, *, lock: bool = False) -> CaseAddress:
    """One address of a case (current or history), or 404."""
    address = session.get(CaseAddress, address_id, with_for_update=lock or None)
    if address is None or address.case_id != case_id:
        raise NotFound("address", address_id)
    return address


def patch_address(session: Session, *, case_id: int, address_id: int, text: str | None = None,
                  lat: float | None = None, lon: float | None = None, actor_source: str = DISPATCHER) -> PutResult:
    """A dispatcher's correction: new text is a move (a new address replacing this one, whatever its kind),
    a position fixes this one."""
    _lock_case_addresses(session, case_id)
    address = get_address(session, case_id, address_id, lock=True)
    if address.superseded_at is not None:
        raise DomainError("address_superseded", f"address {address_id} was replaced; change the current one",
                          status=409, fields={"address_id": "superseded"})
    if text is not None and text != address.text:
        return put_address(session, case_id=case_id, kind=address.kind, text=text, lat=lat, lon=lon,
                           source=actor_source, replacing=address)
    if lat is not None and lon is not None:
        _locate(address, lat, lon, source=actor_source)
        session.flush()
    return PutResult(address, created=False)


def apply_geocode(address: CaseAddress, result) -> None:
    """Store a geocoder's or the gazetteer's answer (None: nobody could place the text)."""
    if result is None:
        address.geocode_status = GeocodeStatus.NOT_FOUND.value
        return
    _locate(address, result.lat, result.lon, source=result.source, precision=result.precision,
            adcode=result.adcode, confidence=result.confidence)


def not_located_clause():
    """SQL: the address cannot be routed to (no position, or district/city precision). Never NULL: a
    position of unknown precision counts as routable, as planning counts it, so the clause and its
    negation together cover every address (a bare NULL would drop it from both)."""
    return sa.func.coalesce(sa.or_(CaseAddress.location.is_(None),
                                   CaseAddress.precision.in_([p.value for p in NOT_LOCATED_PRECISIONS])), False)


def address_view(address: CaseAddress) -> dict:
    """An address as the API shows it (positions WGS-84)."""
    lat, lon = point_latlon(address.location) or (None, None)
    return {"id": address.id, "kind": address.kind.value, "text": address.text, "lat": lat, "lon": lon,
            "source": address.source, "geocode_status": address.geocode_status, "precision": address.precision,
            "adcode": address.adcode, "confidence": address.confidence, "located_at": address.located_at,
            "created_at": address.created_at, "superseded_at": address.superseded_at,
            "superseded_by_id": address.superseded_by_id, "current": address.superseded_at is None}


def address_history(case_id: int) -> sa.Select:
    """Every address the case ever had (current and replaced), newest first."""
    return (sa.select(CaseAddress).where(CaseAddress.case_id == case_id)
            .order_by(CaseAddress.created_at.desc(), CaseAddress.id.desc()))


# Precisions a collector's fix at the door improves on.
PROPOSABLE = (Precision.STREET, Precision.DISTRICT, Precision.CITY)


def wants_position(address: CaseAddress | None) -> bool:
    """Whether a collector's fix may propose this address's position: current, and not already known to the
    rooftop (a caller with more to check asks this first)."""
    return (address is not None and address.superseded_at is None
            and (address.location is None or address.precision in {p.value for p in PROPOSABLE}))


def propose_position(session: Session, *, address_id: int, lat: float, lon: float, accuracy_m: float,
                     proposed_by_id: int, source_ref: str) -> AddressPositionProposal | None:
    """A collector's accurate fix proposes the door's position for an address not pinned to the rooftop."""
    address = session.get(CaseAddress, address_id)
    if not wants_position(address):
        return None
    proposal = AddressPositionProposal(address_id=address_id, location=make_point(lat, lon), accuracy_m=accuracy_m,
                                       proposed_by_id=proposed_by_id, source_ref=source_ref,
                                       status=ProposalStatus.PENDING.value, created_at=utcnow())
    session.add(proposal)
    session.flush()
    return proposal


def decide_proposal(session: Session, *, proposal_id: int, confirm: bool, actor_id: int) -> AddressPositionProposal:
    """A dispatcher confirms (the address takes the position, source collector) or rejects a proposal."""
    proposal = session.get(AddressPositionProposal, proposal_id, with_for_update=True)
    if proposal is None:
        raise NotFound("proposal", proposal_id)
    if proposal.status != ProposalStatus.PENDING.value:
        raise DomainError("already_decided", f"proposal {proposal_id} is already {proposal.status}", status=409,
                          fields={"proposal_id": proposal.status})
    if confirm and proposal.address.superseded_at is not None:
        raise DomainError("address_superseded", "the case has moved since: this address is history now",
                          status=409, fields={"proposal_id": "address superseded"})
    proposal.status = (ProposalStatus.CONFIRMED if confirm else ProposalStatus.REJECTED).value
    proposal.decided_by_id, proposal.decided_at = actor_id, utcnow()
    if confirm:
        lat, lon = point_latlon(proposal.location)
        _locate(proposal.address, lat, lon, source=COLLECTOR, precision=Precision.ROOFTOP,
                confidence=None)
    session.flush()
    return proposal


def proposals(status: str) -> sa.Select:
    """Proposals of a status with their address and case, loaded in the same statement, oldest first."""
    return (sa.select(AddressPositionProposal)
            .join(AddressPositionProposal.address).join(CaseAddress.case)
            .options(contains_eager(AddressPositionProposal.address).contains_eager(CaseAddress.case))
            .where(AddressPositionProposal.status == status).order_by(AddressPositionProposal.id))


def position_view(address: CaseAddress) -> dict | None:
    """Where the address stands now (WGS-84, how precise, who placed it), or None while it has no position."""
    latlon = point_latlon(address.location)
    if latlon is None:
        return None
    return {"lat": latlon[0], "lon": latlon[1], "precision": address.precision, "source": address.source,
            "located_at": address.located_at}


def proposal_view(proposal: AddressPositionProposal) -> dict:
    """A proposal as the API shows it, beside the address's current position (a debtor's address, never
    a collector's own whereabouts: the proposed fix is the door's)."""
    lat, lon = point_latlon(proposal.location)
    address = proposal.address
    return {"id": proposal.id, "address_id": proposal.address_id, "case_id": address.case_id,
            "case_external_ref": address.case.external_ref, "address_text": address.text,
            "address_kind": address.kind.value, "address_geocode_status": address.geocode_status,
            "address_superseded": address.superseded_at is not None, "current_position": position_view(address),
            "lat": lat, "lon": lon, "accuracy_m": proposal.accuracy_m,
            "proposed_by_id": proposal.proposed_by_id, "source_ref": proposal.source_ref, "status": proposal.status,
            "decided_by_id": proposal.decided_by_id, "decided_at": proposal.decided_at,
            "created_at": proposal.created_at}


def current_addresses_of_cases(awaiting_position: bool | None = None) -> sa.Select:
    """Every case's current addresses with the case's reference and debtor, oldest first; with
    awaiting_position, only those that cannot be routed to yet (no position, or district/city) or only
    the others."""
    query = (sa.select(CaseAddress, Case.external_ref, Case.debtor_name).join(Case, Case.id == CaseAddress.case_id)
             .where(CaseAddress.superseded_at.is_(None)).order_by(CaseAddress.id))
    if awaiting_position is not None:
        query = query.where(not_located_clause() if awaiting_position else ~not_located_clause())
    return query


def listed_address_view(address: CaseAddress, external_ref: str, debtor_name: str) -> dict:
    """An address in the list across cases: the address as everywhere, with its case's reference and debtor."""
    return {**address_view(address), "case_id": address.case_id, "case_external_ref": external_ref,
            "debtor_name": debtor_name}
