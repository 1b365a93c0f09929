"""The dispatcher's day operations in a real browser, against the real API: pin a visit to a collector
(and see the pin hold in a plan), record and remove a collector's absence, and review addresses (door
positions collectors proposed; text-only addresses placed on the map). Refusals reach the user."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from backend.auth.models import User
from backend.cases.addresses import apply_geocode, current_addresses, propose_position
from backend.cases.models import AddressKind, AddressPositionProposal, Case, CaseAddress
from backend.demo.seed import TEXT_ONLY
from backend.extensions import db
from backend.geocoding.types import GeocodeResult
from backend.timeutil import utcnow
from backend.visits.models import CollectorAbsence, Visit, VisitPin, VisitStatus
from tests.console.conftest import assert_no_lodging, call, login, require_browser, shot, token

require_browser()


def plain_visits(app, n: int) -> list[int]:
    """n open visits any collector may take (no crew, no skill), from the end of the list."""
    with app.app_context():
        ids = list(db.session.scalars(
            sa.select(Visit.id).where(Visit.status.in_([VisitStatus.REQUESTED, VisitStatus.SCHEDULED,
                                                         VisitStatus.ASSIGNED]),
                                      Visit.requires_two.is_(False),
                                      sa.func.coalesce(sa.func.cardinality(Visit.required_skills), 0) == 0)
            .order_by(Visit.id.desc()).limit(n)))
        db.session.remove()
    assert len(ids) == n
    return ids


def collector(app, username: str) -> tuple[int, str]:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        db.session.remove()
        return user.id, user.name


def later_in_chengdu(days: int) -> str:
    return (utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)).isoformat()


def open_visit(page, visit_id: int) -> None:
    """Click a visit on the map and wait for its summary with the pin form."""
    page.locator(f"path.visit-{visit_id}").dispatch_event("click")
    page.wait_for_selector(f"#visit-summary #pin-form[data-visit-id='{visit_id}']")


def test_dispatcher_pins_and_unpins_a_visit(console, live_server, lodging, app, homes):
    page, recorder = console
    pinned, closed, skilled = plain_visits(app, 3)
    collector_id, name = collector(app, "collector02")
    with app.app_context():  # a skill nobody has: pinning it to anyone is a 409
        db.session.get(Visit, skilled).required_skills = ["no-such-skill"]
        db.session.commit()
        db.session.remove()
    login(page, live_server, "dispatcher", "map")
    page.wait_for_selector(f"path.visit-{closed}")

    open_visit(page, pinned)
    page.select_option("#pin-form select[name=pin-collector]", str(collector_id))
    page.fill("#pin-form input[name=pin-position]", "1")
    page.click("#pin")
    page.wait_for_selector("#pin-result.ok")
    assert name in page.inner_text("#pin-label")
    page.wait_for_selector(f".pin-icon.pin-{pinned}")
    with app.app_context():
        pin = db.session.get(VisitPin, pinned)
        assert (pin.collector_id, pin.position) == (collector_id, 1)
        db.session.remove()

    # The plan keeps the pin: the visit is on collector02's route, labelled as pinned.
    page.click("#plan")
    stop = page.locator(f"#route-list .route[data-collector-id='{collector_id}'] li[data-visit-id='{pinned}']")
    stop.wait_for(timeout=30000)
    assert name in stop.locator(".pin-label").inner_text()
    shot(page, "10-map-pinned")

    # Refusals are shown with the API's words: a visit closed meanwhile and a skill nobody has (409),
    # a stop number out of range (422 naming it).
    call(live_server, "POST", f"/visits/{closed}/cancel", token(live_server, "supervisor"), {"reason": "debtor paid"})
    open_visit(page, closed)
    page.click("#pin")
    page.wait_for_selector("#pin-result.error")
    assert "409" in page.inner_text("#pin-result") and "only open visits are pinned" in page.inner_text("#pin-result")
    open_visit(page, skilled)
    page.click("#pin")
    page.wait_for_selector("#pin-result.error")
    assert "409" in page.inner_text("#pin-result") and "no-such-skill" in page.inner_text("#pin-result")
    page.fill("#pin-form input[name=pin-position]", "0")
    page.click("#pin")
    page.wait_for_selector("#pin-result.error")
    assert "422" in page.inner_text("#pin-result") and "position" in page.inner_text("#pin-result")
    with app.app_context():
        assert db.session.scalars(sa.select(VisitPin.visit_id)).all() == [pinned]
        db.session.remove()

    open_visit(page, pinned)
    page.click("#unpin")
    page.wait_for_selector("#pin-result.ok")
    page.locator(f".pin-icon.pin-{pinned}").wait_for(state="detached")
    assert page.inner_text("#pin-label") == ""
    with app.app_context():
        assert db.session.get(VisitPin, pinned) is None
        db.session.remove()
    page.click("#unpin")  # nothing left to remove: the API's 404, said
    page.wait_for_selector("#pin-result.error")
    assert "404" in page.inner_text("#pin-result")
    assert "不存在" in page.inner_text("#pin-result")  # not_found as a 404, not as a geocode status (无法定位)
    assert_no_lodging(page, recorder, homes)


def test_pins_another_user_sets_through_the_api_show_on_the_map(console, live_server, lodging, app, homes):
    page, recorder = console
    early, late = plain_visits(app, 2)
    collector_id, name = collector(app, "collector03")
    _, supervisor_name = collector(app, "supervisor")
    supervisor = token(live_server, "supervisor")
    call(live_server, "POST", f"/visits/{early}/pin", supervisor, {"collector_id": collector_id, "position": 2})
    login(page, live_server, "dispatcher", "map")
    page.wait_for_selector(f".pin-icon.pin-{early}")  # set before this page opened, by someone else
    open_visit(page, early)
    page.wait_for_selector(f"#pin-label:has-text('{name}')")
    assert supervisor_name in page.inner_text("#pin-by")
    assert page.locator(".pin-icon").count() == 1

    # Pinned and unpinned elsewhere while this page is open: opening a visit reads its pin afresh.
    call(live_server, "POST", f"/visits/{late}/pin", supervisor, {"collector_id": collector_id})
    call(live_server, "DELETE", f"/visits/{early}/pin", supervisor)
    open_visit(page, late)
    page.wait_for_selector(f".pin-icon.pin-{late}")
    page.wait_for_selector(f"#pin-label:has-text('{name}')")
    page.locator(f".pin-icon.pin-{early}").wait_for(state="detached")
    assert page.locator(f"path.visit-{late}").count() == 1
    page.click("#unpin")
    page.wait_for_selector("#pin-result.ok")
    assert page.inner_text("#pin-label") == "" and page.locator(".pin-icon").count() == 0
    with app.app_context():
        assert db.session.scalars(sa.select(VisitPin.visit_id)).all() == []
        db.session.remove()
    assert_no_lodging(page, recorder, homes)


def test_dispatcher_records_and_removes_an_absence(console, live_server, lodging, app, homes):
    page, recorder = console
    visit_id = plain_visits(app, 1)[0]
    collector_id, name = collector(app, "collector03")
    day = later_in_chengdu(2)  # not the day the map's plan (tomorrow) filled
    call(live_server, "POST", f"/visits/{visit_id}/assign", token(live_server, "dispatcher"),
         {"collector_id": collector_id, "date": day})
    login(page, live_server, "dispatcher", "map")
    page.click("#nav-absences")
    page.wait_for_selector("main[data-ready=absences]")
    page.click(f"a.collector[data-collector-id='{collector_id}']")
    page.wait_for_selector("#absence-form")
    assert name in page.inner_text("#absence-detail h2")
    page.fill("#absence-form input[name=date]", day)
    page.fill("#absence-form input[name=reason]", "病假（医院证明）")
    page.click("#record-absence")
    page.wait_for_selector("#absence-result.ok")
    assert f"#{visit_id}" in page.inner_text("#absence-result")  # the visit that went back to the pool
    page.wait_for_selector(f"tr.absence[data-date='{day}']")
    shot(page, "11-absences")
    with app.app_context():
        visit = db.session.get(Visit, visit_id)
        assert (visit.status, visit.collector_id) == (VisitStatus.SCHEDULED, None)
        db.session.remove()

    page.fill("#absence-form input[name=reason]", "再登记一次")
    page.click("#record-absence")
    page.wait_for_selector("#absence-result.error")
    assert "409" in page.inner_text("#absence-result") and "already absent" in page.inner_text("#absence-result")

    page.click(f"tr.absence[data-date='{day}'] button.remove")
    page.locator(f"tr.absence[data-date='{day}']").wait_for(state="detached")
    assert "下次排程" in page.inner_text("#absence-result")  # released visits stay in the pool
    with app.app_context():
        assert db.session.scalars(sa.select(CollectorAbsence).where(
            CollectorAbsence.collector_id == collector_id)).all() == []
        assert db.session.get(Visit, visit_id).status is VisitStatus.SCHEDULED
        db.session.remove()
    page.click("#lang")
    page.wait_for_selector("main[data-ready=absences]")
    assert "Absences" in page.inner_text("#nav")
    assert_no_lodging(page, recorder, homes)


MARKUP = '春熙路<b class="injected">1</b>号'


def address_of(ref: str) -> CaseAddress:
    case_id = db.session.scalar(sa.select(Case.id).where(Case.external_ref == ref))
    return current_addresses(db.session, case_id)[0]


def test_dispatcher_reviews_proposed_and_text_only_addresses(console, live_server, lodging, app, homes):
    page, recorder = console
    (first_ref, first_text), (second_ref, _), (placed_ref, placed_text), (raced_ref, _), (district_ref, _) = TEXT_ONLY
    collector_id, name = collector(app, "collector02")
    with app.app_context():
        demo = db.session.scalar(sa.select(AddressPositionProposal.id).where(
            AddressPositionProposal.address_id == address_of(first_ref).id))
        # One address the gazetteer placed at its district's centre: a proposal there is drawn beside it.
        district = address_of(district_ref)
        apply_geocode(district, GeocodeResult(30.64, 104.04, "district", "gazetteer", "510107", None))
        second, raced, beside = (propose_position(db.session, address_id=address_of(ref).id, lat=30.655 + k / 100,
                                                  lon=104.08, accuracy_m=9, proposed_by_id=collector_id,
                                                  source_ref="test").id
                                 for k, ref in enumerate((second_ref, raced_ref, district_ref)))
        # More cases' addresses awaiting a position than one page of the list holds (20).
        extra = [CaseAddress(case_id=case_id, kind=AddressKind.OTHER, text=f"成都市成华区待定位{k}号", source="import",
                             geocode_status="pending", normalised_text=f"待定位{k}")
                 for k, case_id in enumerate(db.session.scalars(sa.select(Case.id).order_by(Case.id).limit(20)))]
        db.session.add_all(extra)
        address_of(second_ref).text = MARKUP  # a creditor's file may hold anything
        db.session.commit()
        last_extra = extra[-1].text
        db.session.remove()
    login(page, live_server, "dispatcher", "map")
    page.click("#nav-address_review")
    page.wait_for_selector("main[data-ready=address_review]")
    card = page.locator(f".proposal-item[data-proposal-id='{demo}']")
    card.wait_for()
    assert first_text in card.inner_text() and "外访员" in card.inner_text()  # who proposed it, by name
    assert first_ref in card.locator("a.case-ref").inner_text()
    assert "尚无位置" in card.locator("dd.current").inner_text()  # text only: nothing to compare with
    assert page.locator(f"path.proposal-{demo}").count() == 1 and page.locator(f"path.current-{demo}").count() == 0
    placed_beside = page.locator(f".proposal-item[data-proposal-id='{beside}'] dd.current").inner_text()
    assert "区县级" in placed_beside and "行政区划库" in placed_beside and "相距" in placed_beside
    assert page.locator(f"path.current-{beside}").count() == 1 and page.locator(f"path.offset-{beside}").count() == 1
    assert page.locator(f".unlocated-item:has-text('{placed_text}')").count() == 1
    shot(page, "12-address-review")
    # An address's text is shown as text everywhere, the map's tooltip included: never parsed as markup.
    page.locator(f"path.proposal-{second}").hover()
    page.wait_for_selector(".leaflet-tooltip")
    assert MARKUP in page.inner_text(".leaflet-tooltip")
    assert page.locator(".leaflet-tooltip b.injected, .proposal-item b.injected").count() == 0

    # The list of addresses awaiting a position, page by page (5 demo addresses and 20 more: 2 pages).
    assert "1/2" in page.inner_text("#unlocated-page") and "25" in page.inner_text("#unlocated-page")
    assert page.locator(".unlocated-item").count() == 20 and page.is_disabled("#unlocated-prev")
    page.click("#unlocated-next")
    page.wait_for_selector(f".unlocated-item:has-text('{last_extra}')")
    assert page.locator(".unlocated-item").count() == 5 and page.is_disabled("#unlocated-next")
    page.click("#unlocated-prev")
    page.wait_for_selector(f".unlocated-item:has-text('{placed_text}')")

    # Decided behind the page by another dispatcher: this page's reject is refused, and says so.
    call(live_server, "POST", f"/address-proposals/{raced}/confirm", token(live_server, "supervisor"))
    page.locator(f".proposal-item[data-proposal-id='{raced}'] button.reject").click()
    page.wait_for_selector(f".proposal-item[data-proposal-id='{raced}'] .result.error")
    assert "409" in page.locator(f".proposal-item[data-proposal-id='{raced}'] .result").inner_text()

    card.locator("button.confirm").click()
    card.locator(".result.confirmed").wait_for()
    assert "已确认" in card.locator(".result").inner_text()
    page.locator(f".proposal-item[data-proposal-id='{second}'] button.reject").click()
    page.locator(f".proposal-item[data-proposal-id='{second}'] .result.rejected").wait_for()
    page.locator(f".unlocated-item:has-text('{first_text}')").wait_for(state="detached")  # located now
    with app.app_context():
        confirmed = address_of(first_ref)
        assert (confirmed.geocode_status, confirmed.precision, confirmed.source) == ("located", "rooftop", "collector")
        assert address_of(second_ref).geocode_status == "pending"  # a rejected fix leaves it as it was
        db.session.remove()

    row = page.locator(f".unlocated-item:has-text('{placed_text}')")
    row.locator("button.place").click()
    page.wait_for_selector("#place-hint:not([hidden])")
    page.locator("#address-map").click(position={"x": 300, "y": 500})
    page.wait_for_selector("path.draft")
    row.locator("button.save").click()
    row.locator(".result.ok").wait_for()
    with app.app_context():
        placed = address_of(placed_ref)
        assert (placed.geocode_status, placed.source) == ("located", "dispatcher")
        lat, lon = db.session.execute(sa.select(sa.func.ST_Y(sa.func.geometry(CaseAddress.location)),
                                                sa.func.ST_X(sa.func.geometry(CaseAddress.location)))
                                      .where(CaseAddress.id == placed.id)).one()
        db.session.remove()
    assert 29 < lat < 32 and 103 < lon < 106  # where the map showed Chengdu, not null island
    # A list that cannot be read says why, instead of keeping the last one on screen unexplained.
    page.route("**/api/v1/address-proposals?status=rejected*", lambda route: route.fulfill(
        status=503, json={"error": {"code": "database_unavailable", "message": "the database is unavailable"}}))
    page.select_option("select[name=proposal-status]", "rejected")
    assert "(503) the database is unavailable" in page.locator(".toast.error").last.inner_text()
    page.unroute("**/api/v1/address-proposals?status=rejected*")
    page.click("#lang")
    page.wait_for_selector("main[data-ready=address_review]")
    assert "Door positions proposed by collectors" in page.inner_text("main")
    assert_no_lodging(page, recorder, homes)
