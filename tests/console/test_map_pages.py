"""The map screen reads every page: open visits past the first 100 (the API's default page) are drawn, and
its requests page with page/page_size like every other screen's."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa

from backend.cases.models import Case, CaseAddress
from backend.extensions import db
from backend.visits.models import OPEN_STATUSES, Visit
from backend.visits.requests import request_visit
from tests.console.conftest import assert_no_lodging, login, require_browser

require_browser()


def test_the_map_draws_every_open_visit_past_the_first_page(console, live_server, lodging, app, homes):
    page, recorder = console
    with app.app_context():  # enough open visits that the first 100 by id leave some out (drawn: located ones)
        case_ids = list(db.session.scalars(sa.select(Case.id).order_by(Case.id)))
        for n in range(150):
            request_visit(db.session, case_id=case_ids[n % len(case_ids)], kind=("confirm", "locate")[n % 2])
        db.session.commit()
        open_ids = set(db.session.scalars(sa.select(Visit.id).join(CaseAddress, CaseAddress.id == Visit.address_id)
                                          .where(Visit.status.in_(OPEN_STATUSES), CaseAddress.location.is_not(None))))
        every = db.session.scalar(sa.select(sa.func.count(Visit.id)))
        db.session.remove()
    assert every > 100 and max(open_ids) > sorted(open_ids)[99]
    login(page, live_server, "dispatcher", "map")
    page.wait_for_selector(f"path.visit-{max(open_ids)}")
    drawn = {int(c.removeprefix("visit-")) for c in page.eval_on_selector_all(
        "path.visit", "els => els.flatMap(e => [...e.classList].filter(c => /^visit-\\d+$/.test(c)))")}
    assert drawn == open_ids
    asked = [parse_qs(urlsplit(url).query) for url in recorder.requests if urlsplit(url).path.endswith("/visits.geojson")]
    assert asked and all("page" in q and "page_size" in q for q in asked)
    assert_no_lodging(page, recorder, homes)


def _drawn(page) -> set[int]:
    return {int(c.removeprefix("visit-")) for c in page.eval_on_selector_all(
        "path.visit", "els => els.flatMap(e => [...e.classList].filter(c => /^visit-\\d+$/.test(c)))")}


def _wait_drawn(page, op: str, n: int) -> None:
    page.wait_for_function("([op, n]) => { const drawn = document.querySelectorAll('path.visit').length;"
                           " return op === '<' ? drawn < n : drawn === n; }", arg=[op, n])


def _visit_reads(recorder) -> list[dict]:
    """The map's reads of visits (not the pins' read, ?pinned=true)."""
    asked = [parse_qs(urlsplit(url).query) for url in recorder.requests
             if urlsplit(url).path.endswith(("/api/v1/visits", "/api/v1/visits.geojson"))]
    return [q for q in asked if "pinned" not in q]


def _open_located(app, **where) -> set[int]:
    with app.app_context():
        ids = set(db.session.scalars(
            sa.select(Visit.id).join(CaseAddress, CaseAddress.id == Visit.address_id)
            .where(Visit.status.in_(OPEN_STATUSES), CaseAddress.location.is_not(None), *(
                getattr(Visit, k) == v for k, v in where.items()))))
        db.session.remove()
    return ids


def test_the_map_reads_open_visits_once_and_filters_district_and_overdue_itself(console, live_server, app):
    page, recorder = console
    with app.app_context():  # a closed visit the server now leaves out, and an overdue one to filter by
        case_ids = list(db.session.scalars(sa.select(Case.id).order_by(Case.id)))
        closed = request_visit(db.session, case_id=case_ids[0], kind="confirm")
        closed.status = "cancelled"
        late = request_visit(db.session, case_id=case_ids[1], kind="locate")
        late.due_by = late.created_at - timedelta(days=1)
        db.session.commit()
        closed_id, late_id = closed.id, late.id
        db.session.remove()
    login(page, live_server, "dispatcher", "map")
    page.wait_for_selector(f"path.visit-{late_id}")
    assert _drawn(page) == _open_located(app)
    first = _visit_reads(recorder)
    assert first and all(q["open"] == ["true"] and "status" not in q for q in first)
    assert f"visit-{closed_id}" not in page.content()

    page.check("input[name=overdue]")
    _wait_drawn(page, "<", len(_open_located(app)))
    assert late_id in _drawn(page) and _drawn(page) < _open_located(app)
    page.uncheck("input[name=overdue]")
    districts = page.eval_on_selector_all("select[name=district] option", "os => os.map(o => o.value).filter(Boolean)")
    assert districts
    page.select_option("select[name=district]", districts[0])
    _wait_drawn(page, "<", len(_open_located(app)))
    page.select_option("select[name=district]", "")
    _wait_drawn(page, "==", len(_open_located(app)))
    assert _visit_reads(recorder) == first  # district and overdue: not one more request for visits

    # Kind and status are the server's: a change reads again, a chosen status instead of open=true.
    page.select_option("select[name=status]", "requested")
    _wait_drawn(page, "==", len(_open_located(app, status="requested")))
    again = _visit_reads(recorder)[len(first):]
    assert again and all(q["status"] == ["requested"] and "open" not in q for q in again)
    assert _drawn(page) == _open_located(app, status="requested")


def test_a_newer_load_wins_and_a_failed_one_says_why(console, live_server, app):
    page, recorder = console
    login(page, live_server, "dispatcher", "map")
    confirm, locate = _open_located(app, kind="confirm"), _open_located(app, kind="locate")
    assert confirm and locate
    # The older load (kind=confirm) answers late; the newer one (locate) must stay on the map.
    page.evaluate("""() => { const real = window.fetch;
      window.fetch = async (url, options) => {
        if (String(url).includes("kind=confirm")) await new Promise((r) => setTimeout(r, 1500));
        return real(url, options); }; }""")
    page.evaluate("""() => { const kind = document.querySelector("select[name=kind]");
      for (const value of ["confirm", "locate"]) { kind.value = value; kind.dispatchEvent(new Event("change")); } }""")
    _wait_drawn(page, "==", len(locate))
    page.wait_for_timeout(2500)
    assert _drawn(page) == locate
    assert page.locator(".toast.error").count() == 0  # the aborted load is no error

    # A page that fails: a toast says why, and the map keeps what it drew.
    page.route("**/api/v1/visits.geojson?*kind=confirm*", lambda route: route.fulfill(
        status=503, json={"error": {"code": "database_unavailable", "message": "the database is unavailable"}}))
    page.select_option("select[name=kind]", "confirm")
    page.wait_for_selector(".toast.error")
    assert "(503) the database is unavailable" in page.locator(".toast.error").last.inner_text()
    assert _drawn(page) == locate
    page.route("**/api/v1/routes?*", lambda route: route.fulfill(
        status=503, json={"error": {"code": "database_unavailable", "message": "routes are unavailable"}}))
    page.fill("input[name=date]", "2030-01-02")
    page.wait_for_function("() => [...document.querySelectorAll('.toast.error')].some("
                           "(e) => e.textContent.includes('routes are unavailable'))")

    # Pages read over a changing set: a row that slid onto the next page (one visit came before it meanwhile)
    # is kept once.
    pages = {"1": (list(range(1, 501)), 501), "2": ([500, 501], 502)}

    def answer(route):
        ids, total = pages[parse_qs(urlsplit(route.request.url).query)["page"][0]]
        route.fulfill(json={"items": [{"id": i} for i in ids], "total": total, "page": 1, "page_size": 500})

    page.route("**/api/v1/visits?*case_id=999999*", answer)
    got = page.evaluate("""async () => { const api = await import(new URL("js/api.js", document.baseURI));
      const rows = await api.allPages("/visits", { case_id: 999999 }, 2000);
      const cut = await api.allPages("/visits", { case_id: 999999 }, 2);
      return { ids: rows.map((r) => r.id), truncated: rows.truncated, cut: cut.map((r) => r.id),
               cutFlag: cut.truncated, total: cut.total }; }""")
    assert got == {"ids": list(range(1, 502)), "truncated": False, "cut": [1, 2], "cutFlag": True, "total": 501}
