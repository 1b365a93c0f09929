"""Browser fixtures: the real app served by a real HTTP server thread on this run's PostGIS database,
a real `python -m worker` process on this run's queues, Debian's Chromium driven by Playwright, the demo data,
and a recorder that keeps every request and response the console makes."""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from backend.console.routes import build_headers
from backend.demo.seed import seed_demo
from backend.extensions import db
from backend.policy.defaults import DEFAULTS
from backend.timeutil import utcnow
from tests.conftest import _clear_redis

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
# Unreachable on purpose: the console must work on its plain background, and the test proves that
# tiles are the only requests that may leave the origin.
TILE_HOST = "tiles.fieldtrace.invalid"
TILE_URL = f"http://{TILE_HOST}/{{z}}/{{x}}/{{y}}.png"
LODGING = {"lat": 30.712345, "lon": 104.098765, "name": "测试旅馆 LODGING-MARK"}
SECRETS = ("30.71234", "104.09876", "LODGING-MARK")

# The fast planning numbers, applied in the worker process as in this one.
FAST_PLANNING = {"routing.sync_max_visits": 5, "routing.time_limit_s": 1, "routing.sync_time_limit_s": 0.5}
WORKER = ("import json, sys; from backend.policy.defaults import DEFAULTS; DEFAULTS.update(json.loads(sys.argv[1])); "
          "from worker.__main__ import main; main(['--no-cron'])")


@pytest.fixture(scope="module")
def fast_planning():
    """Plans above 5 visits go to the worker as a job (the console shows its progress bar); small budgets."""
    saved = {k: DEFAULTS[k] for k in ("routing.sync_max_visits", "routing.time_limit_s", "routing.sync_time_limit_s")}
    DEFAULTS.update(FAST_PLANNING)
    yield
    DEFAULTS.update(saved)


@pytest.fixture(scope="module")
def demo(app, fast_planning):
    """The demo data committed to this run's database; truncated at the end."""
    with app.app_context():
        seed_demo(db.session, n_cases=90, n_collectors=4)
        db.session.commit()
    yield
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as connection:
            connection.execute(sa.text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        _clear_redis(app)


@pytest.fixture(scope="module")
def live_server(app, demo):
    """The app on a real HTTP server thread; yields its base URL."""
    saved_tiles, app.config["MAP_TILE_URL"] = app.config["MAP_TILE_URL"], TILE_URL
    build_headers(app)  # the console's CSP admits the tile host it is built with
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
           "QUEUE_PREFIX": app.config["QUEUE_PREFIX"]}
    worker = subprocess.Popen([sys.executable, "-c", WORKER, json.dumps(FAST_PLANNING)], env=env, cwd=ROOT,
                              start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.config["MAP_TILE_URL"] = saved_tiles
    build_headers(app)
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def browser_ready() -> str | None:
    """Why the browser tests cannot run here, or None (scripts/test.sh installs all of it)."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not (ROOT / "console" / "static" / "vendor" / "BUILT").exists():
        return "console vendor files not built (cd console && npm ci && node build.mjs)"
    return None


def require_browser() -> None:
    """Skip the calling test module when the browser cannot run here (called at module level)."""
    if browser_ready():
        # The test command installs the browser and builds the console: there a missing part is a failure,
        # never a quiet skip. A bare pytest elsewhere may skip.
        if os.environ.get("FIELDTRACE_REQUIRE_BROWSER"):
            raise RuntimeError(f"browser tests cannot run: {browser_ready()}")
        pytest.skip(browser_ready(), allow_module_level=True)


@pytest.fixture(scope="session")
def browser():
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update"])
        yield browser
        browser.close()


class Recorder:
    """Every request the page makes and every response body it reads."""

    def __init__(self, origin: str):
        self.origin = origin
        self.requests: list[str] = []
        self.bodies: list[str] = []

    def on_request(self, request):
        self.requests.append(request.url)

    def on_response(self, response):
        if response.url.startswith(self.origin):
            try:
                self.bodies.append(response.body().decode("utf-8", "replace"))
            except Exception:  # a redirect or an aborted body has none
                pass

    def off_origin(self) -> list[str]:
        """Requests that left the origin other than map tiles (data: and blob: never leave the page)."""
        return [u for u in self.requests if not u.startswith(self.origin + "/") and urlsplit(u).hostname != TILE_HOST
                and not u.startswith(("data:", "blob:"))]


@pytest.fixture
def console(browser, live_server, request):
    """A fresh browser context on the console (viewport of a landscape tablet); yields (page, recorder).

    Afterwards: nothing left the origin but tiles."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai")
    context.route(f"http://{TILE_HOST}/**", lambda route: route.abort())
    page = context.new_page()
    recorder = Recorder(live_server)
    page.on("request", recorder.on_request)
    page.on("response", recorder.on_response)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page, recorder
    context.close()
    assert recorder.off_origin() == []
    assert errors == []


def login(page, base: str, username: str, screen: str) -> None:
    page.goto(base + "/")
    page.fill("#login input[name=username]", username)
    page.fill("#login input[name=password]", "fieldtrace-demo")
    page.click("#login button[type=submit]")
    page.wait_for_selector(f"main[data-ready={screen}]", timeout=15000)


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None,
         headers: dict | None = None) -> dict:
    """The API as another client calls it (a collector's phone, a second dispatcher)."""
    request = urllib.request.Request(base + "/api/v1" + path, method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json",
                                              **({"Authorization": f"Bearer {token}"} if token else {}),
                                              **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def token(base: str, username: str) -> str:
    return call(base, "POST", "/auth/token", body={"username": username, "password": "fieldtrace-demo"})["access_token"]


@pytest.fixture(scope="module")
def lodging(live_server):
    """collector01 sleeps away from home tonight: tomorrow's route starts there, and nobody may see it."""
    now = utcnow()
    call(live_server, "POST", "/safety/lodgings", token(live_server, "collector01"),
         {**LODGING, "address": "LODGING-MARK 路 1 号", "check_in": (now - timedelta(hours=1)).isoformat(),
          "check_out": (now + timedelta(days=1, hours=4)).isoformat()})
    return LODGING


@pytest.fixture(scope="module")
def homes(app, demo) -> list[tuple[str, str]]:
    """Every collector's home as the first five decimals of latitude and longitude: found as a pair, a home."""
    with app.app_context():
        rows = db.session.execute(sa.text(
            "SELECT ST_Y(home::geometry), ST_X(home::geometry) FROM users WHERE home IS NOT NULL")).all()
    return [(_five(lat), _five(lon)) for lat, lon in rows]


def _five(value: float) -> str:
    whole, _, decimals = f"{value:.9f}".partition(".")
    return f"{whole}.{decimals[:5]}"


def assert_no_lodging(page, recorder, homes=()) -> None:
    """No lodging and no collector's home in the page or in any answer the console received."""
    seen = page.content() + "".join(recorder.bodies)
    assert [s for s in SECRETS if s in seen] == []
    assert [home for home in homes if home[0] in seen and home[1] in seen] == []
