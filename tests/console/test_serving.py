"""The console is served by the API's own app: `/` leads there, a strict CSP, the map's settings."""
from __future__ import annotations

import pytest

from backend import create_app
from backend.config import InvalidConfiguration, parse_settings
from backend.console.routes import tile_source
from backend.coords import CoordSys


def test_root_redirects_to_the_console(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/")


def test_console_page_has_a_strict_policy(client):
    response = client.get("/console/")
    assert response.status_code == 200
    assert b'<script type="module" src="js/app.js">' in response.data
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "connect-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_config_names_the_tile_url_and_its_coordinate_system(app, client):
    response = client.get("/console/config.json")
    assert response.json["tile_url"] == app.config["MAP_TILE_URL"]
    assert response.json["tile_coord_sys"] == "wgs84"
    assert response.json["api"] == "/api/v1"


def test_a_tile_system_the_console_cannot_draw_on_stops_the_app_at_start_naming_the_setting():
    # The console shifts positions onto WGS-84 or GCJ-02 tiles only: on BD-09 ones it would draw silently off.
    for bad in ("bd09", "baidu"):
        with pytest.raises(InvalidConfiguration, match=f"MAP_TILE_COORD_SYS is '{bad}'; it must be one of wgs84, gcj02"):
            create_app({"TESTING": True, "MAP_TILE_COORD_SYS": bad,
                        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nowhere/none"})
    config = {"MAP_TILE_COORD_SYS": " GCJ02 ", "DEFAULT_COORD_SYS": "bd09"}  # a phone app may still send BD-09
    parse_settings(config)
    assert (config["MAP_TILE_COORD_SYS"], config["DEFAULT_COORD_SYS"]) == (CoordSys.GCJ02, CoordSys.BD09)
    parse_settings(empty := {"MAP_TILE_COORD_SYS": ""})
    assert empty["MAP_TILE_COORD_SYS"] is CoordSys.WGS84


def test_tile_hosts_admitted_by_the_policy():
    assert tile_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == "https://*.tile.openstreetmap.org"
    assert tile_source("https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}") == \
        "https://*.is.autonavi.com"
    assert tile_source("not a url") is None


def test_unknown_console_file_is_404(client):
    assert client.get("/console/js/no-such-module.js").status_code == 404
    assert client.get("/console/../pyproject.toml").status_code == 404


def test_api_paths_carry_no_console_policy(client):
    assert "Content-Security-Policy" not in client.get("/api/v1/health").headers
