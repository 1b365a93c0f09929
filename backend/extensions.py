"""Extensions, created once and attached to the app in `create_app`."""
from __future__ import annotations

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from redis import Redis
from sqlalchemy import MetaData

from backend.errors import JsonErrorApi

# Stable constraint names, so Alembic diffs and migrations never depend on generated names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
api = JsonErrorApi()


class RedisConnection:
    """The app's one Redis connection, built from REDIS_URL."""

    def __init__(self):
        self._client: Redis | None = None

    def init_app(self, app) -> None:
        self._client = Redis.from_url(app.config["REDIS_URL"])
        app.extensions["redis"] = self

    @property
    def client(self) -> Redis:
        if self._client is None:
            raise RuntimeError("Redis is not initialised; call create_app() first")
        return self._client


redis_conn = RedisConnection()
