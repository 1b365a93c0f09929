"""Two dispatchers correcting addresses of one case at once (real commits, threads): every request is
answered (200 or a 409 naming the replaced address), never a 500 or 503, and one current address of a text
remains, the others kept as history pointing to it."""
from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from backend.auth.access import issue_token
from backend.auth.models import Role
from backend.auth.service import create_user
from backend.cases.models import AddressKind, CaseAddress
from backend.geo import make_point
from tests.factories import CENTRE, bare_case
from tests.threads import at_once

THREADS = 6
TEXT = "成都市青羊区西大街11号"


def _seed(session, texts):
    dispatcher = create_user(session, username="desk-dispatcher", password="correct-horse", name="Desk",
                             role=Role.DISPATCHER)
    case = bare_case(session, "C-addr-race")
    rows = [CaseAddress(case_id=case.id, kind=AddressKind.OTHER, text=text, location=make_point(*CENTRE))
            for text in texts]
    session.add_all(rows)
    session.commit()
    token, _ = issue_token(dispatcher)
    return case.id, [row.id for row in rows], {"Authorization": f"Bearer {token}"}


def _at_once(app, headers, requests, method="PATCH"):
    """Send each (url, body) from its own thread, all released together; their statuses in order."""
    return at_once(app, [lambda client, url=url, body=body: client.open(url, method=method, json=body,
                                                                       headers=headers).status_code
                         for url, body in requests])


def _current(session, case_id):
    session.expire_all()
    return session.scalars(sa.select(CaseAddress).where(CaseAddress.case_id == case_id,
                                                        CaseAddress.superseded_at.is_(None))).all()


def test_dispatchers_correcting_several_addresses_to_one_text_at_once_leave_one(app, committed):
    case_id, ids, headers = _seed(committed, [f"成都市青羊区西大街{n}号" for n in range(1, THREADS + 1)])
    url = f"/api/v1/cases/{case_id}/addresses"

    statuses = _at_once(app, headers, [(f"{url}/{i}", {"text": TEXT, "lat": CENTRE[0], "lon": CENTRE[1]})
                                       for i in ids])

    assert statuses == [200] * THREADS
    [kept] = _current(committed, case_id)
    assert kept.text == TEXT
    assert {committed.get(CaseAddress, i).superseded_by_id for i in ids} == {kept.id}


def test_dispatchers_merging_two_addresses_into_each_other_at_once_are_answered(app, committed):
    texts = ("成都市青羊区西大街1号", "成都市金牛区一环路北段2号")
    case_id, (first, second), headers = _seed(committed, texts)
    url = f"/api/v1/cases/{case_id}/addresses"

    statuses = _at_once(app, headers, [(f"{url}/{first}", {"text": texts[1]}), (f"{url}/{second}", {"text": texts[0]})])

    # One merges first; the other then finds its own address replaced (409) or merges the survivor on.
    assert Counter(statuses) in (Counter({200: 1, 409: 1}), Counter({200: 2})), statuses
    [kept] = _current(committed, case_id)
    replaced = [a for a in (committed.get(CaseAddress, i) for i in (first, second)) if a.id != kept.id]
    assert replaced and all(a.superseded_by_id is not None for a in replaced)


def test_dispatchers_adding_different_homes_at_once_leave_one_current_home(app, committed):
    case_id, _, headers = _seed(committed, [])
    url = f"/api/v1/cases/{case_id}/addresses"
    bodies = [{"kind": "home", "text": f"成都市锦江区春熙路{n}号", "lat": CENTRE[0], "lon": CENTRE[1]}
              for n in range(1, THREADS + 1)]

    statuses = _at_once(app, headers, [(url, body) for body in bodies], method="POST")

    assert statuses == [201] * THREADS
    [home] = _current(committed, case_id)  # each later move replaced the one before: one home, the last
    history = committed.scalars(sa.select(CaseAddress).where(CaseAddress.id != home.id,
                                                             CaseAddress.case_id == case_id)).all()
    assert len(history) == THREADS - 1 and all(a.superseded_by_id is not None for a in history)
