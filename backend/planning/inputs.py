"""Turn the day's collectors and open visits into the route solver's plain inputs.

The solver counts time in seconds from one origin. Collectors and debtors may live in different
timezones, so every local rule (shift, lawful hours, the visit's own window) is first made an
absolute instant and then measured from the origin.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.models import Role, User
from backend.cases.models import NOT_LOCATED_PRECISIONS, Case, CaseAddress
from backend.errors import InvalidInput, NotFound
from backend.geo import point_latlon
from backend.planning.models import Route, RouteStop
from backend.policy.hours import VISIT, lawful_windows
from backend.policy.service import default_policy, get_policy
from backend.routing.schedule import Collector, VisitTask
from backend.routing.stability import Standing
from backend.safety.lodgings import lodging_start_for
from backend.timeutil import utcnow
from backend.visits.hazards import active_hazards
from backend.visits.models import Visit, VisitPin, VisitStatus
from backend.visits.service import absent_collector_ids
from backend.visits.states import FIXED, PLANNABLE

ADDRESS_NOT_LOCATED = "address_not_located"
NOT_LOCATED = frozenset(p.value for p in NOT_LOCATED_PRECISIONS)

# Fixed visits are history: any time of the day fits them.
ANY_TIME = 10**7


@dataclass
class PlanInputs:
    plan_date: date
    origin: datetime  # instant of solver time 0
    collectors: list[Collector]
    tasks: list[VisitTask]
    unplannable: list[tuple[int, str]] = field(default_factory=list)
    skipped_collectors: list[tuple[int, str]] = field(default_factory=list)
    planned_collector_ids: list[int] = field(default_factory=list)
    # Each visit's updated_at when read: a visit changed while the solver ran is not stored.
    seen: dict[int, datetime] = field(default_factory=dict)
    # The day's stored routes (who holds what, in order) and the dispatcher's pins.
    standing: Standing = field(default_factory=Standing)

    def at(self, seconds: int) -> datetime:
        """Return the instant `seconds` after the origin."""
        return self.origin + timedelta(seconds=int(seconds))


def origin_of(day: date) -> datetime:
    """Solver time 0: before local midnight in every timezone (UTC+14 is the earliest)."""
    return datetime.combine(day, time(0), UTC) - timedelta(hours=14)


def _seconds(origin: datetime, moment: datetime) -> int:
    return int((moment - origin).total_seconds())


def select_collectors(session: Session, collector_ids: list[int] | None) -> list[User]:
    """Return the active collectors to plan for: the ones named (checked) or all of them."""
    if not collector_ids:
        return list(session.scalars(sa.select(User).where(User.role == Role.COLLECTOR, User.active.is_(True))
                                    .order_by(User.id)))
    users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(collector_ids)))}
    unknown = [i for i in collector_ids if i not in users]
    if unknown:
        raise NotFound("collector", unknown[0], field="collector_ids")
    wrong = [i for i in collector_ids if users[i].role is not Role.COLLECTOR or not users[i].active]
    if wrong:
        raise InvalidInput("collector_ids", f"user {wrong[0]} is not an active collector")
    return [users[i] for i in dict.fromkeys(collector_ids)]


def pool_query(plan_date: date, collector_ids: list[int], visit_ids: list[int] | None) -> sa.Select:
    """Visits this plan may place: the ones named, or every unassigned open one; plus the planned
    collectors' not-yet-started visits of the day."""
    own_today = sa.and_(Visit.status == VisitStatus.ASSIGNED, Visit.collector_id.in_(collector_ids),
                        Visit.scheduled_date == plan_date)
    if visit_ids:
        chosen = sa.and_(Visit.id.in_(visit_ids), Visit.status.in_(PLANNABLE))
    else:
        # A collector who can no longer work (deactivated) leaves their day's visits to this plan.
        unavailable = sa.select(User.id).where(User.active.is_(False))
        chosen = sa.or_(Visit.status.in_((VisitStatus.REQUESTED, VisitStatus.SCHEDULED)),
                        sa.and_(Visit.status == VisitStatus.ASSIGNED, Visit.scheduled_date == plan_date,
                                Visit.collector_id.in_(unavailable)))
    return sa.select(Visit).where(sa.or_(chosen, own_today))


def check_visit_ids(session: Session, visit_ids: list[int] | None) -> list[tuple[int, str]]:
    """404 for an unknown id; return (id, status) of named visits the planner may not place."""
    if not visit_ids:
        return []
    found = dict(session.execute(sa.select(Visit.id, Visit.status).where(Visit.id.in_(visit_ids))).all())
    unknown = [i for i in visit_ids if i not in found]
    if unknown:
        raise NotFound("visit", unknown[0], field="visit_ids")
    return [(i, found[i].value) for i in dict.fromkeys(visit_ids) if found[i] not in PLANNABLE]


def count_pool(session: Session, *, plan_date: date, collector_ids: list[int] | None,
               visit_ids: list[int] | None) -> int:
    """How many visits a plan would consider (checks the ids it is given)."""
    collectors = select_collectors(session, collector_ids)
    check_visit_ids(session, visit_ids)
    query = pool_query(plan_date, [c.id for c in collectors], visit_ids)
    return session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def _start_point(session: Session, user: User, plan_date: date, actor_id: int | None) -> tuple[float, float] | None:
    """Where the collector's day starts: the night's lodging when declared (never shown), else home."""
    lodging = lodging_start_for(session, user.id, plan_date, actor_id=actor_id)
    return tuple(lodging) if lodging is not None else point_latlon(user.home)


def _collector(session: Session, user: User, inputs: PlanInputs, fixed: tuple[int, ...],
               actor_id: int | None) -> Collector | None:
    start = _start_point(session, user, inputs.plan_date, actor_id)
    if start is None:
        inputs.skipped_collectors.append((user.id, "no_start_location"))
        return None
    zone = ZoneInfo(user.timezone)
    shift_start = datetime.combine(inputs.plan_date, user.shift_start, zone)
    shift_end = datetime.combine(inputs.plan_date, user.shift_end, zone)
    return Collector(id=user.id, lat=start[0], lon=start[1],
                     shift_start_s=_seconds(inputs.origin, shift_start),
                     shift_end_s=_seconds(inputs.origin, shift_end), max_visits=user.max_visits_per_day,
                     skills=frozenset(user.skills or ()), team_size=user.team_size, fixed_visit_ids=fixed)


def priority_of(visit: Visit, case: Case, plan_date: date, policy) -> float:
    """Weigh a visit: its own priority, how near or past its due date, the arrears, days past due."""
    days_left = (visit.due_by.date() - plan_date).days
    urgency = max(1, policy["visits.due_days"] + 1 - days_left)
    value = 1 + math.log10(1 + float(case.amount_due) / policy["routing.priority_amount_scale"])
    lateness = 1 + case.days_past_due / policy["routing.priority_dpd_scale"]
    return round(visit.priority * urgency * value * lateness, 4)


def visit_windows(visit: Visit, case: Case, inputs: PlanInputs, policy, service_s: int,
                  now: datetime) -> list[tuple[int, int]]:
    """Arrival windows: lawful hours (finishing before quiet hours), the visit's own window, not past."""
    windows = []
    for lo, hi in lawful_windows(inputs.plan_date, case.timezone, policy, VISIT):
        lo, hi = max(lo, now), hi - timedelta(seconds=service_s)
        if visit.window_start is not None:
            lo = max(lo, visit.window_start)
        if visit.window_end is not None:
            hi = min(hi, visit.window_end)
        opens = math.ceil((lo - inputs.origin).total_seconds())  # never a fraction of a second early
        if opens <= _seconds(inputs.origin, hi):
            windows.append((opens, _seconds(inputs.origin, hi)))
    return windows


def _pool_rows(session: Session, query: sa.Select):
    geometry = sa.func.geometry(CaseAddress.location)
    return session.execute(query.add_columns(Case, sa.func.ST_Y(geometry), sa.func.ST_X(geometry),
                                             CaseAddress.precision)
                           .join(Case, Case.id == Visit.case_id)
                           .join(CaseAddress, CaseAddress.id == Visit.address_id).order_by(Visit.id)).all()


def load_plan_inputs(session: Session, *, plan_date: date, collector_ids: list[int] | None = None,
                     visit_ids: list[int] | None = None, actor_id: int | None = None,
                     now: datetime | None = None) -> PlanInputs:
    """Read collectors and visits for a plan and translate them for the solver."""
    now = now or utcnow()
    inputs = PlanInputs(plan_date=plan_date, origin=origin_of(plan_date), collectors=[], tasks=[])
    inputs.unplannable = check_visit_ids(session, visit_ids)
    users = select_collectors(session, collector_ids)
    absent = absent_collector_ids(session, plan_date)
    inputs.skipped_collectors += [(u.id, "absent") for u in users if u.id in absent]
    users = [u for u in users if u.id not in absent]
    user_ids = [u.id for u in users]
    fixed_rows = _pool_rows(session, sa.select(Visit).where(
        Visit.collector_id.in_(user_ids), Visit.scheduled_date == plan_date, Visit.status.in_(FIXED)))
    # History in the order it happened: finished visits by end time, the one under way last.
    fixed_rows.sort(key=lambda r: (r[0].status is VisitStatus.IN_PROGRESS, r[0].finished_at or r[0].started_at
                                   or r[0].updated_at))
    fixed_by = {}
    for visit, *_ in fixed_rows:
        fixed_by.setdefault(visit.collector_id, []).append(visit.id)
    for user in users:
        collector = _collector(session, user, inputs, tuple(fixed_by.get(user.id, ())), actor_id)
        if collector is not None:
            inputs.collectors.append(collector)
    inputs.planned_collector_ids = [c.id for c in inputs.collectors]
    pool = _pool_rows(session, pool_query(plan_date, inputs.planned_collector_ids, visit_ids))
    hazards = active_hazards(session, [v.address_id for v, *_ in pool])
    policies: dict[int, object] = {}
    for visit, case, lat, lon, _ in fixed_rows:
        if visit.collector_id in inputs.planned_collector_ids and lat is not None:
            service_s = _policy(session, policies, case)["routing.service_minutes"] * 60
            inputs.tasks.append(VisitTask(visit.id, lat, lon, service_s, [(0, ANY_TIME)], 1.0))
    for visit, case, lat, lon, precision in pool:
        inputs.seen[visit.id] = visit.updated_at
        if lat is None or precision in NOT_LOCATED:
            # Only well-located addresses are routed: a district's centroid is not a door.
            inputs.unplannable.append((visit.id, ADDRESS_NOT_LOCATED))
            continue
        policy = _policy(session, policies, case)
        service_s = policy["routing.service_minutes"] * 60
        windows = visit_windows(visit, case, inputs, policy, service_s, now)
        if not windows:
            inputs.unplannable.append((visit.id, "no_lawful_window_on_date"))
            continue
        two = visit.requires_two or any(f.requires_two for f in hazards.get(visit.address_id, ()))
        inputs.tasks.append(VisitTask(
            visit.id, lat, lon, service_s, windows, priority_of(visit, case, plan_date, policy),
            required_skills=frozenset(visit.required_skills or ()), min_team=2 if two else 1))
    inputs.standing = load_standing(session, plan_date, [t.id for t in inputs.tasks])
    return inputs


def load_standing(session: Session, plan_date: date, visit_ids: list[int]) -> Standing:
    """The day's stored routes (open stops, in order, every collector) and the pins of these visits."""
    from_routes = session.execute(sa.select(Route.collector_id, RouteStop.visit_id)
                                  .join(RouteStop, RouteStop.route_id == Route.id)
                                  .where(Route.plan_date == plan_date, RouteStop.fixed.is_(False))
                                  .order_by(Route.collector_id, RouteStop.sequence)).all()
    standing = Standing()
    for collector_id, visit_id in from_routes:
        standing.order.setdefault(collector_id, []).append(visit_id)
    if visit_ids:
        for pin in session.scalars(sa.select(VisitPin).where(VisitPin.visit_id.in_(visit_ids))):
            standing.pins[pin.visit_id] = (pin.collector_id, pin.position)
    return standing


def _policy(session: Session, cache: dict, case: Case):
    if case.portfolio_id not in cache:
        cache[case.portfolio_id] = get_policy(session, case.portfolio_id)
    return cache[case.portfolio_id]


def routing_settings() -> dict:
    """Agency-wide routing numbers: detour factor, speed, time budgets, the sync threshold."""
    policy = default_policy()
    return {"detour_factor": policy["routing.detour_factor"], "speed_mps": policy["routing.speed_kmh"] / 3.6,
            "time_limit_s": policy["routing.time_limit_s"], "sync_time_limit_s": policy["routing.sync_time_limit_s"],
            "sync_max_visits": policy["routing.sync_max_visits"], "max_time_limit_s": policy["routing.max_time_limit_s"],
            "move_cost_m": policy["routing.move_cost_m"], "region_max_visits": policy["routing.region_max_visits"]}
