"""Portfolio shapes."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from backend.policy.service import effective_settings


class PortfolioWriteSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9_.-]{1,64}$"))
    creditor = fields.String(required=True, validate=validate.Length(min=1, max=200))
    profile = fields.String(load_default="cn_default")
    overrides = fields.Dict(keys=fields.String(), load_default=dict)


class PortfolioSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    creditor = fields.String()
    profile = fields.String()
    overrides = fields.Dict()
    effective = fields.Function(lambda p: effective_settings(p.profile, p.overrides))


class PortfolioPatchSchema(PortfolioWriteSchema):
    """Creditor, profile and overrides, all optional (instantiate with partial=True)."""

    class Meta:
        exclude = ("code",)
