"""Findings 10–12: tracing keeps counts and reasons, never raw values, and purges unreviewed candidates;
jobs answer a stable error code and a short message; a collector's access to a case's third parties
ends `contacts.collector_access_days` after their visit there."""
from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from backend.auth.models import Role
from backend.jobs.models import BackgroundJob, JobStatus
from backend.jobs.service import create_job, run_background_job
from backend.policy.defaults import DEFAULTS
from backend.timeutil import utcnow
from backend.tracing.jobs import purge_unreviewed_candidates
from backend.tracing.models import CandidateStatus, TracingCandidate, TracingRequest
from backend.visits.models import VisitStatus
from backend.visits.requests import request_visit
from worker.sweeps import SWEEPS

SECRET_TEXT = "debtor 13800138000 at 88 Hidden Lane"


def test_tracing_stats_keep_counts_and_reasons_never_raw_values(client, session, tracer, submit, debtor_case,
                                                                family_files, run_worker):
    request_id = submit(debtor_case().id, *family_files).json["id"]
    run_worker()
    stats = session.get(TracingRequest, request_id).stats
    body = client.get(f"/api/v1/tracing/requests/{request_id}", headers=tracer[1]).json
    assert sum(stats["calls"]["bad"].values()) == 4 and stats["calls"]["bad_rows"] == 4  # counts by reason
    for kept in (stats, body["stats"]):
        text = json.dumps(kept, ensure_ascii=False)
        assert "samples" not in text
        assert "sideways" not in text and "yesterday" not in text and '"abc"' not in text  # bad rows' values
        assert "+86" not in text  # no service, lender, owner or any other number


def _candidate(create_candidate, case, number, *, age_days, status=CandidateStatus.PROPOSED):
    candidate = create_candidate(case, number=number)
    candidate.created_at = utcnow() - timedelta(days=age_days)
    candidate.status = status
    return candidate


def test_unreviewed_candidates_are_purged_after_retention_confirmed_ones_stay(session, create_case,
                                                                              create_candidate):
    case = create_case()
    days = DEFAULTS["tracing.unreviewed_retention_days"]
    stale = _candidate(create_candidate, case, "+8613900000011", age_days=days + 1)
    fresh = _candidate(create_candidate, case, "+8613900000012", age_days=days - 1)
    confirmed = _candidate(create_candidate, case, "+8613900000013", age_days=days + 5,
                           status=CandidateStatus.CONFIRMED)
    session.flush()
    assert purge_unreviewed_candidates()["purged"] == 1
    left = set(session.scalars(sa.select(TracingCandidate.id)))
    assert stale.id not in left and {fresh.id, confirmed.id} <= left
    assert "backend.tracing.jobs.purge_unreviewed_candidates" in {sweep.func for sweep in SWEEPS}


def test_each_portfolio_purges_unreviewed_candidates_after_its_own_retention(session, create_case, create_candidate,
                                                                            create_portfolio):
    short = create_portfolio(code="short-retention", overrides={"tracing.unreviewed_retention_days": 2})
    days = DEFAULTS["tracing.unreviewed_retention_days"]
    default_case, short_case = create_case(), create_case(portfolio=short)
    kept = _candidate(create_candidate, default_case, "+8613900000021", age_days=3)
    purged = _candidate(create_candidate, short_case, "+8613900000022", age_days=3)
    both_old = _candidate(create_candidate, default_case, "+8613900000023", age_days=days + 1)
    session.flush()
    assert purge_unreviewed_candidates()["purged"] == 2
    left = set(session.scalars(sa.select(TracingCandidate.id)))
    assert kept.id in left and not {purged.id, both_old.id} & left


def leaky_job(progress) -> dict:
    raise ValueError(SECRET_TEXT)


def test_a_failed_job_answers_a_code_and_a_short_message_never_the_exception(client, session, as_role):
    user, headers = as_role(Role.DISPATCHER)
    job = create_job(session, kind="test", queue="default", func=f"{__name__}.leaky_job", args={},
                     created_by_id=user.id)
    session.commit()
    run_background_job(job.id)
    session.expire_all()
    assert session.get(BackgroundJob, job.id).status is JobStatus.FAILED
    body = client.get(f"/api/v1/jobs/{job.id}", headers=headers).json
    assert body["error_code"] == "internal_error"
    assert len(body["error"]) <= 200 and "13800138000" not in json.dumps(body)


def _visit_at(session, case, collector, status, ended_days_ago=None):
    visit = request_visit(session, case_id=case.id, kind="confirm", reason="test")
    visit.collector_id, visit.scheduled_date, visit.status = collector.id, utcnow().date(), status
    if ended_days_ago is not None:
        visit.finished_at = utcnow() - timedelta(days=ended_days_ago)
    session.flush()
    return visit


def test_collector_reads_third_parties_only_during_and_shortly_after_their_visit(client, session, create_case,
                                                                                 as_role):
    user, headers = as_role(Role.COLLECTOR)
    days = DEFAULTS["contacts.collector_access_days"]
    third_party = {"name": "Li", "relationship": "friend", "phone_e164": "+8613900139999"}

    def call_sheet(case):
        contact = case.contacts[0]
        return client.get(f"/api/v1/cases/{case.id}/contacts/{contact.id}/call-sheet", headers=headers).status_code

    open_case, recent_case, old_case = (create_case(contacts=(third_party,)) for _ in range(3))
    _visit_at(session, open_case, user, VisitStatus.ASSIGNED)
    _visit_at(session, recent_case, user, VisitStatus.DONE, ended_days_ago=days - 1)
    _visit_at(session, old_case, user, VisitStatus.FAILED, ended_days_ago=days + 1)
    assert call_sheet(open_case) == 200
    assert call_sheet(recent_case) == 200
    assert call_sheet(old_case) == 403
