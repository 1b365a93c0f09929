"""Endpoints: the supervisors' review queue, the collectors' daily report, every route of a day."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.auth.access import current_user, roles_required
from backend.auth.models import Role
from backend.extensions import db
from backend.fieldday import service
from backend.fieldday.schemas import (
    CollectorDaySchema,
    DailyQuerySchema,
    DayRoutesQuerySchema,
    ReviewDecisionInSchema,
    ReviewItemSchema,
    ReviewQuerySchema,
)
from backend.geojson import FeatureCollectionPageSchema
from backend.pagination import envelope, page_schema, paginate

blp = Blueprint("fieldday", __name__, url_prefix="/api/v1", description="The field day: review, reports, day map")

STAFF = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)


@blp.route("/review/outcomes")
class ReviewQueueResource(MethodView):
    @roles_required(Role.SUPERVISOR)
    @blp.arguments(ReviewQuerySchema, location="query")
    @blp.response(200, page_schema(ReviewItemSchema))
    @blp.doc(operationId="list_outcomes_to_review")
    def get(self, query):
        """Reports from the door to review: off-site, implausible travel, stale fix, mock location,
        backdated, quiet hours, reassigned (open: not yet decided)."""
        rows, total = paginate(db.session, service.review_queue(state=query["state"], reason=query.get("reason"),
                                                                collector_id=query.get("collector_id")),
                               query["page"], query["page_size"], scalars=False)
        return envelope([service.review_item(*row) for row in rows], total, query["page"], query["page_size"])


@blp.route("/review/outcomes/<int:outcome_id>")
class ReviewDecisionResource(MethodView):
    @roles_required(Role.SUPERVISOR)
    @blp.arguments(ReviewDecisionInSchema)
    @blp.response(201, ReviewItemSchema)
    @blp.doc(operationId="review_outcome")
    def post(self, body, outcome_id):
        """Close a flagged report with a decision and a note (audited; once)."""
        item = service.decide(db.session, outcome_id=outcome_id, decision=body["decision"], note=body["note"],
                              actor_id=current_user().id)
        db.session.commit()
        return item


@blp.route("/reports/collectors/daily")
class CollectorsDailyResource(MethodView):
    @roles_required(Role.DISPATCHER, Role.SUPERVISOR)
    @blp.arguments(DailyQuerySchema, location="query")
    @blp.response(200, page_schema(CollectorDaySchema))
    @blp.alt_response(200, description="format=csv: every row as CSV", content_type="text/csv",
                      success=True)
    @blp.doc(operationId="get_collectors_daily_report")
    def get(self, query):
        """Each collector's day: visits done, on-site rate, promises, payments, km, flags (JSON or CSV)."""
        statement = service.collectors_daily(db.session, day=query["date"], collector_id=query.get("collector_id"))
        if query["format"] == "csv":
            rows = [service.daily_row(query["date"], row) for row in db.session.execute(statement)]
            return Response(service.daily_csv(rows), mimetype="text/csv", headers={
                "Content-Disposition": f'attachment; filename="collectors-{query["date"].isoformat()}.csv"'})
        rows, total = paginate(db.session, statement, query["page"], query["page_size"], scalars=False)
        return envelope([service.daily_row(query["date"], row) for row in rows], total, query["page"],
                        query["page_size"])


@blp.route("/routes.geojson")
class DayRoutesGeoJsonResource(MethodView):
    @roles_required(*STAFF)
    @blp.arguments(DayRoutesQuerySchema, location="query")
    @blp.response(200)
    @blp.alt_response(200, schema=FeatureCollectionPageSchema, success=True,
                      description="per route a LineString feature (kind route: route_id, collector_id, date, "
                                  "distance_m, duration_s), then every stop as a Point (kind stop: route_id, "
                                  "collector_id, sequence, visit_id, eta, departure, fixed, pin: the visit's pin as in "
                                  "GET /visits, or null)")
    @blp.doc(operationId="get_day_routes_geojson")
    def get(self, query):
        """Every route of the day in one FeatureCollection (lines through the stops only, then the stops);
        `?page=`/`?page_size=` count routes, `total`, `page`, `page_size` sit beside `features`."""
        return service.day_routes_geojson(db.session, query["date"], page=query["page"], page_size=query["page_size"])
