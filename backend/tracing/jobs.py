"""The tracing job: load the raw uploads, run the engine with no database connection held, store the
candidates and delete the raw files in one transaction. Plus the sweep that purges leftover raw files."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from psycopg.types.json import Jsonb

from backend.audit.service import record_audit
from backend.cases.models import Case
from backend.dbtypes import driver
from backend.extensions import db
from backend.jobs.models import BackgroundJob, JobStatus
from backend.jobs.service import commit_job_work
from backend.policy.service import get_policy, portfolio_policy
from backend.timeutil import utcnow
from backend.tracing.engine import TraceResult, run_trace
from backend.tracing.models import CandidateStatus, TracingCandidate, TracingRequest, TracingUpload

log = logging.getLogger(__name__)
# Never proposed as people to contact, whatever the engine returns: lenders and collectors.
WITHHELD_RELATIONSHIPS = frozenset({"lender", "collector"})


class TracingInputError(Exception):
    """The request cannot be traced as submitted; the message tells the specialist why."""

    code = "unusable_input"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class TraceInputs:
    """Everything the engine needs, as plain values: the session is closed while it runs."""

    case_id: int
    contacts: bytes | None
    calls: bytes | None
    debtor_numbers: list[str]
    debtor_name: str
    timezone: str
    excluded: frozenset[str]
    max_rows: int
    retention_days: int


def run_tracing_request(request_id: int, progress=None) -> dict:
    """Trace one request (the background job). Running it again after it finished changes nothing."""
    inputs = _load_inputs(request_id)
    if inputs is None:
        return _summary_of(db.session.get(TracingRequest, request_id))
    try:
        result = run_trace(inputs.contacts, inputs.calls, debtor_numbers=inputs.debtor_numbers,
                           debtor_name=inputs.debtor_name, default_region=current_app.config["DEFAULT_REGION"],
                           excluded_numbers=inputs.excluded, progress=progress,
                           limits={"max_rows": inputs.max_rows}, policy={"timezone": inputs.timezone})
        _require_complete(result, inputs.max_rows)
        return _store(request_id, inputs, result)  # a failed store fails the job like a failed trace
    except ValueError as exc:
        # The engine names the input it cannot use first; the value itself stays in the log.
        if not str(exc).startswith("debtor_numbers:"):
            _end_failed(request_id, inputs, exc)
            raise
        refusal = TracingInputError("debtor_numbers: a number on the case cannot be read as a phone number")
        _end_failed(request_id, inputs, refusal)
        raise refusal from exc
    except Exception as exc:
        _end_failed(request_id, inputs, exc)
        raise


# Everything a trace needs, in one round trip: the request, its case and portfolio policy, the case's numbers,
# the numbers rejected on its earlier requests and the raw files (binary: tens of megabytes as hex text would
# take twice as long). An everyday trace spent more on six separate reads than on some of its engine steps.
_LOAD_INPUTS = f"""
    SELECT r.traced_at, c.id, c.debtor_name, c.timezone, p.id, p.profile, p.overrides,
           ARRAY(SELECT cp.number_e164 FROM case_phones cp WHERE cp.case_id = c.id ORDER BY cp.id),
           ARRAY(SELECT t.number_e164 FROM tracing_candidates t
                 WHERE t.case_id = c.id AND t.status = '{CandidateStatus.REJECTED.value}' AND t.request_id <> r.id),
           (SELECT u.data FROM tracing_uploads u WHERE u.request_id = r.id AND u.kind = 'contacts'),
           (SELECT u.data FROM tracing_uploads u WHERE u.request_id = r.id AND u.kind = 'calls')
    FROM tracing_requests r JOIN cases c ON c.id = r.case_id LEFT JOIN portfolios p ON p.id = c.portfolio_id
    WHERE r.id = %s"""


def _load_inputs(request_id: int) -> TraceInputs | None:
    """Read the request, case and raw files, then give the connection back; None when already traced."""
    session = db.session
    with driver(session).cursor(binary=True) as cursor:
        row = cursor.execute(_LOAD_INPUTS, (request_id,)).fetchone()
    if row is None:
        raise TracingInputError(f"tracing request {request_id} does not exist")
    traced_at, case_id, debtor_name, timezone, portfolio_id, profile, overrides, phones, rejected, contacts, calls = row
    if traced_at is not None:
        session.commit()
        return None
    if contacts is None and calls is None:
        raise TracingInputError("the uploaded files are no longer held; submit them again")
    policy = portfolio_policy(portfolio_id, profile, overrides)
    inputs = TraceInputs(
        case_id=case_id, contacts=None if contacts is None else bytes(contacts),
        calls=None if calls is None else bytes(calls), debtor_numbers=list(phones), debtor_name=debtor_name,
        timezone=timezone, excluded=frozenset(rejected), max_rows=policy["tracing.max_rows"],
        retention_days=policy["tracing.raw_retention_days"])
    # Ending the transaction hands the connection back to the pool for as long as the engine computes.
    session.commit()
    return inputs


def _require_complete(result: TraceResult, max_rows: int) -> None:
    """Refuse to rank on a file cut short at the row limit: the ranking would silently miss rows."""
    for kind in ("contacts", "calls"):
        if result.stats.get(kind, {}).get("truncated"):
            raise TracingInputError(f"{kind}: more than {max_rows:,} rows (tracing.max_rows); split the upload")


def _proposable(candidates: list[dict], stats: dict) -> list[dict]:
    """Drop anything marked as a lender or collector: they are never proposed as people to contact."""
    lenders = {sample["number"] for sample in stats.get("lenders", {}).get("samples", [])}
    kept = [c for c in candidates if c.get("relationship") not in WITHHELD_RELATIONSHIPS
            and not WITHHELD_RELATIONSHIPS.intersection(c.get("flags") or ()) and c["number_e164"] not in lenders]
    stats["withheld"] = len(candidates) - len(kept)
    return kept


# The stored writes of a finished trace go in one round trip (psycopg's pipeline): replace any earlier
# attempt's candidates, delete the raw files (retention permitting) and record the outcome on the request.
_LOCK_REQUEST = "SELECT traced_at, candidate_count, stats, raw_deleted_at FROM tracing_requests WHERE id = %s FOR UPDATE"
_RECORD_TRACED = """
    UPDATE tracing_requests SET stats = %(stats)s, traced_at = %(now)s, candidate_count = %(count)s,
           raw_deleted_at = CASE WHEN %(raw_deleted)s THEN %(now)s ELSE raw_deleted_at END
    WHERE id = %(request_id)s RETURNING legal_basis, requested_by_id, raw_deleted_at IS NOT NULL"""


def _store(request_id: int, inputs: TraceInputs, result: TraceResult) -> dict:
    """In one transaction: replace any earlier attempt's candidates, keep the stats, delete the raw files."""
    session = db.session
    connection = driver(session)
    with connection.cursor() as cursor:
        traced_at, count, stats, raw_deleted_at = cursor.execute(_LOCK_REQUEST, (request_id,)).fetchone()
    if traced_at is not None:  # another attempt finished while this one computed
        session.commit()
        return _summary(request_id, count, stats, raw_deleted_at is not None)
    candidates = _proposable(result.candidates, result.stats)
    stats, now = stats_without_raw_values(result.stats), utcnow()
    with connection.pipeline(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM tracing_candidates WHERE request_id = %s", (request_id,))
        if candidates:
            _insert_candidates(cursor, request_id, inputs.case_id, candidates, now)
        if inputs.retention_days <= 0:
            cursor.execute("DELETE FROM tracing_uploads WHERE request_id = %s", (request_id,))
        cursor.execute(_RECORD_TRACED, {"stats": Jsonb(stats), "now": now, "count": len(candidates),
                                        "raw_deleted": inputs.retention_days <= 0, "request_id": request_id})
        legal_basis, requested_by_id, raw_deleted = cursor.fetchone()  # the pipeline's one wait
    record_audit(session, actor_id=None, action="tracing.request.traced", subject_type="tracing_request",
                 subject_id=request_id, case_id=inputs.case_id, legal_basis=legal_basis,
                 requested_by_id=requested_by_id, candidates=len(candidates), raw_files_deleted=raw_deleted)
    commit_job_work(session)  # the job's durable finish comes right after and flushes it
    return _summary(request_id, len(candidates), stats, raw_deleted)


# The candidates arrive as one JSON array: one statement whose text never changes (so psycopg and the server
# prepare it once per connection), where a list of rows would go as one execution per row (SQLAlchemy's
# executemany without RETURNING) or as a VALUES list whose text changes with the count.
_INSERT_CANDIDATES = """
    INSERT INTO tracing_candidates (request_id, case_id, rank, number_e164, kind, relationship, score, evidence,
                                    flags, status, created_at)
    SELECT %(request_id)s, %(case_id)s, c.rank, c.number_e164, c.kind, c.relationship, c.score, c.evidence, c.flags,
           %(status)s, %(now)s
    FROM jsonb_to_recordset(%(candidates)s) AS c(rank integer, number_e164 varchar, kind tracing_candidate_kind,
                                                 relationship varchar, score double precision, evidence jsonb,
                                                 flags varchar[])"""


def _insert_candidates(cursor, request_id: int, case_id: int, candidates: list[dict], now) -> None:
    """Insert the ranked candidates in the session's transaction, on its driver connection."""
    rows = [{"rank": rank, "number_e164": c["number_e164"], "kind": c["kind"], "relationship": c.get("relationship"),
             "score": min(max(float(c["score"]), 0.0), 1.0), "evidence": c.get("evidence") or {},
             "flags": list(c.get("flags") or [])}
            for rank, c in enumerate(candidates, start=1)]
    cursor.execute(_INSERT_CANDIDATES, {"request_id": request_id, "case_id": case_id, "now": now,
                                        "status": CandidateStatus.PROPOSED.value, "candidates": Jsonb(rows)})


def _end_failed(request_id: int, inputs: TraceInputs, exc: Exception) -> None:
    """A failed job is final: delete its raw files now (retention permitting) and audit the failure."""
    session = db.session
    try:
        session.rollback()
        request = session.get(TracingRequest, request_id, populate_existing=True)
        if inputs.retention_days <= 0:
            _delete_raw(session, request)
        record_audit(session, actor_id=None, action="tracing.request.failed", subject_type="tracing_request",
                     subject_id=request_id, case_id=inputs.case_id, legal_basis=request.legal_basis,
                     requested_by_id=request.requested_by_id, error=type(exc).__name__)
        session.commit()
    except Exception:  # the job's own error is the one to report
        session.rollback()
        log.exception("could not clean up failed tracing request %s", request_id)


def stats_without_raw_values(stats: dict) -> dict:
    """What a request keeps of the engine's stats: counts and reasons. The samples (bad rows' raw values,
    service numbers, lenders' names and numbers) and the owners' numbers are the uploads' data and go
    with them; the specialist saw what mattered in the candidates."""
    def clean(node):
        if isinstance(node, dict):
            kept = {key: clean(value) for key, value in node.items() if key not in ("samples", "owners")}
            if isinstance(node.get("owners"), list):
                kept["owners"] = {role: sum(1 for o in node["owners"] if o.get("role") == role)
                                  for role in ("debtor", "third_party")}
            return kept
        if isinstance(node, list):
            return [clean(item) for item in node]
        return node

    return clean(stats or {})


def purge_unreviewed_candidates(now=None) -> dict:
    """Sweep: delete proposed candidates nobody reviewed within their portfolio's
    `tracing.unreviewed_retention_days`; confirmed and rejected ones (decisions) stay with the case."""
    session, now = db.session, now or utcnow()
    proposed = TracingCandidate.status == CandidateStatus.PROPOSED
    # One DELETE per portfolio holding proposals (a handful), not every proposed row read into Python.
    portfolio_ids = session.scalars(sa.select(Case.portfolio_id).distinct()
                                    .join(TracingCandidate, TracingCandidate.case_id == Case.id).where(proposed))
    purged = 0
    for portfolio_id in list(portfolio_ids):
        days = get_policy(session, portfolio_id)["tracing.unreviewed_retention_days"]
        in_portfolio = Case.portfolio_id.is_(None) if portfolio_id is None else Case.portfolio_id == portfolio_id
        purged += session.execute(
            sa.delete(TracingCandidate).where(proposed, TracingCandidate.created_at <= now - timedelta(days=days),
                                              TracingCandidate.case_id.in_(sa.select(Case.id).where(in_portfolio)))
        ).rowcount
    if purged:
        record_audit(session, actor_id=None, action="tracing.candidates.purged", subject_type="tracing_candidate",
                     subject_id=None, count=purged, reason="unreviewed past retention")
    session.commit()
    return {"purged": purged}


def _delete_raw(session, request: TracingRequest) -> None:
    session.execute(sa.delete(TracingUpload).where(TracingUpload.request_id == request.id))
    request.raw_deleted_at = utcnow()


def _summary(request_id: int, candidates: int, stats: dict | None, raw_deleted: bool) -> dict:
    return {"request_id": request_id, "candidates": candidates, "by_kind": (stats or {}).get("candidates", {}),
            "raw_files_deleted": raw_deleted}


def _summary_of(request: TracingRequest) -> dict:
    return _summary(request.id, request.candidate_count, request.stats, request.raw_deleted_at is not None)


def purge_expired_uploads() -> dict:
    """Sweep: delete raw files of finished requests past retention (e.g. a job the requeue sweep gave up on)."""
    session = db.session
    rows = session.execute(
        sa.select(TracingRequest.id, Case.portfolio_id, BackgroundJob.finished_at)
        .join(Case, Case.id == TracingRequest.case_id)
        .outerjoin(BackgroundJob, BackgroundJob.id == TracingRequest.job_id)
        .where(sa.exists().where(TracingUpload.request_id == TracingRequest.id),
               sa.or_(BackgroundJob.id.is_(None), BackgroundJob.status.in_([JobStatus.DONE, JobStatus.FAILED])))
    ).all()
    purged, now = [], utcnow()
    for request_id, portfolio_id, finished_at in rows:
        days = get_policy(session, portfolio_id)["tracing.raw_retention_days"]
        if finished_at is None or finished_at <= now - timedelta(days=days):
            _delete_raw(session, session.get(TracingRequest, request_id))
            purged.append(request_id)
    session.commit()
    return {"purged": purged}
