"""Large plans run on the `planning` queue; the job stores the routes and returns the plan."""
from __future__ import annotations

from datetime import date

from backend.extensions import db
from backend.planning.inputs import load_plan_inputs, routing_settings
from backend.planning.schemas import PlanSchema
from backend.planning.service import solve_plan
from backend.planning.store import store_plan

# Share of the job's progress bar before the solver starts and after it stops.
LOAD_SHARE, SOLVE_SHARE = 0.05, 0.9


def plan_routes_job(*, plan_date: str, collector_ids: list[int] | None, visit_ids: list[int] | None,
                    actor_id: int | None, progress, time_limit_s: float | None = None) -> dict:
    """Read the day, solve without holding a database connection, then store the routes. time_limit_s:
    this plan's own solver budget (default `routing.time_limit_s`)."""
    inputs = load_plan_inputs(db.session, plan_date=date.fromisoformat(plan_date), collector_ids=collector_ids,
                              visit_ids=visit_ids, actor_id=actor_id)
    db.session.commit()  # ends the read transaction: the solver may run for minutes
    progress(LOAD_SHARE, {"visits": len(inputs.tasks), "collectors": len(inputs.collectors)}, force=True)
    result = solve_plan(inputs, time_limit_s=time_limit_s or routing_settings()["time_limit_s"],
                        progress=lambda share: progress(LOAD_SHARE + SOLVE_SHARE * share))
    plan = store_plan(db.session, inputs, result, actor_id=actor_id)
    db.session.commit()
    return {**PlanSchema().dump(plan), "stats": {"routes": len(plan["routes"]), "unassigned": len(plan["unassigned"]),
                              "visits_assigned": sum(len(r["stops"]) for r in plan["routes"])}}
