"""Case shapes: the import row, the list item and the full record."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate, validates

from backend.cases.models import AddressKind, ContactStatus
from backend.geo import lat_field, lon_field
from backend.pagination import PageQuerySchema
from backend.timeutil import validate_timezone
from backend.validation import id_field

RELATIONSHIPS = ("spouse", "parent", "sibling", "child", "relative", "in_law", "friend", "colleague",
                 "neighbour", "guarantor", "employer", "landlord", "other")
PHONE_KINDS = ("mobile", "home", "work", "other")


class AddressInSchema(Schema):
    kind = fields.Enum(AddressKind, by_value=True, load_default=AddressKind.HOME)
    text = fields.String(required=True, validate=validate.Length(min=1, max=500))
    lat = lat_field(required=True)
    lon = lon_field(required=True)


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


class ImportReportSchema(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    rejected_rows = fields.Integer()
    rejected = fields.List(fields.Nested(ImportRejectionSchema))


class CaseQuerySchema(PageQuerySchema):
    contact_status = fields.Enum(ContactStatus, by_value=True)
    portfolio_id = id_field()
    q = fields.String(validate=validate.Length(min=1, max=100))


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
    lat = fields.Float()
    lon = fields.Float()
    source = fields.String()


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
