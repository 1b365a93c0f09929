"""Whoever started a route plan hears when it finished or failed (their own channels and quiet period)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.notify.service import enqueue, to_user
from backend.timeutil import utcnow

PLAN_JOB_KIND = "route_plan"
STAFF_CHANNELS = ("push", "email", "sms")


def on_job_finished(job, *, session: Session, status: str, error: str | None) -> None:
    """job_finished receiver: a plan job's starter is told (once per job and outcome)."""
    if job.kind != PLAN_JOB_KIND or job.created_by_id is None:
        return
    user = session.get(User, job.created_by_id)
    if user is None or not user.active:
        return
    stats = (job.result or {}).get("stats", {}) if status == "done" else {}
    summary = (f"{stats.get('routes', 0)} routes, {stats.get('visits_assigned', 0)} visits, "
               f"{stats.get('unassigned', 0)} unassigned") if status == "done" else (error or "")[:200]
    template = "plan_finished" if status == "done" else "plan_failed"
    now = utcnow()
    enqueue(session, to_user(session, user, channels=STAFF_CHANNELS, template=template,
                             params={"job_id": job.id, "summary": summary}, honour_quiet=True, now=now,
                             only_accepted=True, dedupe=f"job:{job.id}:{status}"), now=now)
