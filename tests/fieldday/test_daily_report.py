"""GET /reports/collectors/daily: each collector's day in figures, as JSON and as CSV."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

from backend.auth.models import Role
from backend.timeutil import utcnow
from backend.visits.models import VisitStatus
from tests.factories import CENTRE
from tests.fieldday.conftest import assigned_hours_ago, post_outcome
from tests.visits.conftest import daytime_zone

REPORT = "/api/v1/reports/collectors/daily"
KM_NORTH = 1 / 111.195  # one kilometre of latitude


def _today(user):
    return utcnow().astimezone(ZoneInfo(user.timezone)).date()


def _day_of_reports(client, session, make_visit, outcome_body, user, headers):
    zone = daytime_zone(14)
    now = utcnow()
    visits = [make_visit(VisitStatus.ASSIGNED, collector=user, case_fields={"timezone": zone}, lat=CENTRE[0] + k * KM_NORTH)
              for k in range(3)]
    assigned_hours_ago(session, visits)
    bodies = [outcome_body("paid", payment={"amount": "300.50", "receipt_no": "R-1"}, recorded_at=now - timedelta(minutes=40)),
              outcome_body("promise_to_pay", lat=CENTRE[0] + KM_NORTH, recorded_at=now - timedelta(minutes=20),
                           promise={"amount": "1000", "due_date": (now + timedelta(days=7)).date().isoformat()}),
              outcome_body("not_home", lat=CENTRE[0] + 2 * KM_NORTH + 0.01, recorded_at=now)]  # ~1.1 km off site
    for visit, body in zip(visits, bodies, strict=True):
        assert post_outcome(client, visit, body, headers).status_code == 201


def test_a_collectors_day_in_figures(client, session, collector, as_role, make_visit, outcome_body, supervisor, store_route):
    user, headers = collector
    _day_of_reports(client, session, make_visit, outcome_body, user, headers)
    store_route(user, _today(user), [], distance_m=12_345)
    response = client.get(f"{REPORT}?date={_today(user).isoformat()}&collector_id={user.id}", headers=supervisor[1])
    assert response.status_code == 200
    [row] = response.json["items"]
    assert (row["visits_done"], row["visits_failed"], row["promises"], row["payments"]) == (2, 1, 1, 1)
    assert (row["paid_amount"], row["promised_amount"]) == ("300.50", "1000")
    assert row["on_site_rate"] == round(2 / 3, 3)
    assert 3.0 < row["km_travelled"] < 3.5  # 1 km + ~1 km + the last leg, through the reports in time order
    assert row["km_planned"] == 12.35
    assert row["flags"] == {"off_site": 1}


def test_the_same_day_as_csv(client, session, collector, make_visit, outcome_body, as_role):
    user, headers = collector
    _day_of_reports(client, session, make_visit, outcome_body, user, headers)
    response = client.get(f"{REPORT}?date={_today(user).isoformat()}&format=csv", headers=as_role(Role.DISPATCHER)[1])
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    [mine] = [r for r in rows if r["collector_id"] == str(user.id)]
    assert (mine["visits_done"], mine["payments"], mine["flags"]) == ("2", "1", "off_site=1")


def test_a_day_without_work_is_empty_and_bad_input_is_422(client, supervisor, collector):
    assert client.get(f"{REPORT}?date=2001-01-01", headers=supervisor[1]).json["items"] == []
    assert client.get(REPORT, headers=supervisor[1]).status_code == 422
    assert "format" in client.get(f"{REPORT}?date=2026-01-01&format=xls", headers=supervisor[1]).json["error"]["fields"]
    assert client.get(f"{REPORT}?date=2026-01-01", headers=collector[1]).status_code == 403
