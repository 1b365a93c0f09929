"""Case shapes: the import row, the list item and the full record."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from backend.cases.models import AddressKind, ContactStatus
from backend.geo import PositionSchema, lat_field, lon_field
from backend.geocoding.types import normalise_address
from backend.pagination import PageQuerySchema
from backend.timeutil import validate_timezone
from backend.validation import id_field

RELATIONSHIPS = ("spouse", "parent", "sibling", "child", "relative", "in_law", "friend", "colleague",
                 "neighbour", "guarantor", "employer", "landlord", "other")
PHONE_KINDS = ("mobile", "home", "work", "other")


def _both_or_neither(data: dict) -> None:
    if (data.get("lat") is None) != (data.get("lon") is None):
        missing = "lat" if data.get("lat") is None else "lon"
        raise ValidationError("send both lat and lon, or neither (text only: geocoded later)", missing)


ADDRESS_TEXT_MAX = 500  # the text and its normalised form (the geocode cache key) are both stored at this size


def storable_address_text(value: str) -> None:
    """Not blank, and short enough once normalised: NFKC can lengthen text (one ligature becomes 18)."""
    if not value.strip():
        raise ValidationError("must not be blank")
    if len(normalise_address(value)) > ADDRESS_TEXT_MAX:
        raise ValidationError(f"too long once normalised (at most {ADDRESS_TEXT_MAX} characters)")


def address_text_field(**kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=ADDRESS_TEXT_MAX), storable_address_text], **kwargs)


class AddressInSchema(PositionSchema):
    """An address as text, with a position if the creditor has one (otherwise geocoded later)."""

    kind = fields.Enum(AddressKind, by_value=True, load_default=AddressKind.HOME)
    text = address_text_field(required=True)
    lat = lat_field(allow_none=True, load_default=None)
    lon = lon_field(allow_none=True, load_default=None)

    @validates_schema
    def _position(self, data, **_):
        _both_or_neither(data)


class AddressPatchSchema(PositionSchema):
    """A dispatcher's correction: new text (a move) and/or the door's position."""

    text = address_text_field()
    lat = lat_field(allow_none=True, load_default=None)
    lon = lon_field(allow_none=True, load_default=None)

    @validates_schema
    def _something(self, data, **_):
        _both_or_neither(data)
        if data.get("text") is None and data.get("lat") is None:
            raise ValidationError("send text or lat/lon", "_schema")


class PhoneInSchema(Schema):
    number = fields.String(required=True, validate=validate.Length(min=1, max=40))
    kind = fields.String(load_default="mobile", validate=validate.OneOf(PHONE_KINDS))


class ContactInSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    relationship = fields.String(required=True, validate=validate.OneOf(RELATIONSHIPS))
    phone = fields.String(validate=validate.Length(min=1, max=40), allow_none=True)
    is_guarantor = fields.Boolean(load_default=False)


class CaseImportSchema(Schema):
    external_ref = fields.String(required=True, validate=validate.Length(min=1, max=100))
    portfolio = fields.String(allow_none=True, load_default=None, validate=validate.Length(max=64))
    debtor_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    amount_due = fields.Decimal(required=True, places=None, validate=validate.Range(min=0),
                                allow_nan=False)
    currency = fields.String(required=True, validate=validate.Regexp(r"^[A-Z]{3}$", error="ISO 4217 code"))
    days_past_due = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=100_000))
    timezone = fields.String(load_default="Asia/Shanghai")
    addresses = fields.List(fields.Nested(AddressInSchema), load_default=list)
    phones = fields.List(fields.Nested(PhoneInSchema), load_default=list)
    contacts = fields.List(fields.Nested(ContactInSchema), load_default=list)

    @validates("timezone")
    def _timezone(self, value, **_):
        validate_timezone(value)

    @validates("amount_due")
    def _amount(self, value, **_):
        from marshmallow import ValidationError

        if value.as_tuple().exponent < -2:
            raise ValidationError("at most 2 decimal places")
        if value >= 10**12:
            raise ValidationError("too large")


class CaseImportBatchSchema(Schema):
    """The JSON body of POST /cases/import (documents it; rows are checked one by one, see the report)."""

    cases = fields.List(fields.Nested(CaseImportSchema), required=True)


class CaseUploadSchema(Schema):
    """The multipart body of POST /cases/import: a CSV with a header row."""

    file = Upload(required=True, metadata={"description": "CSV; columns external_ref, debtor_name, amount_due, "
                                                          "currency, days_past_due (required), portfolio, "
                                                          "timezone, address_text, lat, lon, phone, address_kind, "
                                                          "phone_kind"})


class ImportRejectionSchema(Schema):
    row = fields.Integer()
    external_ref = fields.String(allow_none=True)
    field = fields.String()
    message = fields.String()


class MovedAddressSchema(Schema):
    external_ref = fields.String()
    case_id = fields.Integer()
    kind = fields.String()
    from_address_ids = fields.List(fields.Integer())
    to_address_id = fields.Integer()
    visit_ids = fields.List(fields.Integer(), metadata={"description": "open visits re-targeted to the new address"})


class ImportReportSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    rejected_rows = fields.Integer()
    rejected = fields.List(fields.Nested(ImportRejectionSchema))
    moved = fields.List(fields.Nested(MovedAddressSchema))
    pending_geocode = fields.Integer()
    geocode_job_id = fields.Integer(allow_none=True)


class CaseQuerySchema(PageQuerySchema):
    contact_status = fields.Enum(ContactStatus, by_value=True)
    portfolio_id = id_field()
    q = fields.String(validate=validate.Length(min=1, max=100))
    not_located = fields.Boolean(metadata={"description": "cases with an address that cannot be routed to yet"})


class CaseSummarySchema(Schema):
    id = fields.Integer()
    external_ref = fields.String()
    portfolio_id = fields.Integer()
    portfolio = fields.String()
    debtor_name = fields.String()
    amount_due = fields.Decimal(as_string=True, metadata={"type": "string", "format": "decimal"})  # money is a decimal string
    currency = fields.String()
    days_past_due = fields.Integer()
    timezone = fields.String()
    contact_status = fields.String()
    status_changed_at = fields.DateTime()
    updated_at = fields.DateTime()


class CasePageSchema(Schema):
    items = fields.List(fields.Nested(CaseSummarySchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class AddressOutSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    text = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    source = fields.String()
    geocode_status = fields.String()
    precision = fields.String(allow_none=True)
    adcode = fields.String(allow_none=True)
    confidence = fields.Float(allow_none=True)
    located_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    superseded_at = fields.DateTime(allow_none=True)
    superseded_by_id = fields.Integer(allow_none=True)
    current = fields.Boolean()


class AddressChangeSchema(Schema):
    """The address after a POST/PATCH, with what moved."""

    address = fields.Nested(AddressOutSchema)
    moved_from_address_ids = fields.List(fields.Integer())
    moved_visit_ids = fields.List(fields.Integer())
    geocode_job_id = fields.Integer(allow_none=True)


class AddressPositionSchema(Schema):
    """Where an address stands now (WGS-84)."""

    lat = fields.Float()
    lon = fields.Float()
    precision = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "import, geocoder:<name>, gazetteer, collector or dispatcher"})
    located_at = fields.DateTime(allow_none=True)


class ProposalOutSchema(Schema):
    id = fields.Integer()
    address_id = fields.Integer()
    case_id = fields.Integer()
    case_external_ref = fields.String()
    address_text = fields.String()
    address_kind = fields.String()
    address_geocode_status = fields.String()
    address_superseded = fields.Boolean(metadata={"description": "the case moved since: it cannot be confirmed"})
    current_position = fields.Nested(AddressPositionSchema, allow_none=True, metadata={
        "description": "the address's position now, to compare with the proposed lat/lon; null while it has none"})
    lat = fields.Float()
    lon = fields.Float()
    accuracy_m = fields.Float()
    proposed_by_id = fields.Integer()
    source_ref = fields.String()
    status = fields.String()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class ProposalQuerySchema(PageQuerySchema):
    status = fields.String(load_default="pending", validate=validate.OneOf(("pending", "confirmed", "rejected")))


class AddressListQuerySchema(PageQuerySchema):
    awaiting_position = fields.Boolean(metadata={
        "description": "true: addresses that cannot be routed to yet (no position, or only the district or city); "
                       "false: the others"})


class ListedAddressSchema(AddressOutSchema):
    """A case's current address in the list across cases, with its case."""

    case_id = fields.Integer()
    case_external_ref = fields.String()
    debtor_name = fields.String()


class PhoneOutSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    kind = fields.String()
    source = fields.String()
    source_ref = fields.String(allow_none=True)


class ContactOutSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    relationship = fields.String()
    phone = fields.String(allow_none=True)
    is_guarantor = fields.Boolean()
    do_not_contact = fields.Boolean()
    volunteered_to_pay = fields.Boolean()
    source = fields.String()
    source_ref = fields.String(allow_none=True)


class CaseDetailSchema(CaseSummarySchema):
    addresses = fields.List(fields.Nested(AddressOutSchema))
    phones = fields.List(fields.Nested(PhoneOutSchema))
    contacts = fields.List(fields.Nested(ContactOutSchema))
    masked = fields.Boolean()
