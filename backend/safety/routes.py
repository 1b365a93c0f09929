"""Field safety endpoints: check-ins, SOS, sealed lodgings, alerts and the live board."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.auth.access import current_user, public, roles_required, user_from_token
from backend.auth.models import Role
from backend.errors import Forbidden
from backend.extensions import db
from backend.geo import CoordSysQuerySchema, geojson_out
from backend.openapi import may_return, takes_idempotency_key
from backend.pagination import envelope, page_schema
from backend.safety import alerts, lodgings
from backend.safety.board import live_board
from backend.safety.checkins import collector_status
from backend.safety.schemas import (
    AckQuerySchema,
    AckSchema,
    AlertQuerySchema,
    AlertSchema,
    BoardSchema,
    CheckinOutSchema,
    CheckinSchema,
    LodgingOutSchema,
    LodgingQuerySchema,
    LodgingReadSchema,
    LodgingSchema,
    ResolveSchema,
    SosOutSchema,
    SosSchema,
    StatusSchema,
)
from backend.safety.sync import CHECKIN, LODGING, SOS
from backend.safety.watchdog import check_watchdog
from backend.sync.http import submit

blp = Blueprint("safety", __name__, url_prefix="/api/v1", description="Field safety")

SAFETY_DISPATCHERS = (Role.DISPATCHER, Role.SUPERVISOR)


@blp.route("/safety/checkins")
class CheckinsResource(MethodView):
    @roles_required(Role.COLLECTOR)
    @takes_idempotency_key(required=False)
    @blp.arguments(CheckinSchema)
    @blp.response(201)
    @blp.alt_response(201, schema=CheckinOutSchema, success=True)
    @blp.alt_response(200, schema=CheckinOutSchema, success=True, description="a replay: the first response again")
    def post(self, fields):
        """Check in (your own); the server computes and returns the next deadline (CheckinOut)."""
        return submit(CHECKIN, fields)


@blp.route("/safety/sos")
class SosResource(MethodView):
    @roles_required(Role.COLLECTOR)
    @takes_idempotency_key(required=False)
    @blp.arguments(SosSchema)
    @blp.response(201)
    @blp.alt_response(201, schema=SosOutSchema, success=True)
    @blp.alt_response(200, schema=SosOutSchema, success=True, description="a replay: the first response again")
    def post(self, fields):
        """Raise an SOS at the highest level; with duress the answer is that of an `ok` check-in."""
        return submit(SOS, fields)


@blp.route("/safety/me")
class StatusResource(MethodView):
    @roles_required(Role.COLLECTOR)
    @blp.response(200, StatusSchema)
    def get(self):
        """Your monitored session: whether it is open and when the next check-in is due."""
        return collector_status(db.session, current_user())


@blp.route("/safety/lodgings")
class LodgingsResource(MethodView):
    @roles_required(Role.COLLECTOR, *SAFETY_DISPATCHERS)
    @blp.arguments(LodgingQuerySchema, location="query")
    @blp.response(200, page_schema(LodgingOutSchema))
    def get(self, query):
        """Your lodgings and meal places; a safety dispatcher reads one collector's (collector_id), only
        while an alert for them is open or with `?reason=`, audited."""
        rows, total = lodgings.list_lodgings(db.session, viewer=current_user(), **query)
        db.session.commit()
        return envelope([lodgings.lodging_view(row) for row in rows], total, query["page"], query["page_size"])

    @roles_required(Role.COLLECTOR)
    @takes_idempotency_key(required=False)
    @blp.arguments(LodgingSchema)
    @blp.response(201, LodgingOutSchema)
    @blp.alt_response(200, schema=LodgingOutSchema, success=True, description="a replay: the first response again")
    def post(self, fields):
        """Declare a lodging or meal place; the answer lists rotation and proximity warnings."""
        return submit(LODGING, fields)


@blp.route("/safety/lodgings/<int:lodging_id>")
class LodgingResource(MethodView):
    @roles_required(Role.COLLECTOR, *SAFETY_DISPATCHERS)
    @blp.arguments(LodgingReadSchema, location="query")
    @blp.response(200, LodgingOutSchema)
    def get(self, query, lodging_id):
        """One lodging: its collector's own, or a safety dispatcher's while an alert for the collector is
        open or with `?reason=` (audited)."""
        lodging = lodgings.get_lodging(db.session, viewer=current_user(), lodging_id=lodging_id, **query)
        db.session.commit()
        return lodgings.lodging_view(lodging)


@blp.route("/safety/alerts")
class AlertsResource(MethodView):
    @roles_required(*SAFETY_DISPATCHERS)
    @blp.arguments(AlertQuerySchema, location="query")
    @blp.response(200, page_schema(AlertSchema))
    def get(self, query):
        """Alerts, most urgent first; filter with state=open|acknowledged|resolved|active."""
        check_watchdog(db.session)
        db.session.commit()
        rows, total = alerts.list_alerts(db.session, **query)
        return envelope(alerts.with_deliveries(db.session, rows), total, query["page"], query["page_size"])


@blp.route("/safety/alerts/<int:alert_id>")
class AlertResource(MethodView):
    @roles_required(*SAFETY_DISPATCHERS)
    @blp.response(200, AlertSchema)
    def get(self, alert_id):
        """One alert with every step of its life."""
        alert = alerts.get_alert(db.session, alert_id)
        return {**alerts.with_deliveries(db.session, [alert])[0],
                "events": [alerts.event_view(e) for e in alerts.alert_events(db.session, alert_id)]}


@blp.route("/safety/alerts/<int:alert_id>/ack")
class AlertAckResource(MethodView):
    @public
    # 401/403: a bearer token that is bad, or of a role that may not acknowledge; 429: too many wrong codes
    @may_return(401, 403, 429)
    @blp.arguments(AckQuerySchema, location="query")
    @blp.arguments(AckSchema, location="json", required=False)
    @blp.response(200, AlertSchema)
    @blp.doc(security=[{"bearerAuth": []}, {}])
    def post(self, query, fields, alert_id):
        """Acknowledge an open alert: escalation and its pending messages stop.

        A dispatcher or supervisor with a bearer token; or anyone holding the short code of a staff
        message of this alert (`code`) or the signed link sent with it (`token`, body or query):
        the acknowledgement is then recorded for the user that message went to. After 10 wrong codes in
        15 minutes from an address (100 for the alert from all addresses), every code from there (for the
        alert) is refused (429 with Retry-After) until the window passes; the signed link and a bearer token
        still acknowledge. Wrong codes are audited; refusals are logged.
        """
        token = fields.get("token") or query.get("token")
        if request.headers.get("Authorization"):
            user = user_from_token(request.headers["Authorization"].partition(" ")[2].strip())
            if user.role not in SAFETY_DISPATCHERS:
                raise Forbidden("requires role dispatcher or supervisor")
            alert = alerts.acknowledge_alert(db.session, alert_id=alert_id, actor=user, via="console")
        else:
            try:
                alert = alerts.acknowledge_with_code(db.session, alert_id=alert_id, code=fields.get("code"),
                                                     token=token, address=request.remote_addr)
            except alerts.WrongAckCode:
                db.session.commit()  # the failure's audit row stays, though the answer is an error
                raise
        db.session.commit()
        return alerts.with_deliveries(db.session, [alert])[0]


@blp.route("/safety/alerts/<int:alert_id>/resolve")
class AlertResolveResource(MethodView):
    @roles_required(*SAFETY_DISPATCHERS)
    @blp.arguments(ResolveSchema)
    @blp.response(200, AlertSchema)
    def post(self, fields, alert_id):
        """Resolve an alert with the reason it is over."""
        alert = alerts.resolve_alert(db.session, alert_id=alert_id, actor=current_user(),
                                     reason=fields["reason"].strip())
        db.session.commit()
        return alerts.alert_view(alert)


@blp.route("/safety/board")
class BoardResource(MethodView):
    @roles_required(*SAFETY_DISPATCHERS)
    @blp.arguments(CoordSysQuerySchema, location="query")
    @blp.response(200, BoardSchema)
    def get(self, query):
        """Collectors on shift now: last check-in, last position, next deadline, open alerts."""
        check_watchdog(db.session)
        db.session.commit()
        return geojson_out(live_board(db.session), query["coord_sys"])
