"""Configuration read from the environment, with local defaults that work on a fresh machine."""
from __future__ import annotations

import os

from backend.coords import CoordSys


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


class Config:
    """Settings for one process; everything a deployment changes comes from the environment."""

    # No default: create_app refuses to start without a real key (see check_secret_key).
    SECRET_KEY = os.environ.get("SECRET_KEY")
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
    # Body limits, enforced before anything reads the body (backend/http.py limit_request_body):
    # JSON bodies of every endpoint, each upload's own (its view declares which: @takes_upload), and a
    # ceiling over all.
    JSON_BODY_MAX_BYTES = _env_int("JSON_BODY_MAX_BYTES", 1024 * 1024)
    CASES_IMPORT_MAX_BYTES = _env_int("CASES_IMPORT_MAX_BYTES", 32 * 1024 * 1024)
    TRACING_UPLOAD_MAX_BYTES = _env_int("TRACING_UPLOAD_MAX_BYTES", 128 * 1024 * 1024)
    MAX_CONTENT_LENGTH = _env_int("MAX_CONTENT_LENGTH", 128 * 1024 * 1024)
    # Login throttling: failures per username and per client address within the window.
    LOGIN_MAX_FAILURES = _env_int("LOGIN_MAX_FAILURES", 10)
    LOGIN_FAILURE_WINDOW_S = _env_int("LOGIN_FAILURE_WINDOW_S", 15 * 60)
    # Wrong safety-alert acknowledgement codes (POST /safety/alerts/<id>/ack without a bearer token):
    # failures per client address within the window.
    ACK_CODE_MAX_FAILURES = _env_int("ACK_CODE_MAX_FAILURES", 10)
    ACK_CODE_FAILURE_WINDOW_S = _env_int("ACK_CODE_FAILURE_WINDOW_S", 15 * 60)
    # Per alert, from every address together: high enough that one address guessing cannot lock the
    # recipients out (its own limit stops it first), low enough that 100 in 887 M codes is no chance.
    ACK_CODE_MAX_FAILURES_PER_ALERT = _env_int("ACK_CODE_MAX_FAILURES_PER_ALERT", 100)
    # How many reverse proxies (nginx, a load balancer) stand in front of the app and append the client's
    # address to X-Forwarded-For. 0: the header is ignored, since anyone can send it; behind a proxy it must be
    # set, or every client has the proxy's address and one client's failures throttle them all; and then the
    # app's own port must be reachable through those proxies only, or a client can forge its address.
    TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "0")
    OSRM_URL = os.environ.get("OSRM_URL") or None
    # The console's base map: any XYZ tile URL (OpenStreetMap's by default; an AMap or Tianditu URL with
    # MAP_TILE_COORD_SYS=gcj02 for AMap's, so the console shifts positions onto those tiles).
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL") or "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION") or "© OpenStreetMap contributors"
    MAP_TILE_COORD_SYS = os.environ.get("MAP_TILE_COORD_SYS") or "wgs84"
    CONSOLE_DIR = os.environ.get("CONSOLE_DIR") or None
    # Positions a client sends without `coord_sys` are in this system (gcj02 for an AMap-based app);
    # parsed once by create_app (parse_settings), which refuses to start on an unknown one.
    DEFAULT_COORD_SYS = os.environ.get("DEFAULT_COORD_SYS", "wgs84")
    # nominatim | amap | tianditu | "" (the offline gazetteer alone); see backend/geocoding/providers.py.
    GEOCODER = os.environ.get("GEOCODER", "")
    NOMINATIM_URL = os.environ.get("NOMINATIM_URL", "http://127.0.0.1:8080")
    AMAP_KEY = os.environ.get("AMAP_KEY", "")
    AMAP_PRIVATE_KEY = os.environ.get("AMAP_PRIVATE_KEY", "")
    AMAP_URL = os.environ.get("AMAP_URL", "https://restapi.amap.com")
    TIANDITU_KEY = os.environ.get("TIANDITU_KEY", "")
    TIANDITU_URL = os.environ.get("TIANDITU_URL", "http://api.tianditu.gov.cn")
    # Requests per second to the geocoder, shared by all workers (public Nominatim allows 1).
    GEOCODER_RATE_PER_S = os.environ.get("GEOCODER_RATE_PER_S") or None
    GEOCODE_BATCH_SIZE = _env_int("GEOCODE_BATCH_SIZE", 500)

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


# Keys that were ever published (this repository's old default, common examples): never sign with them.
KNOWN_DEFAULT_KEYS = frozenset({"dev-only-change-me", "dev", "secret", "changeme", "change-me", "secret-key",
                                "your-secret-key", "development", "test-secret"})
MIN_SECRET_KEY_BYTES = 32


class InvalidConfiguration(RuntimeError):
    """The app will not start on this configuration."""


class InsecureConfiguration(InvalidConfiguration):
    """The app will not start on this configuration: it would be insecure."""


def check_secret_key(config) -> None:
    """Fail closed: tokens signed with a missing, published or short key can be forged by anyone, so
    the app refuses to start (except under the test configuration)."""
    if config.get("TESTING"):
        return
    key = config.get("SECRET_KEY")
    if not key:
        raise InsecureConfiguration("SECRET_KEY is not set; set it to at least 32 random bytes "
                                    "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)")
    raw = key.encode() if isinstance(key, str) else bytes(key)
    if key in KNOWN_DEFAULT_KEYS:
        raise InsecureConfiguration("SECRET_KEY is a published default; set it to at least 32 random bytes")
    if len(raw) < MIN_SECRET_KEY_BYTES:
        raise InsecureConfiguration(f"SECRET_KEY is {len(raw)} bytes; it must be at least {MIN_SECRET_KEY_BYTES}")


def parse_settings(config) -> None:
    """Parse, once at start, the settings requests read as values (not text): a bad one stops the app
    with a message naming it, instead of failing every request that needs it."""
    config["DEFAULT_COORD_SYS"] = _coord_sys(config, "DEFAULT_COORD_SYS", tuple(CoordSys))
    # The console shifts positions onto WGS-84 or GCJ-02 tiles only (basemap.js): on BD-09 tiles it would
    # silently draw every visit and route as WGS-84, hundreds of metres off its street.
    config["MAP_TILE_COORD_SYS"] = _coord_sys(config, "MAP_TILE_COORD_SYS", CONSOLE_TILE_COORD_SYS)
    config["TRUSTED_PROXIES"] = _proxy_count(config.get("TRUSTED_PROXIES"))


def _proxy_count(raw) -> int:
    """TRUSTED_PROXIES as a count of proxies, or stop the app."""
    text = str(0 if raw in (None, "") else raw).strip()
    if not (text.isascii() and text.isdigit()) or int(text) > 5:
        raise InvalidConfiguration(f"TRUSTED_PROXIES is {raw!r}; it must be a whole number of proxies, 0 to 5")
    return int(text)


# The coordinate systems of base maps the console can draw on.
CONSOLE_TILE_COORD_SYS = (CoordSys.WGS84, CoordSys.GCJ02)


def _coord_sys(config, name: str, allowed: tuple[CoordSys, ...]) -> CoordSys:
    """The setting as a CoordSys (case and surrounding spaces ignored; empty: wgs84), or stop the app."""
    raw = config.get(name) or CoordSys.WGS84.value
    value = str(raw).strip().lower()
    if value not in allowed:
        raise InvalidConfiguration(f"{name} is {raw!r}; it must be one of {', '.join(c.value for c in allowed)}")
    return CoordSys(value)


# Notification providers and delivery tuning (README, "Notifications"): every NOTIFY_* variable.
for _name, _value in os.environ.items():
    if _name.startswith("NOTIFY_"):
        setattr(Config, _name, _value)
