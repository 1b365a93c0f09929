"""A person reviews the candidates: every read and decision is audited; confirmed ones join the case."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.audit.service import record_audit
from backend.cases.models import CaseContact, CasePhone
from backend.cases.service import add_contact, add_phone
from backend.errors import DomainError, NotFound
from backend.pagination import paginate
from backend.timeutil import utcnow
from backend.tracing.models import CandidateKind, CandidateStatus, TracingCandidate, TracingRequest
from backend.tracing.service import get_request

# The engine's relationship words -> the case contact vocabulary (backend.cases.schemas.RELATIONSHIPS).
KIN_RELATIONSHIPS = {"spouse": "spouse", "parent": "parent", "sibling": "sibling", "child": "child",
                     "in_law": "in_law", "extended": "relative"}
ASSOCIATE_RELATIONSHIPS = {"close": "friend", "work": "colleague", "helper": "other", "business": "other"}


def list_candidates(session: Session, request_id: int, *, actor_id: int, kind: str | None = None,
                    status: str | None = None, page: int = 1,
                    page_size: int = 100) -> tuple[list[TracingCandidate], int]:
    """One page of a request's candidates best first, and how many match; the read is audited (who
    looked, on what basis)."""
    request = get_request(session, request_id)
    query = sa.select(TracingCandidate).where(TracingCandidate.request_id == request.id)
    if kind:
        query = query.where(TracingCandidate.kind == CandidateKind(kind))
    if status:
        query = query.where(TracingCandidate.status == CandidateStatus(status))
    candidates, total = paginate(session, query.order_by(TracingCandidate.rank, TracingCandidate.id), page, page_size)
    _audit(session, actor_id, "tracing.candidates.read", request, count=len(candidates))
    session.flush()
    return candidates, total


def confirm_candidate(session: Session, candidate_id: int, *, actor_id: int, name: str | None = None,
                      relationship: str | None = None, note: str | None = None) -> TracingCandidate:
    """Confirm a candidate: a new number joins the case's phones, a person its contacts. Idempotent."""
    candidate = _locked(session, candidate_id)
    if candidate.status is CandidateStatus.REJECTED:
        raise DomainError("candidate_rejected", "this candidate was rejected; it cannot be confirmed",
                          extra={"candidate_id": candidate.id})
    if candidate.status is CandidateStatus.CONFIRMED:
        return candidate
    request = session.get(TracingRequest, candidate.request_id)
    source_ref = f"tracing:{request.id}"
    if candidate.kind is CandidateKind.NEW_NUMBER:
        candidate.case_phone_id = _add_phone(session, candidate, source_ref)
    else:
        candidate.case_contact_id = _add_contact(session, candidate, source_ref, name=name,
                                                 relationship=relationship or contact_relationship(candidate))
    _decide(candidate, CandidateStatus.CONFIRMED, actor_id, note)
    _audit(session, actor_id, "tracing.candidate.confirm", request, candidate=candidate.id,
           kind=candidate.kind.value, case_phone_id=candidate.case_phone_id, case_contact_id=candidate.case_contact_id)
    session.flush()
    return candidate


def reject_candidate(session: Session, candidate_id: int, *, actor_id: int, note: str | None = None) -> TracingCandidate:
    """Reject a candidate; later requests on the case will not propose its number again. Idempotent."""
    candidate = _locked(session, candidate_id)
    if candidate.status is CandidateStatus.CONFIRMED:
        raise DomainError("candidate_confirmed", "this candidate was confirmed and is on the case already",
                          extra={"candidate_id": candidate.id})
    if candidate.status is CandidateStatus.PROPOSED:
        request = session.get(TracingRequest, candidate.request_id)
        _decide(candidate, CandidateStatus.REJECTED, actor_id, note)
        _audit(session, actor_id, "tracing.candidate.reject", request, candidate=candidate.id,
               kind=candidate.kind.value)
    session.flush()
    return candidate


def contact_relationship(candidate: TracingCandidate) -> str:
    """Map the engine's relationship onto the case contact vocabulary."""
    if candidate.kind is CandidateKind.KIN:
        return KIN_RELATIONSHIPS.get(candidate.relationship or "", "relative")
    return ASSOCIATE_RELATIONSHIPS.get(candidate.relationship or "", "other")


def _locked(session: Session, candidate_id: int) -> TracingCandidate:
    """Return the candidate row locked, so two clicks on confirm add one phone, not two."""
    candidate = session.scalar(sa.select(TracingCandidate).where(TracingCandidate.id == candidate_id)
                               .with_for_update().execution_options(populate_existing=True))
    if candidate is None:
        raise NotFound("tracing candidate", candidate_id)
    return candidate


def _decide(candidate: TracingCandidate, status: CandidateStatus, actor_id: int, note: str | None) -> None:
    candidate.status, candidate.decided_by_id, candidate.decided_at = status, actor_id, utcnow()
    candidate.decision_note = note


def _add_phone(session: Session, candidate: TracingCandidate, source_ref: str) -> int:
    """Add the number to the case's phones (or find it there) and return the phone id."""
    add_phone(session, case_id=candidate.case_id, number_e164=candidate.number_e164, source="tracing",
              source_ref=source_ref)
    return session.scalar(sa.select(CasePhone.id).where(CasePhone.case_id == candidate.case_id,
                                                        CasePhone.number_e164 == candidate.number_e164))


def _add_contact(session: Session, candidate: TracingCandidate, source_ref: str, *, name: str | None,
                 relationship: str) -> int:
    """Add the person as a case contact (the contact rules then apply to them) and return the contact id."""
    existing = session.scalar(sa.select(CaseContact.id).where(CaseContact.case_id == candidate.case_id,
                                                              CaseContact.phone_e164 == candidate.number_e164)
                              .order_by(CaseContact.id).limit(1))
    if existing is not None:
        return existing
    name = name or saved_name(candidate) or f"{relationship} (tracing #{candidate.request_id})"
    add_contact(session, case_id=candidate.case_id, name=name, relationship=relationship,
                phone_e164=candidate.number_e164, source="tracing", source_ref=source_ref)
    return session.scalar(sa.select(CaseContact.id).where(CaseContact.case_id == candidate.case_id,
                                                          CaseContact.phone_e164 == candidate.number_e164)
                          .order_by(CaseContact.id).limit(1))


def saved_name(candidate: TracingCandidate) -> str | None:
    """Return the name the debtor's own phone book gives the number (other books name the debtor instead)."""
    for saved in (candidate.evidence or {}).get("saved_as") or []:
        if isinstance(saved, dict) and saved.get("book") == "debtor" and saved.get("name"):
            return str(saved["name"])[:200]
    return None


def _audit(session: Session, actor_id: int, action: str, request: TracingRequest, **details) -> None:
    record_audit(session, actor_id=actor_id, action=action, subject_type="tracing_request", subject_id=request.id,
                 case_id=request.case_id, legal_basis=request.legal_basis, **details)
