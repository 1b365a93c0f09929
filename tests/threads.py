"""Requests sent at once from threads (real commits): the races a retrying phone or two dispatchers make."""
from __future__ import annotations

import threading
import time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backend.auth.models import Role
from backend.auth.service import create_user
from backend.cases.models import AddressKind, Case, CaseAddress
from backend.errors import DomainError
from backend.extensions import db
from backend.geo import make_point
from backend.policy.service import ensure_default_portfolio
from backend.visits.requests import request_visit
from tests.factories import CENTRE


def at_once(app, calls, *, alongside=None, join_s: float = 30) -> list:
    """Run each call(client) on its own thread (its own app context and test client), all released together
    by one barrier, and `alongside()` with them if given; the calls' results in order."""
    barrier = threading.Barrier(len(calls) + (1 if alongside else 0))
    results = [None] * len(calls)

    def run(i, call):
        with app.app_context():
            client = app.test_client()
            barrier.wait()
            results[i] = call(client)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    if alongside:
        threads.append(threading.Thread(target=lambda: (barrier.wait(), alongside())))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(join_s)
    return results


_WAITING = sa.text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = :pid AND NOT granted)")


class OnThread:
    """work(session) on a thread with its own session (and database backend): it commits, or rolls back and
    keeps what it met (a DomainError's code, or the repr of anything else) in `outcome`."""

    def __init__(self, app, work):
        self.outcome: list = []
        self._pid: list[int] = []
        self._app = app
        self.thread = threading.Thread(target=self._run, args=(work,))
        self.thread.start()

    def _run(self, work):
        with self._app.app_context(), Session(db.engine) as session:
            try:
                self._pid.append(session.scalar(sa.select(sa.func.pg_backend_pid())))
                result = work(session)
                session.commit()
                self.outcome.append(result)
            except Exception as exc:  # noqa: BLE001 - the test asserts on what the work met
                session.rollback()
                self.outcome.append(exc.code if isinstance(exc, DomainError) else repr(exc))

    def waits(self, timeout_s: float = 15) -> bool:
        """True once the thread's backend waits for a lock another transaction holds (pg_locks: a lock not
        granted); False if the thread ends first or the timeout passes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.thread.is_alive():
            if self._pid:
                with db.engine.connect() as connection:
                    if connection.scalar(_WAITING, {"pid": self._pid[0]}):
                        return True
            time.sleep(0.02)
        return False

    def join(self, timeout_s: float = 30) -> list:
        """Wait for the work to end; its outcome."""
        self.thread.join(timeout_s)
        return self.outcome


def seed_pool_visit(session, prefix: str) -> tuple[int, int, int]:
    """(visit id, collector id, dispatcher id): one open visit in the pool, a collector living at it and a
    dispatcher, all committed (usernames and the case's reference start with prefix)."""
    collector = create_user(session, username=f"{prefix}-collector", password="correct-horse", name="C",
                            role=Role.COLLECTOR, home={"lat": CENTRE[0], "lon": CENTRE[1]})
    dispatcher = create_user(session, username=f"{prefix}-dispatcher", password="correct-horse", name="D",
                             role=Role.DISPATCHER)
    case = Case(external_ref=f"C-{prefix}", portfolio_id=ensure_default_portfolio(session).id,
                debtor_name="Debtor", amount_due=Decimal("100.00"), currency="CNY", days_past_due=30,
                timezone="Asia/Shanghai")
    session.add(case)
    session.flush()
    session.add(CaseAddress(case_id=case.id, kind=AddressKind.HOME, text="addr", location=make_point(*CENTRE)))
    session.flush()
    visit = request_visit(session, case_id=case.id, kind="confirm")
    session.commit()
    return visit.id, collector.id, dispatcher.id
