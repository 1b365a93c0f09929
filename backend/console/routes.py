"""Serve the console's files at /console/ with a strict CSP; `/` redirects there."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, jsonify, redirect, request, send_from_directory

bp = Blueprint("console", __name__)

# The front end's folder at the repository root (console/static), or CONSOLE_DIR when deployed elsewhere.
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "console" / "static"


def static_dir() -> Path:
    return Path(current_app.config.get("CONSOLE_DIR") or DEFAULT_DIR)


def tile_source(url: str) -> str | None:
    """The CSP source that admits the tile server: scheme and host; a placeholder in the host's first
    label (`{s}.tile…`, `webrd0{s}.is.autonavi.com`) becomes the `*.` wildcard CSP allows."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    labels = parts.netloc.split(".")
    if "{" in labels[0]:
        labels[0] = "*"
    if any("{" in label for label in labels[1:]) or len(labels) < 2 and labels[0] == "*":
        return None
    return f"{parts.scheme}://{'.'.join(labels)}"


def content_security_policy(tile_url: str) -> str:
    """Nothing but this origin, except map tiles as images; no inline script or style, no framing."""
    tiles = tile_source(tile_url)
    images = "'self' data:" + (f" {tiles}" if tiles else "")
    return ("default-src 'none'; script-src 'self'; style-src 'self'; "
            f"img-src {images}; connect-src 'self'; font-src 'self'; media-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'; object-src 'none'")


def build_headers(app) -> None:
    """Build the console's response headers once, from the configuration (register; again only when a
    test changes MAP_TILE_URL under a running app). No-referrer and nosniff come with every answer
    (backend/security.py)."""
    app.extensions["console_headers"] = {
        "Content-Security-Policy": content_security_policy(app.config["MAP_TILE_URL"]),
        "Cache-Control": "no-cache",
    }


@bp.after_app_request
def console_headers(response):
    """Console pages carry the CSP and never leak the URL or get cached with a token in them."""
    if request.path.startswith("/console"):
        response.headers.update(current_app.extensions["console_headers"])
    return response


@bp.get("/")
def root():
    return redirect("/console/", code=302)


@bp.get("/console")
def console_bare():
    return redirect("/console/", code=301)


@bp.get("/console/")
def console_index():
    return send_from_directory(static_dir(), "index.html")


@bp.get("/console/config.json")
def console_config():
    """What the front end needs before login: the base map and its coordinate system."""
    config = current_app.config
    return jsonify({"tile_url": config["MAP_TILE_URL"], "tile_attribution": config["MAP_TILE_ATTRIBUTION"],
                    "tile_coord_sys": config["MAP_TILE_COORD_SYS"], "api": "/api/v1"})


@bp.get("/console/<path:filename>")
def console_file(filename: str):
    if filename.startswith("vendor/") and not (static_dir() / "vendor" / "BUILT").exists():
        abort(503, "the console's vendor files are not built: run scripts/up.sh (npm ci && node console/build.mjs)")
    return send_from_directory(static_dir(), filename)
