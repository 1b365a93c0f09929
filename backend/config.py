"""Configuration read from the environment, with local defaults that work on a fresh machine."""
from __future__ import annotations

import os


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    """Settings for one process; everything a deployment changes comes from the environment."""

    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/fieldtrace"
    )
    # No pre-ping: it cost a round trip on every request. A connection the server dropped (a restart)
    # fails the one request that meets it, and SQLAlchemy then recycles the whole pool; pool_recycle
    # retires connections before an idle timeout on the way (a firewall, a proxy) can cut them.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_size": 10, "max_overflow": 20, "pool_recycle": 1800}
    REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    # Lets several deployments (or test runs) share one Redis without taking each other's jobs.
    QUEUE_PREFIX = os.environ.get("QUEUE_PREFIX", "")
    DEFAULT_REGION = os.environ.get("DEFAULT_REGION", "CN")
    TOKEN_TTL_S = _env_int("TOKEN_TTL_S", 12 * 3600)
    # Upload ceiling for the whole request; per-feature limits are policy settings below it.
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 128 * 1024 * 1024)
    OSRM_URL = os.environ.get("OSRM_URL") or None
    # The console's base map: any XYZ tile URL (OpenStreetMap's by default; an AMap or Tianditu URL with
    # MAP_TILE_COORD_SYS=gcj02 for AMap's, so the console shifts positions onto those tiles).
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL") or "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION") or "© OpenStreetMap contributors"
    MAP_TILE_COORD_SYS = os.environ.get("MAP_TILE_COORD_SYS") or "wgs84"
    CONSOLE_DIR = os.environ.get("CONSOLE_DIR") or None

    API_TITLE = "FieldTrace"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    API_SPEC_OPTIONS = {
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}
        },
        "security": [{"bearerAuth": []}],
    }
    JSON_SORT_KEYS = False
