"""The console in a real browser: plan and move stops, the live safety board, the tracing queue,
review and cases; no lodging coordinate ever reaches the page, nothing but tiles leaves the origin."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from backend.auth.models import User
from backend.cases.models import Case, CaseAddress
from backend.extensions import db
from backend.fieldday.models import OutcomeReview
from backend.planning.models import Route, RouteStop
from backend.timeutil import utcnow
from backend.visits.models import Visit, VisitOutcome, VisitStatus
from tests.console.conftest import assert_no_lodging, call, login, require_browser, shot, token
from tests.tracing.conftest import add_case, as_csv, scenario_rows

require_browser()


def route_etas(page) -> dict[str, str]:
    """Each route in the panel: its stops and ETAs as text, by collector id."""
    return {el.get_attribute("data-collector-id"): el.inner_text() for el in page.query_selector_all("#route-list .route")}


def test_dispatcher_plans_tomorrow_and_moves_a_stop(console, live_server, lodging, app, homes):
    page, recorder = console
    login(page, live_server, "dispatcher", "map")
    page.wait_for_selector("path.visit")
    assert page.locator(".map.offline").count() == 1  # no tiles here: the plain background with the extent
    assert page.locator("path.extent").count() == 1
    everywhere = page.locator("path.visit").count()
    district = page.locator("select[name=district] option").nth(1).get_attribute("value")
    page.select_option("select[name=district]", district)
    page.locator(f"path.visit >> nth={everywhere - 1}").wait_for(state="detached")
    assert 0 < page.locator("path.visit").count() < everywhere
    page.select_option("select[name=district]", "")
    page.locator(f"path.visit >> nth={everywhere - 1}").wait_for()
    page.locator("path.visit").first.click()
    page.wait_for_selector("#visit-summary dl.facts")
    assert "*" in page.inner_text("#visit-summary")  # phones masked for a dispatcher
    shot(page, "01-map-visits")

    page.click("#plan")
    page.wait_for_selector("#plan-progress:not([hidden])")
    page.locator("#route-list .route").nth(1).wait_for(timeout=30000)
    assert page.locator("path.route-line").count() >= 1
    assert any("/api/v1/jobs/" in u for u in recorder.requests), "the plan ran as a job with a progress bar"
    stops = page.locator(".stop-marker").count()
    assert stops >= 4
    assert page.locator(".stop-marker .stop-number", has_text=re.compile(r"^1$")).count() >= 2
    before = route_etas(page)
    assert all("预计到达" in text for text in before.values())
    shot(page, "02-map-routes")

    # Move the last stop of the longest route to another collector who has a route; try until one fits.
    routes = page.query_selector_all("#route-list .route")
    source = max(routes, key=lambda el: len(el.query_selector_all("li")))
    source_collector = source.get_attribute("data-collector-id")
    visit_id = source.query_selector_all("li")[-1].get_attribute("data-visit-id")
    source.query_selector_all("li button")[-1].click()
    targets = [c for c in before if c != source_collector]
    moved_to, refusals = None, []
    for target in targets:
        page.select_option("#visit-summary select[name=move-to]", target)
        page.click("#move-stop")
        result = page.locator("#move-result")
        page.locator("#move-result.ok, #move-result.error").wait_for()
        if "ok" in (result.get_attribute("class") or ""):
            moved_to = target
            break
        refusals.append(result.inner_text())
    assert moved_to is not None, refusals
    after = route_etas(page)
    assert f"#{visit_id}" not in after[source_collector]
    assert f"#{visit_id}" in after[moved_to]
    assert after[source_collector] != before[source_collector] and after[moved_to] != before[moved_to]
    shot(page, "03-map-moved")
    with app.app_context():
        on = db.session.execute(sa.select(Route.collector_id).join(RouteStop, RouteStop.route_id == Route.id)
                                .where(RouteStop.visit_id == int(visit_id))).scalar_one()
        db.session.remove()
    assert str(on) == moved_to
    assert_no_lodging(page, recorder, homes)


def test_sos_reaches_the_supervisors_board_and_is_acknowledged(console, live_server, lodging, homes):
    page, recorder = console
    collector = token(live_server, "collector02")
    now = utcnow()
    call(live_server, "POST", "/safety/checkins", collector,
         {"kind": "shift_start", "lat": 30.65, "lon": 104.05, "recorded_at": now.isoformat()})
    login(page, live_server, "supervisor", "map")
    page.click("#nav-safety")
    page.wait_for_selector("main[data-ready=safety]")
    page.wait_for_selector("#board tbody tr")
    assert page.locator("#last-heard").inner_text().startswith("最后联系服务器")
    sent = utcnow()
    alert = call(live_server, "POST", "/safety/sos", collector,
                 {"lat": 30.651, "lon": 104.051, "recorded_at": sent.isoformat(), "note": "help"})
    alert_id = alert.get("alert_id") or alert.get("id")
    card = page.locator(f"#alerts .alert.open[data-alert-id='{alert_id}']")
    card.wait_for(timeout=5000)  # within 5 s of the SOS
    assert (utcnow() - sent).total_seconds() < 5
    shot(page, "04-safety-sos")
    card.locator("button.ack").click()
    page.locator(f"#alerts .alert.acknowledged[data-alert-id='{alert_id}']").wait_for(timeout=5000)
    page.locator(f"#alerts [data-alert-id='{alert_id}'] button.trail-btn").click()
    page.wait_for_selector("#trail ol.trail li >> nth=1")
    shot(page, "05-safety-acknowledged")
    assert_no_lodging(page, recorder, homes)


def test_tracer_submits_a_request_and_confirms_a_candidate(console, live_server, lodging, app, tmp_path, homes):
    page, recorder = console
    with app.app_context():
        case_id = add_case(db.session).id
        db.session.commit()
        db.session.remove()
    contacts, calls = scenario_rows()
    (tmp_path / "contacts.csv").write_bytes(as_csv(contacts))
    (tmp_path / "calls.csv").write_bytes(as_csv(calls))
    login(page, live_server, "tracer", "tracing")
    page.fill("#new-request input[name=case_id]", str(case_id))
    page.dispatch_event("#new-request input[name=case_id]", "change")
    page.locator("#new-request select[name=legal_basis] option[value=court_order][title]").wait_for(state="attached")
    page.select_option("#new-request select[name=legal_basis]", "court_order")
    page.set_input_files("#new-request input[name=contacts]", str(tmp_path / "contacts.csv"))
    page.set_input_files("#new-request input[name=calls]", str(tmp_path / "calls.csv"))
    page.click("#new-request button[type=submit]")
    page.wait_for_selector("#requests .request")
    page.wait_for_selector("#requests .request.done", timeout=30000)
    page.wait_for_selector("#request-detail .candidate", timeout=10000)
    assert page.locator("#request-detail .candidate .evidence").first.inner_text() not in ("", "—")
    shot(page, "06-tracing-candidates")
    first = page.locator("#request-detail .candidate").first
    first.locator("button.confirm").click()
    page.locator("#request-detail .candidate .state.confirmed").first.wait_for(timeout=5000)
    shot(page, "07-tracing-confirmed")
    assert_no_lodging(page, recorder, homes)


def plant_off_site_report(app, live_server) -> tuple[int, str, str]:
    """collector02 reports a visit from 3 km away from its door, today in Chengdu: the review queue
    must hold it, and the day's report must count it. Returns the outcome id, the local date, the name."""
    with app.app_context():
        collector = db.session.scalar(sa.select(User).where(User.username == "collector02"))
        visit, lat, lon = db.session.execute(
            sa.select(Visit, sa.func.ST_Y(sa.func.geometry(CaseAddress.location)),
                      sa.func.ST_X(sa.func.geometry(CaseAddress.location)))
            .join(CaseAddress, CaseAddress.id == Visit.address_id)
            .where(Visit.status.in_([VisitStatus.REQUESTED, VisitStatus.SCHEDULED, VisitStatus.ASSIGNED]),
                   Visit.requires_two.is_(False),
                   sa.func.coalesce(sa.func.cardinality(Visit.required_skills), 0) == 0)
            .order_by(Visit.id).limit(1)).one()
        collector_id, visit_id, name = collector.id, visit.id, collector.name
        day = utcnow().astimezone(ZoneInfo(collector.timezone)).date().isoformat()
    call(live_server, "POST", f"/visits/{visit_id}/assign", token(live_server, "dispatcher"),
         {"collector_id": collector_id, "date": day})
    outcome = call(live_server, "POST", f"/visits/{visit_id}/outcome", token(live_server, "collector02"),
                   {"outcome": "not_home", "recorded_at": utcnow().isoformat(), "lat": lat + 0.027, "lon": lon,
                    "accuracy_m": 8}, {"Idempotency-Key": f"console-review-{visit_id}"})
    assert outcome["on_site"] is False
    return outcome["id"], day, name


def test_review_and_cases_screens(console, live_server, lodging, homes, app):
    page, recorder = console
    outcome_id, day, name = plant_off_site_report(app, live_server)
    login(page, live_server, "supervisor", "map")
    page.click("#nav-review")
    page.wait_for_selector("main[data-ready=review]")
    page.wait_for_selector("#late_entries p, #late_entries table")
    page.wait_for_selector("#follow_up p, #follow_up table")
    flagged = page.locator(f"#outcome_review tr.review-item[data-outcome-id='{outcome_id}']")
    flagged.wait_for(timeout=10000)
    assert "不在现场" in flagged.inner_text()  # off site, said in words
    page.fill("#daily_reports input[name=date]", day)
    page.dispatch_event("#daily_reports input[name=date]", "change")
    page.wait_for_selector("#daily_reports table")
    assert name in page.inner_text("#daily_reports table")
    shot(page, "08-review")
    flagged.locator("select[name=decision]").select_option("corrected")
    flagged.locator("input[name=note]").fill("电话核实：外访员在小区门口，门牌定位偏差")
    flagged.locator("button[type=submit]").click()
    flagged.wait_for(state="detached", timeout=10000)  # closed: off the open queue
    with app.app_context():
        review = db.session.scalar(sa.select(OutcomeReview).where(OutcomeReview.outcome_id == outcome_id))
        assert (review.decision.value, review.note) == ("corrected", "电话核实：外访员在小区门口，门牌定位偏差")
    page.click("#nav-cases")
    page.wait_for_selector("main[data-ready=cases]")
    page.locator("#case-results a").first.click()
    page.wait_for_selector("#case-detail #case-visits")
    assert page.locator("#case-detail .phone").count() >= 1
    page.click("#lang")  # English
    page.wait_for_selector("main[data-ready=cases]")
    page.locator("#case-results a").first.click()
    page.wait_for_selector("#case-detail #case-visits")
    assert "Addresses" in page.inner_text("#case-detail")
    shot(page, "09-cases-en")
    # The case of the report planted above: its visits, asked of the API by case, not sifted from every visit.
    with app.app_context():
        case_id, ref = db.session.execute(sa.select(Case.id, Case.external_ref).join(Visit, Visit.case_id == Case.id)
                                          .join(VisitOutcome, VisitOutcome.visit_id == Visit.id)
                                          .where(VisitOutcome.id == outcome_id)).one()
        visit_ids = set(db.session.scalars(sa.select(Visit.id).where(Visit.case_id == case_id)))
    asked = len(recorder.requests)
    page.goto(f"{live_server}/#/cases/{case_id}")
    page.wait_for_selector(f"#case-detail h2:has-text('{ref}')")
    page.wait_for_selector("#case-detail #case-visits")
    shown = page.locator("#case-visits li").all_inner_texts()
    assert {int(re.match(r"#(\d+)", text).group(1)) for text in shown} == visit_ids
    visit_lists = [u for u in recorder.requests[asked:] if "/api/v1/visits?" in u]
    assert visit_lists and all(f"case_id={case_id}" in u for u in visit_lists)
    assert_no_lodging(page, recorder, homes)
