"""FieldTrace back office: the Flask app factory."""
from __future__ import annotations

import importlib
import importlib.util
import logging

import flask_smorest
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from backend import (
    audit,
    auth,
    cases,
    console,
    contacts,
    fieldday,
    geocoding,
    health,
    jobs,
    notify,
    planning,
    policy,
    safety,
    sync,
    tracing,
    visits,
)
from backend.config import Config, check_secret_key, parse_settings

# Every package's register(app) (blueprints, offline-write types, signal receivers, health checks), in this
# order: nothing registers itself by being imported. Their `models` are imported so Alembic and the ORM
# see every table.
FEATURES = (health, auth, policy, audit, geocoding, cases, jobs, notify, visits, sync, planning, safety, contacts,
            tracing, fieldday, console)


def create_app(config: dict | None = None) -> Flask:
    """Build the app: config, extensions, error handlers, blueprints, CLI."""
    from backend.errors import register_error_handlers
    from backend.extensions import api, db, migrate, redis_conn
    from backend.http import IdConverter, StorableArgumentsParser, limit_request_body
    from backend.openapi import ClientContractPlugin
    from backend.security import add_security_headers

    app = Flask(__name__)
    app.config.from_object(Config)
    if config:
        app.config.update(config)
    check_secret_key(app.config)
    parse_settings(app.config)
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    # Before any blueprint adds a rule: `<int:...>` ids stop at what an integer column holds.
    app.url_map.converters["int"] = IdConverter
    logging.basicConfig(level=logging.INFO)

    db.init_app(app)
    migrate.init_app(app, db, directory=app.config.get("MIGRATIONS_DIR", _migrations_dir()))
    redis_conn.init_app(app)
    # The OpenAPI document clients generate from: operationIds, documented errors, Idempotency-Key.
    api.init_app(app, spec_kwargs={"extra_plugins": [ClientContractPlugin(app)]})
    register_error_handlers(app)
    # First of every before_request: a body over its limit is refused before anything reads it.
    app.before_request(limit_request_body)
    app.after_request(add_security_headers)
    if app.config["TRUSTED_PROXIES"]:
        # The client's address (login and acknowledgement-code throttles, audit) from the proxies' header.
        proxies = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)
    # Every blueprint's @blp.arguments parses with it: unstorable text is refused after authentication,
    # on what the endpoint actually reads.
    flask_smorest.Blueprint.ARGUMENTS_PARSER = StorableArgumentsParser()

    import_models()
    for feature in FEATURES:
        feature.register(app)

    from backend.cli import register_cli

    register_cli(app)
    return app


def import_models() -> None:
    """Import every feature's models so the metadata (and Alembic) knows all tables."""
    importlib.import_module("backend.idempotency")
    for feature in FEATURES:
        if importlib.util.find_spec(f"{feature.__name__}.models") is not None:
            importlib.import_module(f"{feature.__name__}.models")


def _migrations_dir() -> str:
    import os

    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")
