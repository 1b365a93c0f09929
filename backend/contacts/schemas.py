"""Contact log, compliance and promise shapes."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from backend.cases.models import ContactStatus
from backend.contacts.models import AttemptResult, Channel, PromiseStatus
from backend.pagination import PageQuerySchema, page_schema
from backend.validation import INT_MAX, day_field, id_field, moment_field

PROMISE_SOURCES = ("call", "sms", "letter", "visit", "manual", "creditor")
PAYMENT_SOURCES = ("manual", "creditor", "transfer", "visit")


def _party(value) -> None:
    if value == "debtor" or (isinstance(value, int) and not isinstance(value, bool) and 0 < value <= INT_MAX):
        return
    # ASCII only: "²" and "１" are digits to str.isdigit() but not to int().
    if isinstance(value, str) and value.isascii() and value.isdigit() and 0 < int(value) <= INT_MAX:
        return
    raise ValidationError('"debtor" or the id of one of the case\'s contacts')


def _money(**kwargs):
    # Documented as what it is on the wire: a decimal string (apispec would say "number").
    return fields.Decimal(places=None, as_string=True, allow_nan=False,
                          metadata={"type": "string", "format": "decimal"}, **kwargs)


def _positive_money(value) -> None:
    if value <= 0:
        raise ValidationError("must be positive")
    if value.as_tuple().exponent < -2:
        raise ValidationError("at most 2 decimal places")
    if value >= 10**12:
        raise ValidationError("too large")


def _party_of(obj) -> str:
    contact_id = obj.get("contact_id") if isinstance(obj, dict) else obj.contact_id
    return "debtor" if contact_id is None else str(contact_id)


class CasePromiseInSchema(Schema):
    amount = _money(required=True, validate=_positive_money)
    due_date = day_field(required=True)
    source = fields.String(load_default="manual", validate=validate.OneOf(PROMISE_SOURCES))
    party = fields.Raw(load_default="debtor", validate=_party)
    notes = fields.String(load_default="", validate=validate.Length(max=2000))


class AttemptPromiseSchema(Schema):
    amount = _money(required=True, validate=_positive_money)
    due_date = day_field(required=True)


class AttemptInSchema(Schema):
    party = fields.Raw(required=True, validate=_party)
    channel = fields.Enum(Channel, by_value=True, required=True)
    started_at = moment_field(required=True)
    result = fields.Enum(AttemptResult, by_value=True, required=True)
    notes = fields.String(load_default="", validate=validate.Length(max=2000))
    late_entry = fields.Boolean(load_default=False)
    asked_not_to_be_contacted = fields.Boolean(load_default=False)
    promise = fields.Nested(AttemptPromiseSchema, allow_none=True, load_default=None)


class ContactViolationSchema(Schema):
    code = fields.String()
    rule = fields.String()
    message = fields.String()
    until = fields.String(allow_none=True)


class AttemptSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    party = fields.Function(_party_of)
    contact_id = fields.Integer(allow_none=True)
    channel = fields.Enum(Channel, by_value=True)
    started_at = fields.DateTime()
    result = fields.Enum(AttemptResult, by_value=True)
    reached = fields.Boolean()
    notes = fields.String()
    late_entry = fields.Boolean()
    violations = fields.List(fields.Nested(ContactViolationSchema))
    asked_not_to_be_contacted = fields.Boolean()
    source = fields.String()
    visit_id = fields.Integer(allow_none=True)
    logged_by_id = fields.Integer(allow_none=True)
    recorded_at = fields.DateTime()
    promise_id = fields.Integer(allow_none=True)


class ContactPageQuerySchema(PageQuerySchema):
    """The contacts lists' query: the one page style (backend.pagination)."""


AttemptPageSchema = page_schema(AttemptSchema)


class DoNotContactInSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class PartyStateSchema(Schema):
    case_id = fields.Integer()
    party = fields.String()
    contact_id = fields.Integer(allow_none=True)
    do_not_contact = fields.Boolean()
    volunteered_to_pay = fields.Boolean()
    changed_at = fields.DateTime()


class VolunteerInSchema(Schema):
    notes = fields.String(load_default="", validate=validate.Length(max=2000))


class NextContactQuerySchema(Schema):
    channel = fields.Enum(Channel, by_value=True, load_default=Channel.CALL)


class PartyNextSchema(Schema):
    party = fields.String()
    contact_id = fields.Integer(allow_none=True)
    name = fields.String()
    relationship = fields.String(allow_none=True)
    obligor = fields.Boolean()
    earliest_at = fields.DateTime(allow_none=True)
    allowed_now = fields.Boolean()
    blocked = fields.Boolean()
    reasons = fields.List(fields.Nested(ContactViolationSchema))


class NextContactSchema(Schema):
    case_id = fields.Integer()
    timezone = fields.String()
    channel = fields.String()
    as_of = fields.DateTime()
    contact_status = fields.String()
    parties = fields.List(fields.Nested(PartyNextSchema))


class CallSheetContactSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    relationship = fields.String()
    phone = fields.String(allow_none=True)


class CallSheetDebtSchema(Schema):
    amount_due = _money()
    currency = fields.String()
    days_past_due = fields.Integer()


class CallSheetSchema(Schema):
    case_id = fields.Integer()
    debtor_name = fields.String()
    contact = fields.Nested(CallSheetContactSchema)
    masked = fields.Boolean()
    purpose = fields.String()
    may_discuss_debt = fields.Boolean()
    do_not_contact = fields.Boolean()
    next_lawful_at = fields.DateTime(allow_none=True)
    allowed_now = fields.Boolean()
    reasons = fields.List(fields.Nested(ContactViolationSchema))
    debt = fields.Nested(CallSheetDebtSchema)


class CasePromiseSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    party = fields.Function(_party_of)
    contact_id = fields.Integer(allow_none=True)
    amount = _money()
    currency = fields.String()
    due_date = fields.Date()
    promised_at = fields.DateTime()
    source = fields.String()
    status = fields.Enum(PromiseStatus, by_value=True)
    reminder_due_at = fields.DateTime()
    paid_amount = _money()
    resolved_at = fields.DateTime(allow_none=True)
    notes = fields.String()
    attempt_id = fields.Integer(allow_none=True)
    visit_id = fields.Integer(allow_none=True)


CasePromisePageSchema = page_schema(CasePromiseSchema)


class CasePaymentInSchema(Schema):
    amount = _money(required=True, validate=_positive_money)
    paid_at = moment_field(load_default=None)
    receipt_no = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    source = fields.String(load_default="manual", validate=validate.OneOf(PAYMENT_SOURCES))


class CasePaymentSchema(Schema):
    id = fields.Integer()
    case_id = fields.Integer()
    amount = _money()
    currency = fields.String()
    paid_at = fields.DateTime()
    receipt_no = fields.String(allow_none=True)
    source = fields.String()
    visit_id = fields.Integer(allow_none=True)
    recorded_by_id = fields.Integer(allow_none=True)


class ContactStatusChangeSchema(Schema):
    id = fields.Integer()
    from_status = fields.Enum(ContactStatus, by_value=True)
    to_status = fields.Enum(ContactStatus, by_value=True)
    changed_at = fields.DateTime()
    reason = fields.String()
    attempt_id = fields.Integer(allow_none=True)


class ContactStatusHistorySchema(Schema):
    case_id = fields.Integer()
    contact_status = fields.String()
    status_changed_at = fields.DateTime()
    changes = fields.List(fields.Nested(ContactStatusChangeSchema))


class FollowUpQuerySchema(ContactPageQuerySchema):
    portfolio_id = id_field()
    contact_status = fields.Enum(ContactStatus, by_value=True)


class FollowUpRowSchema(Schema):
    case_id = fields.Integer()
    external_ref = fields.String()
    debtor_name = fields.String()
    portfolio_id = fields.Integer()
    contact_status = fields.Enum(ContactStatus, by_value=True)
    required = fields.Integer()
    window_days = fields.Integer()
    contacts_in_window = fields.Integer()
    shortfall = fields.Integer()
    last_attempt_at = fields.DateTime(allow_none=True)


FollowUpPageSchema = page_schema(FollowUpRowSchema)


class FlaggedQuerySchema(ContactPageQuerySchema):
    since = moment_field()
    until = moment_field()
    portfolio_id = id_field()


class FlaggedAttemptSchema(AttemptSchema):
    external_ref = fields.String(attribute="case.external_ref")
    portfolio_id = fields.Integer(attribute="case.portfolio_id")


FlaggedPageSchema = page_schema(FlaggedAttemptSchema)


class ReminderSchema(CasePromiseSchema):
    external_ref = fields.String(attribute="case.external_ref")
    debtor_timezone = fields.String(attribute="case.timezone")


ReminderPageSchema = page_schema(ReminderSchema)
