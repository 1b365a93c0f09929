"""Liveness of the API and what it depends on."""
from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from redis.exceptions import RedisError
from rq import Worker
from sqlalchemy.exc import SQLAlchemyError

from backend.auth.access import Unauthorized, bearer_token, caller_from_token, public
from backend.auth.models import Role
from backend.extensions import db, redis_conn
from backend.health import checks
from backend.queues import QUEUES, get_queue


class HealthSchema(Schema):
    ok = fields.Boolean(required=True)
    database = fields.Boolean(required=True)
    redis = fields.Boolean(required=True)
    queues = fields.Dict(keys=fields.String(), allow_none=True, metadata={"description": "workers, queued per queue"})
    checks = fields.Dict(keys=fields.String(), metadata={"description": "each registered check's result"})


blp = Blueprint("health", __name__, url_prefix="/api/v1", description="Health")

# Who may see what the system is made of (workers, queue depths, checks): the rest get {"ok": ...}.
DETAIL_ROLES = (Role.SUPERVISOR, Role.ADMIN)


def _may_read_details() -> bool:
    try:
        return caller_from_token(bearer_token()).role in DETAIL_ROLES
    except Unauthorized:
        return False


def _database_ok() -> bool:
    try:
        return db.session.execute(sa.text("select 1")).scalar() == 1
    except SQLAlchemyError:
        return False


def _queues() -> dict | None:
    try:
        return {
            "workers": len(Worker.all(connection=redis_conn.client)),
            "queued": {spec.name: get_queue(spec.name).count for spec in QUEUES},
        }
    except RedisError:
        return None


@blp.route("/health")
class HealthResource(MethodView):
    @public
    @blp.doc(security=[])
    @blp.alt_response(200, schema=HealthSchema, success=True, description="everything is up")
    @blp.alt_response(503, schema=HealthSchema, description="something it depends on is down")
    def get(self):
        """`{"ok": ...}` for anyone (a load balancer); with a supervisor's or admin's token also the
        database, Redis, workers, queue depths and every registered check (e.g. the sweep watchdog)."""
        database, queues = _database_ok(), _queues()
        extra = checks.run_all()
        ok = database and queues is not None and all(c.get("ok", True) for c in extra.values())
        status = 200 if ok else 503
        if not _may_read_details():
            return {"ok": ok}, status
        body = {"ok": ok, "database": database, "redis": queues is not None, "queues": queues, "checks": extra}
        return body, status
