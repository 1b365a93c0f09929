"""Shapes of the review queue, the collectors' daily report and the day's map."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.fieldday.models import ReviewDecision
from backend.fieldday.service import REVIEW_REASONS
from backend.pagination import PageQuerySchema
from backend.validation import day_field, id_field


class ReviewQuerySchema(PageQuerySchema):
    state = fields.String(load_default="open", validate=validate.OneOf(("open", "closed", "all")))
    reason = fields.String(validate=validate.OneOf(REVIEW_REASONS))
    collector_id = id_field()


class ReviewDecisionInSchema(Schema):
    decision = fields.Enum(ReviewDecision, by_value=True, required=True)
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class ReviewSchema(Schema):
    decision = fields.String()
    note = fields.String()
    reviewed_by_id = fields.Integer()
    reviewed_at = fields.DateTime()


class ReviewItemSchema(Schema):
    outcome_id = fields.Integer()
    visit_id = fields.Integer()
    case_id = fields.Integer()
    collector_id = fields.Integer()
    outcome = fields.String()
    recorded_at = fields.DateTime()
    received_at = fields.DateTime()
    fix_at = fields.DateTime(allow_none=True)
    distance_m = fields.Float()
    on_site = fields.Boolean()
    accuracy_m = fields.Float(allow_none=True)
    mock_location = fields.Boolean()
    reasons = fields.List(fields.String())
    review = fields.Nested(ReviewSchema, allow_none=True)


class DailyQuerySchema(PageQuerySchema):
    date = day_field(required=True)
    collector_id = id_field()
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))


class CollectorDaySchema(Schema):
    date = fields.Date()
    collector_id = fields.Integer()
    name = fields.String()
    visits_done = fields.Integer()
    visits_failed = fields.Integer()
    on_site_rate = fields.Float(allow_none=True)
    promises = fields.Integer()
    promised_amount = fields.String()
    payments = fields.Integer()
    paid_amount = fields.String()
    km_travelled = fields.Float()
    km_planned = fields.Float(allow_none=True)
    flags = fields.Dict(keys=fields.String(), values=fields.Integer())


class DayRoutesQuerySchema(PageQuerySchema):
    """page and page_size count routes (all of a route's features are on one page)."""

    date = day_field(required=True)
