"""Tracing requests: take the uploads, write the request and its job in one commit, then enqueue it."""
from __future__ import annotations

from typing import BinaryIO

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager

from backend.audit.service import record_audit
from backend.auth.models import User
from backend.cases.models import Case, CasePhone
from backend.errors import DomainError, InvalidInput, NotFound
from backend.jobs.models import BackgroundJob, JobStatus
from backend.jobs.service import create_job, submit_job
from backend.pagination import paginate
from backend.policy.defaults import LEGAL_BASES
from backend.policy.service import get_policy
from backend.timeutil import utcnow
from backend.tracing.models import CandidateStatus, TracingCandidate, TracingRequest, TracingUpload
from backend.tracing.uploads import KINDS, Upload, read_upload

TRACE_FUNC = "backend.tracing.jobs.run_tracing_request"
# Namespace of the advisory lock that serialises submissions per case (duplicate detection).
_LOCK_NAMESPACE = 0x7472  # "tr"

FileInput = tuple[BinaryIO, str | None]


def submit_request(session: Session, *, case_id: int, legal_basis: str, files: dict[str, FileInput | None],
                   requested_by_id: int | None, legal_reference: str | None = None) -> tuple[TracingRequest, bool]:
    """Store a lookup (request, raw files, job row) and submit its job; return (request, created).

    A new request is committed and enqueued by jobs.submit_job; the same files for the same case
    return the earlier request (unless its job failed), flushed for the caller to commit.
    """
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("case", case_id, field="case_id")
    policy = get_policy(session, case.portfolio_id)
    if legal_basis not in policy["tracing.legal_bases"]:
        raise InvalidInput("legal_basis", f"not a lawful basis under the {policy.profile} profile; accepted: "
                                          f"{', '.join(policy['tracing.legal_bases'])}")
    given = {kind: files[kind] for kind in KINDS if files.get(kind) is not None}
    if not given:
        raise DomainError("validation_error", "upload a contacts file, a calls file, or both", status=422,
                          fields={kind: "missing file" for kind in KINDS})
    if not session.scalar(sa.select(sa.func.count()).where(CasePhone.case_id == case.id)):
        raise InvalidInput("case_id", "the case has no known phone number to trace from")
    uploads = {kind: read_upload(kind, stream, filename=name, max_bytes=policy["tracing.max_upload_bytes"],
                                 max_rows=policy["tracing.max_rows"]) for kind, (stream, name) in given.items()}
    session.execute(sa.select(sa.func.pg_advisory_xact_lock(_LOCK_NAMESPACE, case.id)))
    existing = _find_duplicate(session, case.id, uploads)
    if existing is not None:
        record_audit(session, actor_id=requested_by_id, action="tracing.request.resubmitted",
                     subject_type="tracing_request", subject_id=existing.id, case_id=case.id,
                     legal_basis=legal_basis)
        session.flush()
        return existing, False
    request = _create(session, case, legal_basis, legal_reference, uploads, requested_by_id)
    submit_job(session, request.job_id)
    return request, True


def _create(session: Session, case: Case, legal_basis: str, legal_reference: str | None,
            uploads: dict[str, Upload], requested_by_id: int | None) -> TracingRequest:
    """Add the request, its raw files, its job row and the audit event (committed by the caller)."""
    request = TracingRequest(
        case_id=case.id, legal_basis=legal_basis, legal_reference=legal_reference,
        requested_by_id=requested_by_id, contacts_sha256=_sha(uploads, "contacts"),
        calls_sha256=_sha(uploads, "calls"), files={kind: u.describe() for kind, u in uploads.items()},
        stats={}, candidate_count=0)
    session.add(request)
    session.flush()
    for upload in uploads.values():
        session.add(TracingUpload(request_id=request.id, kind=upload.kind, filename=upload.filename,
                                  size_bytes=upload.size, sha256=upload.sha256, data=upload.data))
    job = create_job(session, kind="tracing", queue="tracing", func=TRACE_FUNC, args={"request_id": request.id},
                     created_by_id=requested_by_id)
    request.job_id = job.id
    record_audit(session, actor_id=requested_by_id, action="tracing.request.create", subject_type="tracing_request",
                 subject_id=request.id, case_id=case.id, legal_basis=legal_basis, legal_reference=legal_reference,
                 files={kind: {"bytes": u.size, "rows": u.rows, "sha256": u.sha256} for kind, u in uploads.items()})
    return request


def _sha(uploads: dict[str, Upload], kind: str) -> str | None:
    return uploads[kind].sha256 if kind in uploads else None


def _find_duplicate(session: Session, case_id: int, uploads: dict[str, Upload]) -> TracingRequest | None:
    """Return the latest request of the case over the same files whose job has not failed."""
    return session.scalar(
        sa.select(TracingRequest).join(BackgroundJob, BackgroundJob.id == TracingRequest.job_id)
        .where(TracingRequest.case_id == case_id,
               TracingRequest.contacts_sha256.is_not_distinct_from(_sha(uploads, "contacts")),
               TracingRequest.calls_sha256.is_not_distinct_from(_sha(uploads, "calls")),
               BackgroundJob.status != JobStatus.FAILED)
        .order_by(TracingRequest.id.desc()).limit(1))


def get_request(session: Session, request_id: int) -> TracingRequest:
    """Return a tracing request or raise NotFound."""
    request = session.get(TracingRequest, request_id)
    if request is None:
        raise NotFound("tracing request", request_id)
    return request


def legal_bases(session: Session, case_id: int) -> dict:
    """The lawful bases a lookup on this case may cite, from its portfolio's policy profile."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFound("case", case_id, field="case_id")
    policy = get_policy(session, case.portfolio_id)
    return {"profile": policy.profile,
            "bases": [{"code": code, "description": LEGAL_BASES[code]} for code in policy["tracing.legal_bases"]]}


def list_requests(session: Session, *, page: int, page_size: int, case_id: int | None = None,
                  status: str | None = None, requested_by_id: int | None = None,
                  awaiting_review: bool | None = None) -> tuple[list[dict], int]:
    """One page of requests and the total. A case's requests come newest first; across cases (the
    tracers' work queue) running and queued ones come first, then those with candidates awaiting a
    decision, oldest first so nothing waits forever, then the finished ones, newest first."""
    proposed = (sa.select(sa.func.count()).where(TracingCandidate.request_id == TracingRequest.id,
                                                  TracingCandidate.status == CandidateStatus.PROPOSED)
                .correlate(TracingRequest).scalar_subquery())
    query = (sa.select(TracingRequest).outerjoin(BackgroundJob, BackgroundJob.id == TracingRequest.job_id)
             .options(contains_eager(TracingRequest.job)))  # the view reads each job: joined once, not per row
    if case_id is not None:
        query = query.where(TracingRequest.case_id == case_id)
    if status is not None:
        query = query.where(sa.func.coalesce(BackgroundJob.status, JobStatus.QUEUED) == JobStatus(status))
    if requested_by_id is not None:
        query = query.where(TracingRequest.requested_by_id == requested_by_id)
    if awaiting_review is not None:
        query = query.where((proposed > 0) if awaiting_review else (proposed == 0))
    if case_id is not None:
        query = query.order_by(TracingRequest.id.desc())
    else:
        open_job = sa.func.coalesce(BackgroundJob.status, JobStatus.QUEUED).in_([JobStatus.QUEUED, JobStatus.RUNNING])
        bucket = sa.case((open_job, 0), (proposed > 0, 1), else_=2)
        query = query.order_by(bucket, sa.case((bucket < 2, TracingRequest.id), else_=-TracingRequest.id))
    requests, total = paginate(session, query, page, page_size)
    return request_views(session, requests), total


def request_view(session: Session, request: TracingRequest) -> dict:
    """Return the request as the API shows it: status and progress from its job row."""
    return request_views(session, [request])[0]


def request_views(session: Session, requests: list[TracingRequest]) -> list[dict]:
    """The API view of several requests, with their candidate counts, names and refs in three queries."""
    ids = [r.id for r in requests]
    counts: dict[int, dict] = {}
    for request_id, kind, status, n in session.execute(
            sa.select(TracingCandidate.request_id, TracingCandidate.kind, TracingCandidate.status, sa.func.count())
            .where(TracingCandidate.request_id.in_(ids))
            .group_by(TracingCandidate.request_id, TracingCandidate.kind, TracingCandidate.status)):
        per = counts.setdefault(request_id, {"kinds": {}, "proposed": 0})
        per["kinds"][kind] = per["kinds"].get(kind, 0) + n
        per["proposed"] += n if status is CandidateStatus.PROPOSED else 0
    users = dict(session.execute(sa.select(User.id, User.username).where(
        User.id.in_({r.requested_by_id for r in requests if r.requested_by_id}))).all()) if requests else {}
    refs = dict(session.execute(sa.select(Case.id, Case.external_ref).where(
        Case.id.in_({r.case_id for r in requests}))).all()) if requests else {}
    now = utcnow()
    return [_view(r, counts.get(r.id, {"kinds": {}, "proposed": 0}), users.get(r.requested_by_id),
                  refs.get(r.case_id), now) for r in requests]


def _view(request: TracingRequest, counts: dict, requested_by: str | None, case_ref: str | None, now) -> dict:
    job = request.job
    return {
        "id": request.id, "case_id": request.case_id, "job_id": request.job_id,
        "status": job.status.value if job else JobStatus.QUEUED.value,
        "progress": job.progress if job else 0.0, "stats": request.stats or (job.stats if job else {}),
        "error": job.error if job else None, "error_code": job.error_code if job else None, "legal_basis": request.legal_basis,
        "legal_reference": request.legal_reference, "requested_by_id": request.requested_by_id,
        "requested_by": requested_by, "case_ref": case_ref,
        "age_s": int((now - request.created_at).total_seconds()), "awaiting_review": counts["proposed"],
        "files": request.files, "candidates": {kind.value: n for kind, n in counts["kinds"].items()},
        "raw_files_deleted": request.raw_deleted_at is not None, "created_at": request.created_at,
        "started_at": job.started_at if job else None, "finished_at": job.finished_at if job else None,
        "traced_at": request.traced_at,
    }
