"""Case intake and reads."""
from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.audit.service import record_audit
from backend.auth.access import current_user, roles_required
from backend.auth.models import Role
from backend.cases import service
from backend.cases.csv_rows import read_case_rows
from backend.cases.schemas import (
    CaseDetailSchema,
    CaseImportBatchSchema,
    CasePageSchema,
    CaseQuerySchema,
    CaseUploadSchema,
    ImportReportSchema,
)
from backend.errors import DomainError
from backend.extensions import db
from backend.http import json_body, uploaded_text
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
                     rejected_rows=report.rejected_rows)
        db.session.commit()
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
