"""A large day is split into regions, each its own job on the `planning` queue; one plan row gathers them."""
from __future__ import annotations

import random

import sqlalchemy as sa

from backend.auth.models import Role
from backend.jobs.models import BackgroundJob
from backend.planning.regions import cluster
from backend.policy.defaults import DEFAULTS
from tests.planning.conftest import assert_plan_sound
from tests.visits.conftest import plan_day

# Two towns 40 km apart, two collectors each.
TOWNS = [(30.66, 103.80), (30.66, 104.25)]


def test_regions_are_jobs_and_the_plan_row_gathers_them(client, as_role, plan, create_user, make_visit, session,
                                                        run_worker, monkeypatch):
    monkeypatch.setitem(DEFAULTS, "routing.sync_max_visits", 2)
    session.execute(sa.text("SELECT setval('background_jobs_id_seq', :n)"), {"n": random.randrange(10**9, 2 * 10**9)})
    towns = {}
    for k, (lat, lon) in enumerate(TOWNS):
        users = [create_user(Role.COLLECTOR, home={"lat": lat + d, "lon": lon}) for d in (0.0, 0.01)]
        visits = [make_visit(lat=lat + d, lon=lon + d) for d in (0.002, 0.004, 0.006)]
        towns[k] = ({u.id for u in users}, {v.id for v in visits})
    session.commit()
    response = plan(regions=2)
    assert response.status_code == 202
    plan_id = response.json["plan_id"]
    _, headers = as_role(Role.SUPERVISOR)
    row = client.get(f"/api/v1/routes/plans/{plan_id}", headers=headers).json
    assert (row["status"], len(row["regions"])) == ("queued", 2)
    jobs = [session.get(BackgroundJob, r["job_id"]) for r in row["regions"]]
    assert {j.queue for j in jobs} == {"planning"} and len({j.id for j in jobs}) == 2
    assert sorted((r["collectors"], r["visits"]) for r in row["regions"]) == [(2, 3), (2, 3)]
    run_worker()
    row = client.get(f"/api/v1/routes/plans/{plan_id}", headers=headers).json
    assert (row["status"], row["progress"]) == ("done", 1.0)
    assert all(r["status"] == "done" and r["solve_s"] is not None for r in row["regions"])
    added = {a["visit_id"]: c["collector_id"] for c in row["changes"] for a in c["added"]}
    for collectors, visits in towns.values():  # each town's visits went to that town's collectors
        assert set(visits) <= set(added) and {added[v] for v in visits} <= collectors
    assert assert_plan_sound(session, plan_day()) == 6


def test_cluster_separates_far_groups():
    import numpy as np

    points = np.array([[30.0, 104.0], [30.01, 104.0], [31.0, 105.0], [31.01, 105.02]])
    labels = cluster(points, 2)
    assert labels[0] == labels[1] != labels[2] == labels[3]


# Two districts of Chengdu by their administrative codes, with a team each, and one visit whose
# address has no code yet (it goes with the nearest collector).
WUHOU, JINJIANG = "510107", "510104"


def _located(make_visit, session, lat, lon, adcode):
    visit = make_visit(lat=lat, lon=lon)
    visit.address.adcode = adcode
    session.flush()
    return visit


def test_named_district_regions_are_jobs_with_their_districts_visits(client, as_role, plan, create_user,
                                                                      make_visit, session, run_worker):
    session.execute(sa.text("SELECT setval('background_jobs_id_seq', :n)"), {"n": random.randrange(10**9, 2 * 10**9)})
    west = [create_user(Role.COLLECTOR, home={"lat": 30.64, "lon": 104.03}) for _ in range(2)]
    east = [create_user(Role.COLLECTOR, home={"lat": 30.66, "lon": 104.10})]
    wuhou = [_located(make_visit, session, 30.640 + d, 104.035, WUHOU) for d in (0.002, 0.004)]
    jinjiang = [_located(make_visit, session, 30.655 + d, 104.095, JINJIANG) for d in (0.002, 0.004)]
    unknown = _located(make_visit, session, 30.661, 104.101, None)  # nearest the east team
    session.commit()
    response = plan(district_regions=[
        {"name": "武侯", "districts": [WUHOU], "collector_ids": [u.id for u in west]},
        {"name": "锦江", "districts": [JINJIANG]}])  # no team named: its collectors are the ones nearest
    assert response.status_code == 202, response.json
    _, headers = as_role(Role.SUPERVISOR)
    row = client.get(f"/api/v1/routes/plans/{response.json['plan_id']}", headers=headers).json
    regions = {r["name"]: r for r in row["regions"]}
    assert {name: (r["collectors"], r["visits"]) for name, r in regions.items()} == {"武侯": (2, 2), "锦江": (1, 3)}
    jobs = {name: session.get(BackgroundJob, r["job_id"]) for name, r in regions.items()}
    assert set(jobs["武侯"].args["visit_ids"]) == {v.id for v in wuhou}
    assert set(jobs["锦江"].args["visit_ids"]) == {v.id for v in jinjiang} | {unknown.id}
    assert jobs["锦江"].args["collector_ids"] == [east[0].id]
    run_worker()
    row = client.get(f"/api/v1/routes/plans/{response.json['plan_id']}", headers=headers).json
    assert row["status"] == "done"
    added = {a["visit_id"]: c["collector_id"] for c in row["changes"] for a in c["added"]}
    assert {added[v.id] for v in wuhou} <= {u.id for u in west}
    assert {added[v.id] for v in [*jinjiang, unknown]} == {east[0].id}


def test_district_regions_are_checked(plan):
    both = plan(regions=2, district_regions=[{"name": "a", "districts": ["510107"]}])
    assert both.status_code == 422 and "district_regions" in both.json["error"]["fields"]
    twice = plan(district_regions=[{"name": "a", "districts": ["510107"]}, {"name": "a", "districts": ["510104"]}])
    assert twice.status_code == 422 and "district_regions" in twice.json["error"]["fields"]
    bad = plan(district_regions=[{"name": "a", "districts": ["Wuhou"]}])
    assert bad.status_code == 422 and "district_regions" in str(bad.json["error"]["fields"])


def test_a_visit_whose_address_has_no_position_yet_is_reported_not_a_500(client, as_role, plan, create_user,
                                                                         make_visit, session, run_worker):
    """Text-only addresses wait for the geocoder: a split plan sends such a visit to one region, whose
    job reports it unplanned (address_not_located); neither splitter trips over the missing position."""
    session.execute(sa.text("SELECT setval('background_jobs_id_seq', :n)"), {"n": random.randrange(10**9, 2 * 10**9)})
    for lat, lon in TOWNS:
        create_user(Role.COLLECTOR, home={"lat": lat, "lon": lon})
        make_visit(lat=lat + 0.002, lon=lon + 0.002)
    pending = make_visit()
    pending.address.location, pending.address.geocode_status = None, "pending"
    session.commit()
    _, headers = as_role(Role.SUPERVISOR)
    for split in ({"regions": 2}, {"district_regions": [{"name": "a", "districts": ["5101"]},
                                                         {"name": "b", "districts": ["5102"]}]}):
        response = plan(**split)
        assert response.status_code == 202, response.json
        run_worker()
        row = client.get(f"/api/v1/routes/plans/{response.json['plan_id']}", headers=headers).json
        assert row["status"] == "done"
        assert sum(r["visits"] for r in row["regions"]) == 3
        removed = {r["visit_id"]: r["reason"] for c in row["changes"] for r in c["removed"]}
        job = session.get(BackgroundJob, row["regions"][0]["job_id"])
        assert pending.id in job.args["visit_ids"]
        assert removed.get(pending.id, "address_not_located") == "address_not_located"
