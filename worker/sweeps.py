"""Periodic sweeps, declared as data with stable names; RQ's cron scheduler enqueues them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sweep:
    name: str          # stable id: RQ keeps each sweep's history under it
    func: str          # dotted path of a module-level function taking no arguments
    queue: str
    interval_s: int


SWEEPS: list[Sweep] = [
    Sweep("requeue-lost-jobs", "backend.jobs.service.requeue_lost_jobs", "periodic", 60),
]
