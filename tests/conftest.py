"""Fixtures: a real PostGIS database built by the migrations once per run, a rollback per test,
a real Redis with queues private to this run, and factories for test data."""
from __future__ import annotations

import os
import secrets
import uuid

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession

from backend import create_app
from backend.auth.passwords import use_fast_hashing
from backend.extensions import db, redis_conn

ADMIN_URL = os.environ.get("TEST_DATABASE_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
RUN_ID = f"{os.getpid()}_{uuid.uuid4().hex[:6]}"
# This run's own key, also for the worker and `flask` subprocesses tests start (they inherit the
# environment, and outside the test configuration the app refuses to start without a real key).
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))


class BoundSession(FlaskSession):
    """A session that stays on the test's connection instead of picking the app's engine."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind if self.bind is not None else super().get_bind(mapper, clause, bind, **kwargs)


def _admin_engine():
    return sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def database_url():
    """A fresh database for this run (runs in parallel never share one), dropped at the end."""
    name = f"fieldtrace_test_{RUN_ID}"
    engine = _admin_engine()
    with engine.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with engine.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def app(database_url):
    """The app on the test database, schema built by running every migration."""
    use_fast_hashing(True)
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": REDIS_URL,
        "QUEUE_PREFIX": f"test{RUN_ID}:",
        "SECRET_KEY": os.environ["SECRET_KEY"],
        "JOB_STALE_AFTER_S": 2,
    })
    with app.app_context():
        upgrade(revision="heads")
    yield app
    _clear_redis(app)


def _clear_redis(app) -> None:
    with app.app_context():
        client = redis_conn.client
        keys = [key for pattern in (f"*test{RUN_ID}:*", f"*test{RUN_ID}-*")
                for key in client.scan_iter(match=pattern, count=1000)]
        if keys:
            client.delete(*keys)


@pytest.fixture
def session(app):
    """db.session inside a transaction that is rolled back after the test."""
    with app.app_context():
        connection = db.engine.connect()
        transaction = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "class_": BoundSession, "join_transaction_mode": "create_savepoint"})
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            transaction.rollback()
            connection.close()


@pytest.fixture
def committed(app):
    """For tests that need real commits (other processes, concurrency): truncates afterwards."""
    with app.app_context():
        yield db.session
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        # Ids restart, so this run's RQ jobs must go too, or a new job would meet an old one's id.
        _clear_redis(app)


class CommittingClient(FlaskClient):
    """Commits what the test set up before each request, as it would be in real life, so a
    request that fails and rolls back cannot take the test's own data with it."""

    def open(self, *args, **kwargs):
        db.session.commit()
        return super().open(*args, **kwargs)


@pytest.fixture
def client(app, session):
    app.test_client_class = CommittingClient
    return app.test_client()


pytest_plugins = ["tests.factories"]


@pytest.fixture
def run_worker(app):
    """Drain this run's queues with a real RQ worker in burst mode, in this process."""
    from backend.queues import SimpleWorker, all_queues

    def run() -> bool:
        worker = SimpleWorker(all_queues(), connection=redis_conn.client)
        return worker.work(burst=True)

    return run


@pytest.fixture(autouse=True)
def _fresh_throttles(request):
    """Every test's client calls from 127.0.0.1: one test's failed logins or wrong acknowledgement codes
    must not throttle the next's (and ids restart after `committed`)."""
    yield
    if "app" in request.fixturenames:
        from backend.throttle import reset_all

        with request.getfixturevalue("app").app_context():
            reset_all()
