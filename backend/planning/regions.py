"""Split a day into regions, each planned by its own job: N workers plan N regions at once.

A region is a cluster of the day: collectors grouped by where they start (k-means on home
points), each open visit with the nearest group, a visit already held by a collector with that
collector. Regions share nothing, so their jobs never wait on each other's solver; only the
short store step is one at a time per day (lock_day).
"""
from __future__ import annotations

import math
from datetime import date

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.cases.models import CaseAddress
from backend.geo import point_latlon
from backend.planning.inputs import pool_query, select_collectors
from backend.visits.models import VisitStatus

LLOYD_ROUNDS = 20


def _plane(points: np.ndarray) -> np.ndarray:
    """Equirectangular metres-ish: enough to tell near from far inside a country."""
    lat0 = math.radians(float(np.mean(points[:, 0]))) if len(points) else 0.0
    return np.column_stack([points[:, 0], points[:, 1] * math.cos(lat0)])


def cluster(points: np.ndarray, k: int) -> np.ndarray:
    """Return a cluster label per point: k-means from farthest-point seeds (deterministic)."""
    k = max(1, min(k, len(points)))
    xy = _plane(points)
    centres = [xy[0]]
    for _ in range(1, k):
        gap = np.min(np.linalg.norm(xy[:, None, :] - np.array(centres)[None], axis=2), axis=1)
        centres.append(xy[int(np.argmax(gap))])
    centres = np.array(centres)
    labels = np.zeros(len(xy), dtype=int)
    for _ in range(LLOYD_ROUNDS):
        labels = np.argmin(np.linalg.norm(xy[:, None, :] - centres[None], axis=2), axis=1)
        moved = np.array([xy[labels == c].mean(axis=0) if np.any(labels == c) else centres[c] for c in range(k)])
        if np.allclose(moved, centres):
            break
        centres = moved
    return labels


def split_regions(session: Session, *, plan_date: date, collector_ids: list[int] | None,
                  visit_ids: list[int] | None, count: int) -> list[dict]:
    """Return regions as {"name", "collector_ids", "visit_ids"}; collectors without a home join the first."""
    users = select_collectors(session, collector_ids)
    homes = {u.id: point_latlon(u.home) for u in users}
    placed = [u.id for u in users if homes[u.id] is not None]
    if not placed:
        return [{"name": "region-1", "collector_ids": [u.id for u in users], "visit_ids": visit_ids}]
    starts = np.array([homes[cid] for cid in placed], dtype=float)
    labels = cluster(starts, count)
    k = int(labels.max()) + 1
    region_of = {cid: int(label) for cid, label in zip(placed, labels, strict=True)}
    for u in users:
        region_of.setdefault(u.id, 0)
    geometry = sa.func.geometry(CaseAddress.location)
    pool = pool_query(plan_date, [u.id for u in users], visit_ids).subquery()
    rows = session.execute(sa.select(pool.c.id, pool.c.status, pool.c.collector_id, sa.func.ST_Y(geometry),
                                     sa.func.ST_X(geometry))
                           .join(CaseAddress, CaseAddress.id == pool.c.address_id).order_by(pool.c.id)).all()
    centres = _plane(np.array([starts[labels == c].mean(axis=0) for c in range(k)]))
    visits: list[list[int]] = [[] for _ in range(k)]
    if rows:
        xy = _plane(np.array([(lat, lon) for *_, lat, lon in rows], dtype=float))
        nearest = np.argmin(np.linalg.norm(xy[:, None, :] - centres[None], axis=2), axis=1)
        for (vid, status, holder, *_), near in zip(rows, nearest, strict=True):
            held = status == VisitStatus.ASSIGNED and holder in region_of
            visits[region_of[holder] if held else int(near)].append(vid)
    members: list[list[int]] = [[] for _ in range(k)]
    for u in users:
        members[region_of[u.id]].append(u.id)
    return [{"name": f"region-{c + 1}", "collector_ids": members[c], "visit_ids": visits[c]} for c in range(k)]
