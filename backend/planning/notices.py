"""Whoever started a route plan hears when it finished or failed (their own channels and quiet period)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.notify.service import COLLECTOR_CHANNELS, notify_users

PLAN_JOB_KIND = "route_plan"


def on_job_finished(job, *, session: Session, status: str, error: str | None) -> None:
    """job_finished receiver: a plan job's starter is told (once per job and outcome)."""
    if job.kind != PLAN_JOB_KIND or job.created_by_id is None:
        return
    stats = (job.result or {}).get("stats", {}) if status == "done" else {}
    summary = (f"{stats.get('routes', 0)} routes, {stats.get('visits_assigned', 0)} visits, "
               f"{stats.get('unassigned', 0)} unassigned") if status == "done" else (error or "")[:200]
    template = "plan_finished" if status == "done" else "plan_failed"
    notify_users(session, [session.get(User, job.created_by_id)], template=template,
                 params={"job_id": job.id, "summary": summary}, dedupe=f"job:{job.id}:{status}")


def notify_route_changes(session: Session, plan_date, changes: list[dict], had_visits: set[int]) -> None:
    """A re-plan that changed a collector's day tells them (their channels and quiet period): visits
    that moved to or from them, or were added to or taken off a day they already had. A first plan of
    the day tells nobody; the phone fetches its route anyway."""
    for change in changes:
        collector_id = change["collector_id"]
        gained = [m for m in change["moved"] if m["to_collector_id"] == collector_id]
        lost = [m for m in change["moved"] if m["from_collector_id"] == collector_id]
        added, removed = len(change["added"]) + len(gained), len(change["removed"]) + len(lost)
        if not (lost or change["removed"] or (collector_id in had_visits and added)):
            continue
        user = session.get(User, collector_id)
        if user is None or user.role is not Role.COLLECTOR:
            continue
        version = change.get("version") or 0
        notify_users(session, [user], template="route_changed", channels=COLLECTOR_CHANNELS,
                     params={"date": plan_date.isoformat(), "version": version, "added": added, "removed": removed},
                     dedupe=f"route:{plan_date.isoformat()}:{collector_id}:v{version}")
