"""The contacts lists page like every other list: page/page_size in, {items, total, page, page_size} out,
in their stable order (backend.pagination.paginate)."""
from __future__ import annotations

from datetime import timedelta

from backend.contacts.promises import record_promise
from backend.timeutil import utcnow
from tests.contacts.conftest import at


def _pages(client, path, headers, key, **filters):
    """Every row's key on pages of two, each page's (total, page, page_size), and the same rows on one page."""
    pages = [client.get(path, query_string={**filters, "page": page, "page_size": 2}, headers=headers).json
             for page in (1, 2)]
    whole = client.get(path, query_string=filters, headers=headers).json
    return ([key(row) for p in pages for row in p["items"]], [(p["total"], p["page"], p["page_size"]) for p in pages],
            [key(row) for row in whole["items"]])


def test_a_case_contact_log_pages_newest_first(client, debtor_case, logged, dispatcher):
    case = debtor_case()
    ids = [logged(case, when=at("10:00", day)).id for day in ("2026-11-08", "2026-11-09", "2026-11-10")]
    keys, envelopes, whole = _pages(client, f"/api/v1/cases/{case.id}/contact-attempts", dispatcher[1],
                                    lambda row: row["id"])
    assert envelopes == [(3, 1, 2), (3, 2, 2)]
    assert keys == whole == ids[::-1]


def test_late_entries_page_newest_first(client, debtor_case, logged, supervisor):
    case = debtor_case()
    ids = [logged(case, when=at("23:30", day), late_entry=True, now=at("09:00", "2026-11-11") + timedelta(minutes=n)).id
           for n, day in enumerate(("2026-11-08", "2026-11-09", "2026-11-10"))]
    keys, envelopes, whole = _pages(client, "/api/v1/compliance/late-entries", supervisor[1], lambda row: row["id"])
    assert envelopes == [(3, 1, 2), (3, 2, 2)]
    assert keys == whole == ids[::-1]


def test_follow_up_pages_worst_first(client, debtor_case, logged, dispatcher):
    now = utcnow()
    cases = [debtor_case(created_at=now - timedelta(days=20)) for _ in range(3)]
    logged(cases[1], when=now - timedelta(days=1), result="answered")  # one contact this week: less behind
    keys, envelopes, whole = _pages(client, "/api/v1/compliance/follow-up", dispatcher[1],
                                    lambda row: (row["case_id"], row["shortfall"]))
    assert envelopes == [(3, 1, 2), (3, 2, 2)]
    assert keys == whole == [(cases[0].id, 3), (cases[2].id, 3), (cases[1].id, 2)]


def test_due_reminders_page_in_the_order_they_fell_due(client, session, debtor_case, dispatcher):
    now = utcnow()
    promises = [record_promise(session, case_id=debtor_case().id, amount="100", source="call",
                               due_date=(now + timedelta(days=10)).date()) for _ in range(3)]
    for minutes, promise in zip((5, 15, 10), promises, strict=True):
        promise.reminder_due_at = now - timedelta(minutes=minutes)
    session.flush()
    keys, envelopes, whole = _pages(client, "/api/v1/promises/reminders-due", dispatcher[1], lambda row: row["id"])
    assert envelopes == [(3, 1, 2), (3, 2, 2)]
    assert keys == whole == [promises[1].id, promises[2].id, promises[0].id]
