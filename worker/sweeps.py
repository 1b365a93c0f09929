"""Periodic sweeps, declared as data with stable names; RQ's cron scheduler enqueues them."""
from __future__ import annotations

from dataclasses import dataclass

from backend.policy.defaults import DEFAULTS


@dataclass(frozen=True)
class Sweep:
    name: str          # stable id: RQ keeps each sweep's history under it
    func: str          # dotted path of a module-level function taking no arguments
    queue: str
    interval_s: int


SWEEPS: list[Sweep] = [
    Sweep("requeue-lost-jobs", "backend.jobs.service.requeue_lost_jobs", "periodic", 60),
    Sweep("notify-requeue", "backend.notify.jobs.sweep_notifications", "notify", 10),
    Sweep("safety-checkins", "backend.safety.jobs.sweep_checkins", "safety", DEFAULTS["safety.sweep_interval_s"]),
    Sweep("contact-triggers", "backend.contacts.jobs.raise_contact_triggers", "periodic", 900),
    Sweep("promise-reminders", "backend.contacts.jobs.send_due_reminders", "periodic", 300),
    Sweep("promise-settlement", "backend.contacts.jobs.settle_due_promises", "periodic", 900),
    Sweep("purge-tracing-uploads", "backend.tracing.jobs.purge_expired_uploads", "periodic", 600),
    Sweep("purge-unreviewed-candidates", "backend.tracing.jobs.purge_unreviewed_candidates", "periodic", 3600),
    Sweep("geocode-pending", "backend.cases.geocode.retry_pending_geocoding", "periodic", 900),
]
