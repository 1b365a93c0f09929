"""Case intake and reads."""
from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.audit.service import record_audit
from backend.auth.access import current_user, roles_required
from backend.auth.models import Role
from backend.cases import addresses, service
from backend.cases.csv_rows import read_case_rows
from backend.cases.geocode import submit_geocoding
from backend.cases.schemas import (
    AddressChangeSchema,
    AddressInSchema,
    AddressListQuerySchema,
    AddressOutSchema,
    AddressPatchSchema,
    CaseDetailSchema,
    CaseImportBatchSchema,
    CasePageSchema,
    CaseQuerySchema,
    CaseUploadSchema,
    ImportReportSchema,
    ListedAddressSchema,
    ProposalOutSchema,
    ProposalQuerySchema,
)
from backend.errors import DomainError
from backend.extensions import db
from backend.http import json_body, takes_upload, uploaded_text
from backend.pagination import PageQuerySchema, envelope, page_schema, paginate
from backend.policy.service import default_policy

blp = Blueprint("cases", __name__, url_prefix="/api/v1", description="Debtor cases")

IMPORTERS = (Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
READERS = (Role.DISPATCHER, Role.TRACER, Role.SUPERVISOR, Role.ADMIN)
# Roles that dial debtors and contacts, and so see numbers unmasked (every such read is audited).
FULL_RECORD_ROLES = (Role.TRACER, Role.SUPERVISOR, Role.ADMIN)


def _import_rows():
    max_rows = default_policy()["cases.import_max_rows"]
    if request.files:
        return read_case_rows(uploaded_text("file"), max_rows)
    cases = json_body()
    if isinstance(cases, dict) and isinstance(cases.get("cases"), list):
        cases = cases["cases"]
    if not isinstance(cases, list):
        raise DomainError("validation_error", "expected a JSON list of cases (or {\"cases\": [...]})",
                          status=422, fields={"_schema": "expected a list"})
    if len(cases) > max_rows:
        raise DomainError("too_large", f"more than {max_rows} cases", status=413, fields={"_schema": "too many rows"})
    return cases


@blp.route("/cases/import")
class CaseImportResource(MethodView):
    @takes_upload("CASES_IMPORT_MAX_BYTES")
    @roles_required(*IMPORTERS)
    @blp.doc(requestBody={
        "required": True,
        "description": "JSON: {\"cases\": [...]} (a bare list of cases is accepted too); or a CSV upload as "
                       "multipart field `file` (UTF-8 or GB18030). At most cases.import_max_rows rows (413).",
        "content": {"application/json": {"schema": CaseImportBatchSchema},
                    "multipart/form-data": {"schema": CaseUploadSchema}}})
    @blp.response(200, ImportReportSchema)
    def post(self):
        """Import cases from a JSON list or a CSV upload (field `file`); idempotent on external_ref."""
        report = service.import_cases(db.session, _import_rows(), region=current_app.config["DEFAULT_REGION"])
        record_audit(db.session, actor_id=current_user().id, action="cases.import", subject_type="case",
                     subject_id=None, created=report.created, updated=report.updated,
                     rejected_rows=report.rejected_rows, moved=len(report.moved))
        db.session.commit()
        report.geocode_job_id = submit_geocoding(db.session, report.pending_address_ids, actor_id=current_user().id)
        report.pending_geocode = len(report.pending_address_ids)
        return report


@blp.route("/cases")
class CasesResource(MethodView):
    @roles_required(*READERS)
    @blp.arguments(CaseQuerySchema, location="query")
    @blp.response(200, CasePageSchema)
    def get(self, query):
        """List cases, paginated, filterable by contact status and portfolio."""
        cases, total = service.list_cases(db.session, **query)
        return {"items": [service.case_summary(c) for c in cases], "total": total,
                "page": query["page"], "page_size": query["page_size"]}


@blp.route("/cases/<int:case_id>")
class CaseResource(MethodView):
    @roles_required(*READERS)
    @blp.response(200, CaseDetailSchema)
    def get(self, case_id):
        """Read one case; dispatchers see phone numbers masked; full reads are audited."""
        case = service.get_case(db.session, case_id)
        masked = current_user().role not in FULL_RECORD_ROLES
        record = service.case_record(case, masked=masked)
        if not masked:
            record_audit(db.session, actor_id=current_user().id, action="case.read_full", subject_type="case",
                         subject_id=case.id)
            db.session.commit()
        return record


def _changed(put, actor_id: int, action: str) -> dict:
    """Audit an address change, commit, and queue geocoding of a text-only address."""
    address = put.address
    record_audit(db.session, actor_id=actor_id, action=action, subject_type="case", subject_id=address.case_id,
                 address_id=address.id, moved_from=put.moved_from, moved_visit_ids=put.moved_visit_ids)
    db.session.commit()
    pending = [address.id] if address.geocode_status == "pending" else []
    job_id = submit_geocoding(db.session, pending, actor_id=actor_id)
    return {"address": addresses.address_view(address), "moved_from_address_ids": put.moved_from,
            "moved_visit_ids": put.moved_visit_ids, "geocode_job_id": job_id}


@blp.route("/cases/<int:case_id>/addresses")
class CaseAddressesResource(MethodView):
    @roles_required(*READERS)
    @blp.arguments(PageQuerySchema, location="query")
    @blp.response(200, page_schema(AddressOutSchema))
    def get(self, query, case_id):
        """The case's addresses with their history (replaced ones keep their dates), newest first."""
        service.get_case(db.session, case_id)
        rows, total = paginate(db.session, addresses.address_history(case_id), query["page"],
                               query["page_size"])
        return envelope([addresses.address_view(a) for a in rows], total, query["page"], query["page_size"])

    @roles_required(*IMPORTERS)
    @blp.arguments(AddressInSchema)
    @blp.response(201, AddressChangeSchema)
    def post(self, body, case_id):
        """Add an address (text, position optional); a different home/work address is a move."""
        service.get_case(db.session, case_id)
        put = addresses.add_address(db.session, case_id=case_id, kind=body["kind"], text=body["text"],
                                    lat=body.get("lat"), lon=body.get("lon"))
        return _changed(put, current_user().id, "case.address_add")


@blp.route("/cases/<int:case_id>/addresses/<int:address_id>")
class CaseAddressResource(MethodView):
    @roles_required(*IMPORTERS)
    @blp.arguments(AddressPatchSchema)
    @blp.response(200, AddressChangeSchema)
    def patch(self, body, case_id, address_id):
        """Correct an address: new text moves the case there, lat/lon fix the door's position."""
        put = addresses.patch_address(db.session, case_id=case_id, address_id=address_id, text=body.get("text"),
                                      lat=body.get("lat"), lon=body.get("lon"))
        return _changed(put, current_user().id, "case.address_patch")


@blp.route("/addresses")
class AddressesResource(MethodView):
    @roles_required(*IMPORTERS)
    @blp.arguments(AddressListQuerySchema, location="query")
    @blp.response(200, page_schema(ListedAddressSchema))
    def get(self, query):
        """Current addresses across cases, oldest first; `?awaiting_position=true`: those no visit can be
        routed to yet (text only, or placed no better than the district or city)."""
        rows, total = paginate(db.session, addresses.current_addresses_of_cases(query.get("awaiting_position")),
                               query["page"], query["page_size"], scalars=False)
        return envelope([addresses.listed_address_view(*row) for row in rows], total, query["page"],
                        query["page_size"])


@blp.route("/address-proposals")
class ProposalsResource(MethodView):
    @roles_required(*IMPORTERS)
    @blp.arguments(ProposalQuerySchema, location="query")
    @blp.response(200, page_schema(ProposalOutSchema))
    def get(self, query):
        """Door positions collectors proposed, waiting for a dispatcher (or decided), each with its case's
        reference and the address's current position."""
        rows, total = paginate(db.session, addresses.proposals(query["status"]), query["page"], query["page_size"])
        return envelope([addresses.proposal_view(p) for p in rows], total, query["page"], query["page_size"])


def _decide(proposal_id: int, confirm: bool) -> dict:
    actor = current_user()
    proposal = addresses.decide_proposal(db.session, proposal_id=proposal_id, confirm=confirm, actor_id=actor.id)
    record_audit(db.session, actor_id=actor.id, action=f"address_proposal.{proposal.status}",
                 subject_type="case", subject_id=proposal.address.case_id, proposal_id=proposal.id,
                 address_id=proposal.address_id)
    db.session.commit()
    return addresses.proposal_view(proposal)


@blp.route("/address-proposals/<int:proposal_id>/confirm")
class ProposalConfirmResource(MethodView):
    @roles_required(*IMPORTERS)
    @blp.response(200, ProposalOutSchema)
    def post(self, proposal_id):
        """Confirm a collector's fix: the address takes the position (source collector, rooftop)."""
        return _decide(proposal_id, True)


@blp.route("/address-proposals/<int:proposal_id>/reject")
class ProposalRejectResource(MethodView):
    @roles_required(*IMPORTERS)
    @blp.response(200, ProposalOutSchema)
    def post(self, proposal_id):
        """Reject a collector's proposed position."""
        return _decide(proposal_id, False)
