"""Route planning endpoints: plan a day, read routes, the collector's own day."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import jsonify
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.auth.access import current_user, roles_required
from backend.auth.models import Role
from backend.extensions import db
from backend.geo import CoordSysQuerySchema, geojson_out, point_out
from backend.geojson import FeatureCollectionSchema
from backend.pagination import envelope, page_schema
from backend.planning import jobs, service
from backend.planning.inputs import count_pool, routing_settings
from backend.planning.mobile import mobile_route
from backend.planning.moves import move_stop
from backend.planning.schemas import (
    MeRouteQuerySchema,
    MeRouteSchema,
    MoveResultSchema,
    MoveStopSchema,
    PinRequestSchema,
    PlanJobSchema,
    PlanRequestSchema,
    PlanSchema,
    RoutePlanSchema,
    RouteQuerySchema,
    RouteSchema,
)
from backend.timeutil import utcnow
from backend.visits.schemas import PinSchema

blp = Blueprint("planning", __name__, url_prefix="/api/v1", description="Route planning")

PLANNERS = (Role.DISPATCHER, Role.SUPERVISOR)
ROUTE_READERS = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN, Role.COLLECTOR)


def _route_out(route: dict, coord_sys) -> dict:
    for stop in route["stops"]:
        point_out(stop, coord_sys)
    return route


@blp.route("/routes/plan")
class PlanResource(MethodView):
    @roles_required(*PLANNERS)
    @blp.arguments(PlanRequestSchema)
    @blp.response(200, PlanSchema)
    @blp.alt_response(202, schema=PlanJobSchema, description="Large plan: a job to poll")
    def post(self, body):
        """Plan a day's routes: small plans answer at once, large ones return a job to poll."""
        user = current_user()
        service.check_plan_request(body["date"], body["time_limit_s"])
        size = count_pool(db.session, plan_date=body["date"], collector_ids=body["collector_ids"],
                          visit_ids=body["visit_ids"])
        if size > routing_settings()["sync_max_visits"] or (body["regions"] or 1) > 1 or body["district_regions"]:
            return _plan_job(body, user, size)
        plan = service.plan_routes(db.session, plan_date=body["date"], collector_ids=body["collector_ids"],
                                   visit_ids=body["visit_ids"], actor_id=user.id, time_limit_s=body["time_limit_s"],
                                   keep_assignments=body["keep_assignments"])
        db.session.commit()
        return plan


def _plan_job(body: dict, user, size: int):
    """Queue a large plan: one plan row, and its regions as jobs on the `planning` queue."""
    submitted = jobs.submit_plan(db.session, plan_date=body["date"], collector_ids=body["collector_ids"],
                                 visit_ids=body["visit_ids"], actor_id=user.id, time_limit_s=body["time_limit_s"],
                                 keep_assignments=body["keep_assignments"], regions=body["regions"], pool_size=size,
                                 district_regions=body["district_regions"])
    db.session.commit()
    first = submitted["job_ids"][0]
    # A Response skips the 200 schema: this body is a job, not a plan.
    response = jsonify(PlanJobSchema().dump({"job_id": first, "status": "queued", "progress": 0.0,
                                             "poll": f"/api/v1/jobs/{first}", "visits": size,
                                             "plan_id": submitted["plan_id"],
                                             "plan_poll": f"/api/v1/routes/plans/{submitted['plan_id']}"}))
    response.status_code = 202
    return response


@blp.route("/routes/plans/<int:plan_id>")
class PlanRowResource(MethodView):
    @roles_required(*PLANNERS, Role.ADMIN)
    @blp.response(200, RoutePlanSchema)
    def get(self, plan_id):
        """A plan's progress (per region) and, once stored, what it changed per collector."""
        return service.get_plan(db.session, plan_id)


@blp.route("/visits/<int:visit_id>/pin")
class VisitPinResource(MethodView):
    @roles_required(*PLANNERS)
    @blp.arguments(PinRequestSchema)
    @blp.response(200, PinSchema)
    def post(self, body, visit_id):
        """Pin a visit to a collector (optionally at a stop number); plans never move it."""
        pin = service.pin_visit(db.session, visit_id, collector_id=body["collector_id"], position=body["position"],
                                actor_id=current_user().id)
        db.session.commit()
        return pin

    @roles_required(*PLANNERS)
    @blp.response(200, PinSchema)
    def delete(self, visit_id):
        """Unpin a visit (answers the pin removed): later plans may move it again."""
        pin = service.unpin_visit(db.session, visit_id, actor_id=current_user().id)
        db.session.commit()
        return pin


@blp.route("/routes")
class RoutesResource(MethodView):
    @roles_required(*ROUTE_READERS)
    @blp.arguments(RouteQuerySchema, location="query")
    @blp.response(200, page_schema(RouteSchema))
    def get(self, query):
        """Stored routes by day and collector (collectors: their own only)."""
        routes, total = service.list_routes(db.session, viewer=current_user(), page=query["page"],
                                            page_size=query["page_size"], plan_date=query.get("date"),
                                            collector_id=query.get("collector_id"))
        return envelope([_route_out(route, query["coord_sys"]) for route in routes], total, query["page"],
                        query["page_size"])


@blp.route("/routes/<int:route_id>")
class RouteResource(MethodView):
    @roles_required(*ROUTE_READERS)
    @blp.arguments(CoordSysQuerySchema, location="query")
    @blp.response(200, RouteSchema)
    def get(self, query, route_id):
        """One stored route with its ordered stops."""
        route = service.get_route(db.session, route_id, viewer=current_user())
        return _route_out(service.routes_view(db.session, [route.id], viewer_id=current_user().id)[0],
                          query["coord_sys"])


@blp.route("/routes/<int:route_id>.geojson")
class RouteGeoJsonResource(MethodView):
    @roles_required(*ROUTE_READERS)
    @blp.arguments(CoordSysQuerySchema, location="query")
    @blp.response(200)
    @blp.alt_response(200, schema=FeatureCollectionSchema, success=True,
                      description="a LineString feature (kind route: route_id, collector_id, date, distance_m, "
                                  "duration_s), then one Point per stop in order (kind stop: sequence, visit_id, eta, "
                                  "departure, fixed, pin: the visit's pin as in GET /visits, or null)")
    def get(self, query, route_id):
        """The route's line and stops as GeoJSON (the start point is never shown)."""
        route = service.get_route(db.session, route_id, viewer=current_user())
        return geojson_out(service.route_geojson(db.session, route), query["coord_sys"])


@blp.route("/routes/<int:route_id>/stops/<int:visit_id>/move")
class MoveStopResource(MethodView):
    @roles_required(*PLANNERS)
    @blp.doc(operationId="move_route_stop")
    @blp.arguments(MoveStopSchema)
    @blp.response(200, MoveResultSchema)
    def post(self, body, route_id, visit_id):
        """Move a stop to another collector's route of the day; both routes are re-timed, and a move
        that breaks a rule (window, shift, capacity, skills, crew) is refused with the reason, and so is a
        pinned visit's move to anyone but its pinned collector (reason `pinned`)."""
        result = move_stop(db.session, route_id=route_id, visit_id=visit_id, collector_id=body["collector_id"],
                           actor_id=current_user().id)
        db.session.commit()
        return result


@blp.route("/me/route")
class MyRouteResource(MethodView):
    @roles_required(Role.COLLECTOR)
    @blp.arguments(MeRouteQuerySchema, location="query")
    @blp.response(200, MeRouteSchema)
    def get(self, query):
        """The collector's ordered stops for a day (default: today where they are)."""
        user = current_user()
        day = query.get("date") or utcnow().astimezone(ZoneInfo(user.timezone)).date()
        day_route = mobile_route(db.session, collector=user, day=day)
        for stop in day_route["stops"]:
            point_out(stop["address"], query["coord_sys"])
        return day_route
