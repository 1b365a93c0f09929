"""Promise, payment and compliance-report endpoints (on the contacts blueprint)."""
from __future__ import annotations

from flask import jsonify, make_response
from flask.views import MethodView

from backend.auth.access import current_user, roles_required
from backend.auth.models import Role
from backend.contacts import attempts as service
from backend.contacts import promises
from backend.contacts.blueprint import LOGGERS, READERS, blp, case_for
from backend.contacts.compliance import flagged_attempts, followup_report
from backend.contacts.schemas import (
    CasePaymentInSchema,
    CasePaymentSchema,
    CasePromiseInSchema,
    CasePromisePageSchema,
    CasePromiseSchema,
    ContactPageQuerySchema,
    FlaggedPageSchema,
    FlaggedQuerySchema,
    FollowUpPageSchema,
    FollowUpQuerySchema,
    ReminderPageSchema,
)
from backend.extensions import db
from backend.openapi import takes_idempotency_key
from backend.pagination import PageQuerySchema, envelope, page_schema
from backend.sync.http import respond_once

OFFICE = (Role.DISPATCHER, Role.SUPERVISOR)


def _once(scope: str, handler):
    """Once per Idempotency-Key when the client sends one (mobile retries); the body as the handler made it."""
    body, status = respond_once(scope, handler)
    return make_response(jsonify(body), status)


@blp.route("/cases/<int:case_id>/promises")
class PromisesResource(MethodView):
    @roles_required(*LOGGERS)
    @takes_idempotency_key(required=False)
    @blp.arguments(CasePromiseInSchema)
    @blp.response(201, CasePromiseSchema)
    @blp.alt_response(200, schema=CasePromiseSchema, success=True, description="a replay: the first response again")
    def post(self, body, case_id):
        """Record a promise to pay {amount, due_date, source}; reminded one working day before."""
        case = case_for(case_id)
        contact = service.resolve_party(db.session, case, body["party"])

        def handler():
            promise = promises.record_promise(
                db.session, case_id=case.id, amount=body["amount"], due_date=body["due_date"],
                source=body["source"], contact_id=contact.id if contact else None, notes=body["notes"],
                actor_id=current_user().id)
            return 201, CasePromiseSchema().dump(promise)

        return _once("promise", handler)

    @roles_required(*READERS, Role.COLLECTOR)
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, CasePromisePageSchema)
    def get(self, query, case_id):
        """The case's promises (open, kept, partial, broken), newest first."""
        case = case_for(case_id)
        rows, total = promises.list_promises(db.session, case.id, **query)
        return envelope(rows, total, query["page"], query["page_size"])


@blp.route("/cases/<int:case_id>/payments")
class PaymentsResource(MethodView):
    @roles_required(*OFFICE)
    @takes_idempotency_key(required=False)
    @blp.arguments(CasePaymentInSchema)
    @blp.response(201, CasePaymentSchema)
    @blp.alt_response(200, schema=CasePaymentSchema, success=True, description="a replay: the first response again")
    def post(self, body, case_id):
        """Record a payment on a case (e.g. reported by the creditor); completed promises become kept."""
        case = service.get_case(db.session, case_id)

        def handler():
            payment = promises.record_payment(db.session, case_id=case.id, actor_id=current_user().id, **body)
            return 201, CasePaymentSchema().dump(payment)

        return _once("payment", handler)

    @roles_required(*READERS)
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, page_schema(CasePaymentSchema))
    def get(self, query, case_id):
        """The case's payments, newest first."""
        rows, total = promises.list_payments(db.session, service.get_case(db.session, case_id).id, **query)
        return envelope(rows, total, query["page"], query["page_size"])


@blp.route("/promises/reminders-due")
class RemindersDueResource(MethodView):
    @roles_required(*OFFICE)
    @blp.arguments(ContactPageQuerySchema, location="query")
    @blp.response(200, ReminderPageSchema)
    def get(self, query):
        """Open promises whose reminder (one working day before the due date) is due now."""
        items, total = promises.due_reminders(db.session, **query)
        return envelope(items, total, query["page"], query["page_size"])


@blp.route("/compliance/follow-up")
class FollowUpResource(MethodView):
    @roles_required(*OFFICE)
    @blp.arguments(FollowUpQuerySchema, location="query")
    @blp.response(200, FollowUpPageSchema)
    def get(self, query):
        """Cases below the minimum follow-up (reachable: per week; semi_lost and lost: per month)."""
        items, total = followup_report(db.session, **query)
        return envelope(items, total, query["page"], query["page_size"])


@blp.route("/compliance/late-entries")
class LateEntriesResource(MethodView):
    @roles_required(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(FlaggedQuerySchema, location="query")
    @blp.response(200, FlaggedPageSchema)
    def get(self, query):
        """Late entries and attempts that broke a rule, with their violations (supervisor report)."""
        rows, total = flagged_attempts(db.session, **query)
        return envelope([attempt for attempt, _ in rows], total, query["page"], query["page_size"])
