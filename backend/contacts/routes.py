"""Contact log endpoints: attempts (rules enforced), do-not-contact, next lawful contact, call sheets."""
from __future__ import annotations

from flask import jsonify, make_response
from flask.views import MethodView

from backend.audit.service import record_audit
from backend.auth.access import current_user, roles_required
from backend.auth.models import Role
from backend.contacts import attempts as service
from backend.contacts.blueprint import DIALERS, LOGGERS, READERS, blp, case_for
from backend.contacts.compliance import next_contact
from backend.contacts.disclosure import call_sheet
from backend.contacts.schemas import (
    AttemptInSchema,
    AttemptPageSchema,
    AttemptSchema,
    CallSheetSchema,
    ContactPageQuerySchema,
    ContactStatusHistorySchema,
    DoNotContactInSchema,
    NextContactQuerySchema,
    NextContactSchema,
    PartyStateSchema,
    VolunteerInSchema,
)
from backend.contacts.status import status_history
from backend.contacts.submit import ATTEMPT
from backend.extensions import db
from backend.openapi import takes_idempotency_key
from backend.pagination import envelope
from backend.sync.http import submit


@blp.route("/cases/<int:case_id>/contact-attempts")
class ContactAttemptsResource(MethodView):
    @roles_required(*LOGGERS)
    @takes_idempotency_key(required=False)
    @blp.arguments(AttemptInSchema)
    @blp.response(201, AttemptSchema)
    @blp.alt_response(200, schema=AttemptSchema, success=True, description="a replay: the first response again")
    def post(self, body, case_id):
        """Log a contact attempt; 409 with the rule's code when a rule forbids it (late entries are stored).

        Send an Idempotency-Key header (a client UUID) to make retries safe: a replay returns 200.
        """
        view, status = submit(ATTEMPT, body, target_id=case_id)
        return make_response(jsonify(view), status)

    @roles_required(*READERS)
    @blp.arguments(ContactPageQuerySchema, location="query")
    @blp.response(200, AttemptPageSchema)
    def get(self, query, case_id):
        """The case's contact log, newest first (every read is audited)."""
        case = service.get_case(db.session, case_id)
        items, total = service.list_attempts(db.session, case_id=case.id, **query)
        record_audit(db.session, actor_id=current_user().id, action="contact_log.read", subject_type="case",
                     subject_id=case.id, returned=len(items))
        db.session.commit()
        return envelope(items, total, query["page"], query["page_size"])


@blp.route("/cases/<int:case_id>/next-contact")
class NextContactResource(MethodView):
    @roles_required(*LOGGERS, Role.TRACER, Role.ADMIN)
    @blp.arguments(NextContactQuerySchema, location="query")
    @blp.response(200, NextContactSchema)
    def get(self, query, case_id):
        """For the debtor and each contact: the earliest lawful time to try again, and why."""
        return next_contact(db.session, case=case_for(case_id), channel=query["channel"])


def _dnc_state(case, contact, active: bool) -> dict:
    return {"case_id": case.id, "party": "debtor" if contact is None else str(contact.id),
            "contact_id": contact.id if contact else None, "do_not_contact": active,
            "volunteered_to_pay": bool(contact and contact.volunteered_to_pay)}


class _DoNotContact(MethodView):
    """Set (anyone who logs attempts) or lift (supervisor) a party's do-not-contact request."""

    def _party(self, case_id, contact_id):
        case = case_for(case_id)
        contact = None if contact_id is None else service.get_contact(db.session, case, contact_id)
        return case, contact

    def _change(self, case_id, contact_id, active: bool, reason: str):
        case, contact = self._party(case_id, contact_id)
        event = service.set_do_not_contact(db.session, case=case, contact=contact, active=active,
                                           actor_id=current_user().id, reason=reason)
        db.session.commit()
        return {**_dnc_state(case, contact, active), "changed_at": event.at}


@blp.route("/cases/<int:case_id>/contacts/<int:contact_id>/do-not-contact")
class ContactDoNotContactResource(_DoNotContact):
    @roles_required(*LOGGERS)
    @blp.arguments(DoNotContactInSchema)
    @blp.response(200, PartyStateSchema)
    def post(self, body, case_id, contact_id):
        """Mark a contact do-not-contact (they asked); further attempts are refused. Audited."""
        return self._change(case_id, contact_id, True, body["reason"])

    @roles_required(Role.SUPERVISOR)
    @blp.arguments(DoNotContactInSchema)
    @blp.response(200, PartyStateSchema)
    def delete(self, body, case_id, contact_id):
        """Lift a contact's do-not-contact request (supervisor). Audited."""
        return self._change(case_id, contact_id, False, body["reason"])


@blp.route("/cases/<int:case_id>/debtor/do-not-contact")
class DebtorDoNotContactResource(_DoNotContact):
    @roles_required(*LOGGERS)
    @blp.arguments(DoNotContactInSchema)
    @blp.response(200, PartyStateSchema)
    def post(self, body, case_id):
        """Mark the debtor do-not-contact (they asked); further attempts are refused. Audited."""
        return self._change(case_id, None, True, body["reason"])

    @roles_required(Role.SUPERVISOR)
    @blp.arguments(DoNotContactInSchema)
    @blp.response(200, PartyStateSchema)
    def delete(self, body, case_id):
        """Lift the debtor's do-not-contact request (supervisor). Audited."""
        return self._change(case_id, None, False, body["reason"])


@blp.route("/cases/<int:case_id>/contacts/<int:contact_id>/volunteered-to-pay")
class VolunteeredResource(MethodView):
    @roles_required(*LOGGERS)
    @blp.arguments(VolunteerInSchema)
    @blp.response(200, PartyStateSchema)
    def post(self, body, case_id, contact_id):
        """Record that a third party volunteered to pay: only then may they be told the amount. Audited."""
        case = case_for(case_id)
        contact = service.get_contact(db.session, case, contact_id)
        service.mark_volunteered(db.session, case=case, contact=contact, actor_id=current_user().id,
                                 notes=body["notes"])
        active = service.party_do_not_contact(db.session, case, contact)
        db.session.commit()
        return _dnc_state(case, contact, active)


@blp.route("/cases/<int:case_id>/contacts/<int:contact_id>/call-sheet")
class CallSheetResource(MethodView):
    @roles_required(*DIALERS, Role.DISPATCHER)
    @blp.response(200, CallSheetSchema)
    def get(self, case_id, contact_id):
        """What the caller may say to a third party: no amount unless they volunteered to pay. Audited."""
        case = case_for(case_id)
        contact = service.get_contact(db.session, case, contact_id)
        masked = current_user().role not in DIALERS
        sheet = call_sheet(db.session, case=case, contact=contact, masked=masked)
        record_audit(db.session, actor_id=current_user().id, action="contact.call_sheet_read", subject_type="case",
                     subject_id=case.id, party=contact.id, masked=masked, disclosed_debt=sheet["may_discuss_debt"])
        db.session.commit()
        return sheet


@blp.route("/cases/<int:case_id>/contact-status-history")
class StatusHistoryResource(MethodView):
    @roles_required(*READERS)
    @blp.response(200, ContactStatusHistorySchema)
    def get(self, case_id):
        """The case's contact-status transitions, oldest first."""
        case = service.get_case(db.session, case_id)
        return {"case_id": case.id, "contact_status": case.contact_status.value,
                "status_changed_at": case.status_changed_at, "changes": status_history(db.session, case.id)}
