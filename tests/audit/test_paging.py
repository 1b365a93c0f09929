"""GET /audit pages like every other list: page/page_size, {items, total, page, page_size}, newest first."""
from __future__ import annotations

from datetime import timedelta

from backend.audit.service import record_audit
from backend.auth.models import Role
from backend.timeutil import utcnow


def test_audit_pages_newest_first_in_the_one_envelope(client, as_role, session):
    _, headers = as_role(Role.SUPERVISOR)
    start = utcnow() - timedelta(hours=1)
    for n in (1, 0, 2):  # written out of time order: newest first is by time, not by id
        record_audit(session, actor_id=None, action="test.paging", subject_type="case", subject_id=n,
                     at=start + timedelta(minutes=n))
    session.flush()
    pages = [client.get("/api/v1/audit", query_string={"action": "test.paging", "page": page, "page_size": 2},
                        headers=headers).json for page in (1, 2)]
    assert [(p["total"], p["page"], p["page_size"]) for p in pages] == [(3, 1, 2), (3, 2, 2)]
    assert [e["subject_id"] for p in pages for e in p["items"]] == ["2", "1", "0"]
