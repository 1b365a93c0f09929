"""Split a day into regions, each planned by its own job: N workers plan N regions at once.

A region is a cluster of the day: collectors grouped by where they start (equal shares, split
across the wider spread), each open visit with its nearest collector's region, a visit already
held by a collector with that collector. Or a dispatcher names the regions as sets of districts
(administrative codes, which the geocoder stores on every address): each visit goes to the region
of its address's district, each collector to the team the region names or else to the region
whose visits lie nearest their start. Regions share nothing, so their jobs never wait on each other's solver; only the
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


def plane(points: np.ndarray) -> np.ndarray:
    """Equirectangular coordinates: enough to tell near from far inside a country."""
    lat0 = math.radians(float(np.mean(points[:, 0]))) if len(points) else 0.0
    return np.column_stack([points[:, 0], points[:, 1] * math.cos(lat0)])


def cluster(points: np.ndarray, k: int) -> np.ndarray:
    """Return a region label per point: recursive bisection across the wider spread, so regions
    are compact and hold equal shares of points (k-means left 83 of 100 collectors in one region
    of a city whose collectors live mostly in the centre)."""
    k = max(1, min(k, len(points)))
    xy = plane(points)
    labels = np.zeros(len(xy), dtype=int)

    def split(idx: np.ndarray, parts: int, first: int) -> None:
        if parts == 1:
            labels[idx] = first
            return
        left = parts // 2
        axis = int(np.argmax(np.ptp(xy[idx], axis=0)))
        ordered = idx[np.argsort(xy[idx, axis], kind="stable")]
        cut = round(len(ordered) * left / parts)
        split(ordered[:cut], left, first)
        split(ordered[cut:], parts - left, first + left)

    split(np.arange(len(xy)), k, 0)
    return labels


def nearest_start(starts: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Index of the nearest start for each point."""
    both = plane(np.vstack([starts, points]))
    a, b = both[:len(starts)], both[len(starts):]
    return np.argmin(np.linalg.norm(b[:, None, :] - a[None], axis=2), axis=1)


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
    visits: list[list[int]] = [[] for _ in range(k)]
    # A visit whose address has no position yet goes to the first region, whose job reports it
    # unplanned (address_not_located); the others go with their nearest collector's region.
    located = [row for row in rows if row[-2] is not None]
    visits[0].extend(row[0] for row in rows if row[-2] is None)
    if located:
        nearest = nearest_start(starts, np.array([(lat, lon) for *_, lat, lon in located], dtype=float))
        for (vid, status, holder, *_), near in zip(located, nearest, strict=True):
            held = status == VisitStatus.ASSIGNED and holder in region_of
            visits[region_of[holder] if held else int(labels[near])].append(vid)
    members: list[list[int]] = [[] for _ in range(k)]
    for u in users:
        members[region_of[u.id]].append(u.id)
    return [{"name": f"region-{c + 1}", "collector_ids": members[c], "visit_ids": visits[c]} for c in range(k)]


def split_by_districts(session: Session, *, plan_date: date, collector_ids: list[int] | None,
                       visit_ids: list[int] | None, named: list[dict]) -> list[dict]:
    """Regions as the dispatcher named them. A visit whose district no region names (or whose address
    has no code yet) goes with its nearest collector, as in a cluster; a visit already held stays with
    its collector's region."""
    users = select_collectors(session, collector_ids)
    homes = {u.id: point_latlon(u.home) for u in users}
    region_of = {cid: k for k, region in enumerate(named) for cid in (region.get("collector_ids") or ())
                 if cid in homes}
    geometry = sa.func.geometry(CaseAddress.location)
    pool = pool_query(plan_date, [u.id for u in users], visit_ids).subquery()
    rows = session.execute(sa.select(pool.c.id, pool.c.status, pool.c.collector_id, CaseAddress.adcode,
                                     sa.func.ST_Y(geometry), sa.func.ST_X(geometry))
                           .join(CaseAddress, CaseAddress.id == pool.c.address_id).order_by(pool.c.id)).all()
    named_of = [_region_of_district(adcode, named) for _, _, _, adcode, _, _ in rows]
    _place_unlisted_collectors(users, homes, region_of, rows, named_of, len(named))
    members: list[list[int]] = [[] for _ in named]
    for cid, k in region_of.items():
        members[k].append(cid)
    visits: list[list[int]] = [[] for _ in named]
    placed = [cid for cid in region_of if homes.get(cid) is not None]
    starts = np.array([homes[cid] for cid in placed], dtype=float) if placed else None
    for (vid, status, holder, _adcode, lat, lon), region in zip(rows, named_of, strict=True):
        if status == VisitStatus.ASSIGNED and holder in region_of:
            region = region_of[holder]
        elif (region is None or not members[region]) and starts is not None and lat is not None:
            # No region names its district, or the region has nobody to send: the nearest collector's.
            region = region_of[placed[int(nearest_start(starts, np.array([(lat, lon)], dtype=float))[0])]]
        visits[region if region is not None else 0].append(vid)
    return [{"name": region["name"], "collector_ids": members[k], "visit_ids": visits[k]}
            for k, region in enumerate(named)]


def _region_of_district(adcode: str | None, named: list[dict]) -> int | None:
    """The first region naming the address's district, or a city/province containing it."""
    if not adcode:
        return None
    return next((k for k, region in enumerate(named) if any(adcode.startswith(code) for code in region["districts"])),
                None)


def _place_unlisted_collectors(users, homes: dict, region_of: dict, rows, named_of: list, count: int) -> None:
    """Collectors no region names join the region whose visits' middle lies nearest their start."""
    middles = []
    for k in range(count):
        points = [(lat, lon) for (*_, lat, lon), region in zip(rows, named_of, strict=True)
                  if region == k and lat is not None]
        middles.append(np.mean(np.array(points, dtype=float), axis=0) if points else None)
    known = [k for k in range(count) if middles[k] is not None]
    for u in users:
        if u.id in region_of:
            continue
        if homes[u.id] is None or not known:
            region_of[u.id] = known[0] if known else 0
            continue
        near = nearest_start(np.array([middles[k] for k in known]), np.array([homes[u.id]], dtype=float))
        region_of[u.id] = known[int(near[0])]
