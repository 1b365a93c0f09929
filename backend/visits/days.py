"""A collector's day as one lock: whatever puts a visit on it, or takes the collector off it, holds it.

Assigning a visit (visits.service.assign_visit), a plan storing routes (planning.store.store_plan), a
stop moved to another collector (planning.moves.move_stop) and an absence (visits.absences) each decide
from what they read about the collector's day (the absences, the visits already given, the cap); each
takes `lock_collector_days` first, so one waits for the other's commit and then reads it.

A deactivation (auth.service.update_user → visits.absences.release_deactivated) takes the collector off
every day at once: it holds the collector's users row (its UPDATE) instead, and the paths that put a
visit on a collector read that row FOR SHARE right after their collector-day locks, so each waits for
the other's commit and then reads it (the assignment sees `active` false; the release sees the visit).
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

# The two-int4 advisory key space: the first key is the namespace ("CD" for collector-day; tracing's
# case locks use 0x7472), so the two never meet; one-bigint advisory locks never overlap this space.
NAMESPACE = 0x4344

_LOCK_IN_ORDER = sa.text(
    "SELECT pg_advisory_xact_lock(CAST(:namespace AS int), k)"
    " FROM (SELECT unnest(CAST(:keys AS int[])) AS k ORDER BY k) AS keys")


def day_key(collector_id: int, day: date) -> int:
    """The collector-day's second lock key: a stable signed 32-bit hash (a collision only makes two
    collector-days wait for each other)."""
    unsigned = zlib.crc32(f"{collector_id}:{day.isoformat()}".encode())
    return unsigned - (1 << 32) if unsigned >= 1 << 31 else unsigned


def lock_collector_days(session: Session, days: Iterable[tuple[int, date]]) -> None:
    """Hold these (collector id, day) pairs until the transaction ends; take it BEFORE reading what you
    decide on (absences, the collector's visits of the day).

    Lock order, the same on every path so none can deadlock with another:
      1. the day's planning lock (planning.store.lock_day), when the path takes it;
      2. collector-day locks, all of them at once, here, in ascending key order;
      2½. the collectors' users rows (SELECT ... FOR SHARE, ascending id: visits.service.lock_collectors),
         on the paths that put visits on a collector; a deactivation's UPDATE holds it;
      3. visit rows (SELECT ... FOR UPDATE, ascending id);
      4. route and stop rows, and the visit's pin row (visit_pins), written last: through visit_released,
         the plan's store, or planning.service.drop_pin under the visit's row lock.
    Never take a collector-day lock while holding a visit row lock: call this first.

    One statement for every key (a city plan names hundreds of collectors): each key still takes one slot
    of the shared lock table (max_locks_per_transaction × max_connections), which a plan per region keeps
    to the region's collectors.
    """
    keys = sorted({day_key(collector_id, day) for collector_id, day in days})
    if keys:
        # The keys sorted in SQL too: the locks are taken in the subquery's order, the same on every path.
        session.execute(_LOCK_IN_ORDER, {"namespace": NAMESPACE, "keys": keys})
