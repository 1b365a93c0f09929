"""Debtor cases, with their addresses, phones and third-party contacts."""
from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.dbtypes import pg_enum
from backend.extensions import db
from backend.geo import point_column_type
from backend.timeutil import utcnow


class ContactStatus(enum.StrEnum):
    REACHABLE = "reachable"
    SEMI_LOST = "semi_lost"
    LOST = "lost"


class AddressKind(enum.StrEnum):
    HOME = "home"
    WORK = "work"
    OTHER = "other"


class Case(db.Model):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str] = mapped_column(sa.String(100), unique=True)
    portfolio_id: Mapped[int] = mapped_column(sa.ForeignKey("portfolios.id"), index=True)
    debtor_name: Mapped[str] = mapped_column(sa.String(200))
    amount_due: Mapped[Decimal] = mapped_column(sa.Numeric(14, 2))
    currency: Mapped[str] = mapped_column(sa.String(3))
    days_past_due: Mapped[int] = mapped_column()
    timezone: Mapped[str] = mapped_column(sa.String(64))
    contact_status: Mapped[ContactStatus] = mapped_column(
        pg_enum(ContactStatus, "contact_status"), default=ContactStatus.REACHABLE, index=True)
    status_changed_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    portfolio = relationship("Portfolio", lazy="joined")
    addresses = relationship("CaseAddress", back_populates="case", order_by="CaseAddress.id",
                             primaryjoin="and_(Case.id == CaseAddress.case_id, CaseAddress.superseded_at.is_(None))",
                             viewonly=True)
    phones = relationship("CasePhone", back_populates="case", order_by="CasePhone.id")
    contacts = relationship("CaseContact", back_populates="case", order_by="CaseContact.id")

    __table_args__ = (
        sa.CheckConstraint("amount_due >= 0", name="amount_non_negative"),
        sa.CheckConstraint("days_past_due >= 0", name="dpd_non_negative"),
    )


class GeocodeStatus(enum.StrEnum):
    PENDING = "pending"        # text only: the geocode job has not reached it yet
    LOCATED = "located"        # has a position (of some precision)
    NOT_FOUND = "not_found"    # neither the geocoder nor the gazetteer could place it


class Precision(enum.StrEnum):
    """How well a position pins the door, best first."""

    ROOFTOP = "rooftop"
    STREET = "street"
    DISTRICT = "district"
    CITY = "city"


# Precisions too coarse to route to: the visit waits until someone fixes the position.
NOT_LOCATED_PRECISIONS = (Precision.DISTRICT, Precision.CITY)
# One current address of these kinds per case: a different one is a move and replaces it.
SINGLE_KINDS = (AddressKind.HOME, AddressKind.WORK)


class CaseAddress(db.Model):
    """An address of a case; a replaced one stays as history (superseded_at set)."""

    __tablename__ = "case_addresses"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AddressKind] = mapped_column(pg_enum(AddressKind, "address_kind"))
    text: Mapped[str] = mapped_column(sa.String(500))
    # What the geocoder cache is keyed by (geocoding.normalise_address).
    normalised_text: Mapped[str] = mapped_column(sa.String(500), index=True, server_default="")
    # WGS-84; null until the address is located.
    location = mapped_column(point_column_type(), nullable=True)
    # import | geocoder:<name> | gazetteer | collector | dispatcher
    source: Mapped[str] = mapped_column(sa.String(40), default="import")
    geocode_status: Mapped[str] = mapped_column(sa.String(12), server_default=GeocodeStatus.LOCATED.value,
                                                index=True)
    precision: Mapped[str | None] = mapped_column(sa.String(10))
    adcode: Mapped[str | None] = mapped_column(sa.String(12))
    confidence: Mapped[float | None] = mapped_column()
    located_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)
    superseded_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    superseded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_addresses.id"))

    case = relationship("Case")

    __table_args__ = (
        sa.Index("uq_case_addresses_current", "case_id", "kind", "text", unique=True,
                 postgresql_where=sa.text("superseded_at IS NULL")),
        sa.CheckConstraint("geocode_status in ('pending', 'located', 'not_found')", name="geocode_status_known"),
        sa.CheckConstraint("precision is null or precision in ('rooftop', 'street', 'district', 'city')",
                           name="precision_known"),
        sa.CheckConstraint("(geocode_status = 'located') = (location is not null)", name="located_has_position"),
    )


class ProposalStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class AddressPositionProposal(db.Model):
    """A collector's accurate fix at the door, proposed as the address's position until a dispatcher decides."""

    __tablename__ = "address_position_proposals"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_id: Mapped[int] = mapped_column(sa.ForeignKey("case_addresses.id", ondelete="CASCADE"), index=True)
    location = mapped_column(point_column_type(), nullable=False)
    accuracy_m: Mapped[float] = mapped_column()
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # The record it came from (a visit outcome's id).
    source_ref: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(10), default=ProposalStatus.PENDING.value, index=True)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    address = relationship("CaseAddress")

    __table_args__ = (
        sa.CheckConstraint("status in ('pending', 'confirmed', 'rejected')", name="proposal_status_known"),
        sa.UniqueConstraint("address_id", "source_ref"),
    )


class CasePhone(db.Model):
    __tablename__ = "case_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    number_e164: Mapped[str] = mapped_column(sa.String(20), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="mobile")
    # Where we learned it: import, visit, tracing, manual; source_ref names the record.
    source: Mapped[str] = mapped_column(sa.String(20), default="import")
    source_ref: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    case = relationship("Case", back_populates="phones")

    __table_args__ = (sa.UniqueConstraint("case_id", "number_e164"),)


class CaseContact(db.Model):
    """A third party (relative, friend, colleague, guarantor) reached only to reach the debtor."""

    __tablename__ = "case_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    relationship: Mapped[str] = mapped_column(sa.String(40))
    phone_e164: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    is_guarantor: Mapped[bool] = mapped_column(default=False)
    do_not_contact: Mapped[bool] = mapped_column(default=False)
    do_not_contact_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # Only a third party who volunteers to pay may be told the amount.
    volunteered_to_pay: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(sa.String(20), default="import")
    source_ref: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), default=utcnow)

    # `relationship` is a column here, so the ORM function is reached through its module.
    case = orm.relationship("Case", back_populates="contacts")

    __table_args__ = (
        sa.UniqueConstraint("case_id", "name", "phone_e164", postgresql_nulls_not_distinct=True),
    )
