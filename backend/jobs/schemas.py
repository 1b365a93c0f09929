"""Job status as clients poll it."""
from __future__ import annotations

from marshmallow import Schema, fields


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.Function(lambda j: j.status.value)
    progress = fields.Float()
    stats = fields.Dict()
    result = fields.Dict(allow_none=True)
    error_code = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    attempts = fields.Integer()
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
