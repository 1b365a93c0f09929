"""The map screen reads every page: open visits past the first 100 (the API's default page) are drawn, and
its requests page with page/page_size like every other screen's."""
from __future__ import annotations

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
