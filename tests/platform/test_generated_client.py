"""A client generated from /api/v1/openapi.json in the test run (openapi-python-client) logs in, reads
the day's route and reports a visit outcome against a real HTTP server: what a mobile developer does.

The server is the test app behind werkzeug's server in a thread, on a loopback port; data is committed
(the `committed` fixture truncates afterwards) because the server's requests use their own connections.
"""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
import threading
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from werkzeug.serving import make_server

from backend.auth.models import Role
from backend.auth.service import create_user
from backend.cases.models import AddressKind, Case, CaseAddress
from backend.geo import make_point
from backend.policy.service import ensure_default_portfolio
from backend.timeutil import utcnow
from backend.visits.models import VisitStatus
from backend.visits.requests import request_visit
from tests.factories import CENTRE
from tests.visits.conftest import daytime_zone, new_key, plan_day

PACKAGE = "fieldtrace_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture(scope="module")
def server(app):
    """The app on a real socket; yields its base URL."""
    http = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(10)


@pytest.fixture(scope="module")
def generated(server, tmp_path_factory):
    """Generate the client package from the live document (once for this module) and import it."""
    tmp_path = tmp_path_factory.mktemp("client")
    document = httpx.get(f"{server}/api/v1/openapi.json").raise_for_status().json()
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(document))
    config = tmp_path / "generator.yml"
    config.write_text("project_name_override: fieldtrace-client\npackage_name_override: fieldtrace_client\n"
                      "post_hooks: []\n")
    result = subprocess.run([str(GENERATOR), "generate", "--path", str(spec), "--output-path",
                             str(tmp_path / PACKAGE), "--meta", "none", "--config", str(config)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))
    importlib.invalidate_caches()
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.fixture
def field_day(committed):
    """A collector with a password and a visit assigned to them, committed."""
    user = create_user(committed, username="phone-user", password="correct-horse", name="Phone", region="CN",
                       role=Role.COLLECTOR, home={"lat": CENTRE[0], "lon": CENTRE[1]})
    case = Case(external_ref="C-client", portfolio_id=ensure_default_portfolio(committed).id, debtor_name="Debtor",
                amount_due=Decimal("100.00"), currency="CNY", days_past_due=30, timezone=daytime_zone(14))
    committed.add(case)
    committed.flush()
    committed.add(CaseAddress(case_id=case.id, kind=AddressKind.HOME, text="addr", location=make_point(*CENTRE)))
    committed.flush()
    visit = request_visit(committed, case_id=case.id, kind="confirm")
    day = plan_day()
    visit.status, visit.collector_id, visit.scheduled_date = VisitStatus.ASSIGNED, user.id, day
    committed.commit()
    return visit.id, day


def test_generated_client_logs_in_reads_the_route_and_reports_an_outcome(generated, server, field_day):
    visit_id, day = field_day
    models = importlib.import_module(f"{PACKAGE}.models")
    log_in = importlib.import_module(f"{PACKAGE}.api.auth.log_in")
    get_my_route = importlib.import_module(f"{PACKAGE}.api.planning.get_my_route")
    report_visit_outcome = importlib.import_module(f"{PACKAGE}.api.visits.report_visit_outcome")

    token = log_in.sync(client=generated.Client(base_url=server),
                        body=models.TokenRequest(username="phone-user", password="correct-horse"))
    assert isinstance(token, models.Token)
    assert token.role == "collector"

    phone = generated.AuthenticatedClient(base_url=server, token=token.access_token)
    route = get_my_route.sync(client=phone, date=day)
    assert isinstance(route, models.MeRoute)
    assert route.date == day

    body = models.OutcomeIn(outcome=models.OutcomeInOutcome.MET_DEBTOR, recorded_at=utcnow(), lat=CENTRE[0],
                            lon=CENTRE[1], accuracy_m=10.0)
    key = new_key()
    first = report_visit_outcome.sync_detailed(client=phone, visit_id=visit_id, body=body, idempotency_key=key)
    again = report_visit_outcome.sync_detailed(client=phone, visit_id=visit_id, body=body, idempotency_key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert isinstance(first.parsed, models.OutcomeOut)
    assert (first.parsed.visit_id, first.parsed.outcome, first.parsed.visit_status) == (visit_id, "met_debtor", "done")
    assert again.parsed.id == first.parsed.id


def test_generated_client_reads_refusals_as_the_error_shape(generated, server, field_day):
    visit_id, _ = field_day
    models = importlib.import_module(f"{PACKAGE}.models")
    log_in = importlib.import_module(f"{PACKAGE}.api.auth.log_in")
    report_visit_outcome = importlib.import_module(f"{PACKAGE}.api.visits.report_visit_outcome")

    refused = log_in.sync_detailed(client=generated.Client(base_url=server),
                                   body=models.TokenRequest(username="phone-user", password="wrong"))
    assert refused.status_code == 401
    assert isinstance(refused.parsed, models.Error)
    assert refused.parsed.error.code == "unauthorized"

    token = log_in.sync(client=generated.Client(base_url=server),
                        body=models.TokenRequest(username="phone-user", password="correct-horse"))
    phone = generated.AuthenticatedClient(base_url=server, token=token.access_token)
    body = models.OutcomeIn(outcome=models.OutcomeInOutcome.MET_DEBTOR, recorded_at=utcnow(), lat=CENTRE[0],
                            lon=CENTRE[1])
    missing = report_visit_outcome.sync_detailed(client=phone, visit_id=visit_id + 1000, body=body,
                                                 idempotency_key=new_key())
    assert missing.status_code == 404
    assert missing.parsed.error.code == "not_found"
    assert missing.parsed.error.fields.additional_properties == {"visit_id": "unknown visit"}
