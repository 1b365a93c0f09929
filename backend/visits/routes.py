"""Visits endpoints: request, list, approve, assign, cancel, start, report the outcome."""
from __future__ import annotations

from datetime import date

from flask.views import MethodView
from flask_smorest import Blueprint

from backend.audit.service import record_audit
from backend.auth.access import current_caller, current_user, roles_required
from backend.auth.models import Role
from backend.errors import InvalidInput
from backend.extensions import db
from backend.geo import geojson_out
from backend.geojson import FeatureCollectionPageSchema
from backend.openapi import takes_idempotency_key
from backend.pagination import PageQuerySchema, envelope, page_schema, paginate
from backend.sync.http import submit
from backend.visits import absences, service
from backend.visits.requests import request_visit
from backend.visits.schemas import (
    AbsenceInSchema,
    AbsenceSchema,
    AssignSchema,
    CancelSchema,
    OutcomeOutSchema,
    OutcomeViewSchema,
    VisitCreateSchema,
    VisitGeoQuerySchema,
    VisitPageSchema,
    VisitQuerySchema,
    VisitSchema,
)
from backend.visits.sync import OUTCOME

blp = Blueprint("visits", __name__, url_prefix="/api/v1", description="Visits")

REQUESTERS = (Role.DISPATCHER, Role.SUPERVISOR)
READERS = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN, Role.COLLECTOR)


def _filters(query: dict) -> dict:
    filters = {k: query.get(k) for k in ("status", "kind", "date", "bbox", "not_located", "case_id", "overdue",
                                        "pinned")}
    filters["open_only"] = query.get("open")
    filters["collector_id"] = service.scope_for(current_user(), query.get("collector_id"))
    return filters


@blp.route("/visits")
class VisitsResource(MethodView):
    @roles_required(*REQUESTERS)
    @blp.arguments(VisitCreateSchema)
    @blp.response(201, VisitSchema)
    def post(self, body):
        """Request a visit: due within the policy's days; outsourced ones need a supervisor's approval."""
        user = current_user()
        visit = request_visit(db.session, requested_by_id=user.id, source="manual", one_open_per_kind=True, **body)
        record_audit(db.session, actor_id=user.id, action="visit.request", subject_type="visit",
                     subject_id=visit.id, status=visit.status.value)
        db.session.commit()
        return service.visit_record(visit)

    @roles_required(*READERS)
    @blp.arguments(VisitQuerySchema, location="query")
    @blp.response(200, VisitPageSchema)
    def get(self, query):
        """List visits by status, kind, collector, date and bbox (collectors: their own only)."""
        items, total = service.list_visits(db.session, page=query["page"], page_size=query["page_size"],
                                           **_filters(query))
        return {"items": items, "total": total, "page": query["page"], "page_size": query["page_size"]}


@blp.route("/visits.geojson")
class VisitsGeoJsonResource(MethodView):
    @roles_required(*READERS)
    @blp.arguments(VisitGeoQuerySchema, location="query")
    @blp.response(200)
    @blp.alt_response(200, schema=FeatureCollectionPageSchema, success=True,
                      description="one Point feature per visit (properties: id, case_id, kind, status, priority, "
                                  "due_by, collector_id, scheduled_date, requires_two, outsourced, hazard, pin: "
                                  "the visit's pin as in GET /visits, or null)")
    def get(self, query):
        """The same filters and pages as GET /visits, as a FeatureCollection of points: `?page=` and
        `?page_size=` page it, and `total`, `page`, `page_size` sit beside `features` (RFC 7946 §6.1);
        `?coord_sys=gcj02|bd09` for an AMap or Baidu base map."""
        collection = service.visits_geojson(db.session, page=query["page"], page_size=query["page_size"],
                                            **_filters(query))
        return geojson_out(collection, query["coord_sys"])


@blp.route("/visits/<int:visit_id>")
class VisitResource(MethodView):
    @roles_required(*READERS)
    @blp.response(200, VisitSchema)
    def get(self, visit_id):
        """One visit (a collector sees only their own)."""
        return service.visit_record(service.get_visit(db.session, visit_id, viewer=current_user()))


@blp.route("/visits/<int:visit_id>/approve")
class ApproveResource(MethodView):
    @roles_required(Role.SUPERVISOR)
    @blp.response(200, VisitSchema)
    def post(self, visit_id):
        """Approve an outsourced visit (needs_approval -> scheduled)."""
        visit = service.approve_visit(db.session, visit_id, actor_id=current_user().id)
        db.session.commit()
        return service.visit_record(visit)


@blp.route("/visits/<int:visit_id>/assign")
class AssignResource(MethodView):
    @roles_required(*REQUESTERS)
    @blp.arguments(AssignSchema)
    @blp.response(200, VisitSchema)
    def post(self, body, visit_id):
        """Give the visit to an active collector for a day."""
        visit = service.assign_visit(db.session, visit_id, collector_id=body["collector_id"], day=body["date"],
                                     actor_id=current_user().id)
        db.session.commit()
        return service.visit_record(visit)


@blp.route("/visits/<int:visit_id>/cancel")
class CancelResource(MethodView):
    @roles_required(*REQUESTERS)
    @blp.arguments(CancelSchema)
    @blp.response(200, VisitSchema)
    def post(self, body, visit_id):
        """Cancel a visit that has not started."""
        visit = service.cancel_visit(db.session, visit_id, reason=body["reason"], actor_id=current_user().id)
        db.session.commit()
        return service.visit_record(visit)


@blp.route("/visits/<int:visit_id>/start")
class StartResource(MethodView):
    @roles_required(Role.COLLECTOR)
    @blp.response(200, VisitSchema)
    def post(self, visit_id):
        """The assigned collector begins the visit (assigned -> in_progress)."""
        visit = service.start_visit(db.session, visit_id, collector=current_user())
        db.session.commit()
        return service.visit_record(visit)


@blp.route("/visits/<int:visit_id>/outcome")
class OutcomeResource(MethodView):
    @roles_required(Role.COLLECTOR, load_user=False)  # only the caller's id is needed: no User load
    @takes_idempotency_key(required=True)
    @blp.arguments(OUTCOME.schema)
    @blp.response(201)
    @blp.alt_response(201, schema=OutcomeOutSchema, success=True)
    @blp.alt_response(200, schema=OutcomeOutSchema, success=True,
                      description="A replay: the stored response of the first submission")
    def post(self, body, visit_id):
        """Report what happened at the door; send an Idempotency-Key (a client UUID) every time."""
        return submit(OUTCOME, body, user=current_caller(), target_id=visit_id)

    @roles_required(Role.COLLECTOR, Role.DISPATCHER, Role.SUPERVISOR)
    @blp.response(200, OutcomeViewSchema)
    @blp.doc(operationId="get_visit_outcome")
    def get(self, visit_id):
        """The report from the door with its proof of visit (a collector: their own report only)."""
        return service.outcome_for_viewer(db.session, visit_id, current_user())


@blp.route("/collectors/<int:collector_id>/absences")
class AbsencesResource(MethodView):
    @roles_required(*REQUESTERS)
    @blp.arguments(AbsenceInSchema)
    @blp.response(201, AbsenceSchema)
    @blp.doc(operationId="record_collector_absence")
    def post(self, body, collector_id):
        """Record a collector absent on a date: their open visits that day go back to the pool at once."""
        absence, released = absences.record_absence(db.session, collector_id=collector_id, day=body["date"],
                                                    reason=body["reason"], actor_id=current_user().id)
        db.session.commit()
        return absences.absence_view(absence, released)

    @roles_required(*REQUESTERS)
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, page_schema(AbsenceSchema))
    @blp.doc(operationId="list_collector_absences")
    def get(self, query, collector_id):
        """The collector's recorded absences, latest date first."""
        rows, total = paginate(db.session, absences.list_absences(db.session, collector_id=collector_id),
                               query["page"], query["page_size"])
        return envelope([absences.absence_view(a) for a in rows], total, query["page"], query["page_size"])


@blp.route("/collectors/<int:collector_id>/absences/<day>")
class AbsenceResource(MethodView):
    @roles_required(*REQUESTERS)
    @blp.response(200, AbsenceSchema)
    @blp.doc(operationId="remove_collector_absence")
    def delete(self, collector_id, day):
        """The collector works that day after all (released visits stay in the pool for the next plan);
        answers the absence removed."""
        try:
            parsed = date.fromisoformat(day)
        except ValueError as exc:
            raise InvalidInput("date", "not an ISO date (YYYY-MM-DD)") from exc
        absence = absences.remove_absence(db.session, collector_id=collector_id, day=parsed,
                                          actor_id=current_user().id)
        view = absences.absence_view(absence)
        db.session.commit()
        return view

