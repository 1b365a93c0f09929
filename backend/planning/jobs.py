"""Large plans run on the `planning` queue; the job stores the routes and returns the plan."""
from __future__ import annotations

import math
import time
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.extensions import db
from backend.jobs.service import create_job, submit_job
from backend.planning.inputs import load_plan_inputs, routing_settings
from backend.planning.models import RoutePlan
from backend.planning.regions import split_by_districts, split_regions
from backend.planning.schemas import PlanSchema
from backend.planning.service import solve_plan
from backend.planning.store import store_plan

# Share of the job's progress bar before the solver starts and after it stops.
LOAD_SHARE, SOLVE_SHARE = 0.05, 0.9


def plan_routes_job(*, plan_date: str, collector_ids: list[int] | None, visit_ids: list[int] | None,
                    actor_id: int | None, progress, time_limit_s: float | None = None,
                    keep_assignments: bool = True, plan_id: int | None = None, region: str | None = None) -> dict:
    """Read the day, solve without holding a database connection, then store the routes. time_limit_s:
    this plan's own solver budget (default `routing.time_limit_s`); plan_id and region: the plan row
    and the region this job reports to."""
    inputs = load_plan_inputs(db.session, plan_date=date.fromisoformat(plan_date), collector_ids=collector_ids,
                              visit_ids=visit_ids, actor_id=actor_id)
    db.session.commit()  # ends the read transaction: the solver may run for minutes
    started = time.perf_counter()
    progress(LOAD_SHARE, {"visits": len(inputs.tasks), "collectors": len(inputs.collectors)}, force=True)
    out = solve_plan(inputs, time_limit_s=time_limit_s or routing_settings()["time_limit_s"],
                     progress=lambda share: progress(LOAD_SHARE + SOLVE_SHARE * share),
                     keep_assignments=keep_assignments)
    solve_s = time.perf_counter() - started
    plan = store_plan(db.session, inputs, out.result, actor_id=actor_id, moves=out.moves)
    _region_done(plan_id, region, solve_s=solve_s, changes=plan["changes"])
    db.session.commit()
    return {**PlanSchema().dump({**plan, "plan_id": plan_id}), "stats": {"routes": len(plan["routes"]), "unassigned": len(plan["unassigned"]),
                              "visits_assigned": sum(len(r["stops"]) for r in plan["routes"])}}



def _region_done(plan_id: int | None, region: str | None, *, solve_s: float, changes: list[dict]) -> None:
    """Record a region's solver time and changes on the plan row (locked: regions finish together)."""
    if plan_id is None:
        return
    row = db.session.scalar(sa.select(RoutePlan).where(RoutePlan.id == plan_id).with_for_update())
    if row is None:
        return
    row.regions = [{**r, "solve_s": round(solve_s, 3)} if r["name"] == region else r for r in row.regions]
    row.changes = [*row.changes, *changes]


def submit_plan(session: Session, *, plan_date: date, collector_ids: list[int] | None, visit_ids: list[int] | None,
                actor_id: int | None, time_limit_s: float | None, keep_assignments: bool,
                regions: int | None = None, pool_size: int | None = None,
                district_regions: list[dict] | None = None) -> dict:
    """Create the plan row and one job per region on the `planning` queue; return their ids.

    Without `regions`, a day splits once it has more than routing.region_max_visits visits.
    """
    settings = routing_settings()
    limit = time_limit_s or settings["time_limit_s"]
    count = regions or max(1, math.ceil((pool_size or 0) / settings["region_max_visits"]))
    whole = [{"name": "region-1", "collector_ids": collector_ids, "visit_ids": visit_ids}]
    if district_regions:
        parts = split_by_districts(session, plan_date=plan_date, collector_ids=collector_ids, visit_ids=visit_ids,
                                   named=district_regions)
    else:
        parts = (split_regions(session, plan_date=plan_date, collector_ids=collector_ids, visit_ids=visit_ids,
                               count=count) if count > 1 else whole)
    # An empty list would mean "every visit" or "every collector": such a region has nothing to plan.
    parts = [p for p in parts if p["visit_ids"] != [] and p["collector_ids"] != []] or whole
    row = RoutePlan(plan_date=plan_date, status="queued", progress=0.0, time_limit_s=limit, regions=[], changes=[],
                    created_by_id=actor_id)
    session.add(row)
    session.flush()
    entries, job_ids = [], []
    for part in parts:
        job = create_job(session, kind="route_plan", queue="planning", func="backend.planning.jobs.plan_routes_job",
                         args={"plan_date": plan_date.isoformat(), "collector_ids": part["collector_ids"],
                               "visit_ids": part["visit_ids"], "actor_id": actor_id, "time_limit_s": limit,
                               "keep_assignments": keep_assignments, "plan_id": row.id, "region": part["name"]},
                         created_by_id=actor_id)
        job_ids.append(job.id)
        entries.append({"name": part["name"], "job_id": job.id,
                        "collectors": len(part["collector_ids"] or ()), "visits": len(part["visit_ids"] or ()),
                        "solve_s": None})
    row.regions = entries
    session.flush()
    for job_id in job_ids:
        submit_job(session, job_id)
    return {"plan_id": row.id, "job_ids": job_ids}
