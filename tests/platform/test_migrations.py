"""The schema is built only by migrations, and the migrations match the models."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import sqlalchemy as sa
from flask_migrate import upgrade

from backend.extensions import db


def test_models_and_migrations_agree(app):
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"]}
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "check"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_postgis_is_enabled_and_locations_are_geography(app, session):
    assert session.execute(sa.text("select postgis_lib_version()")).scalar()
    column_type = session.execute(sa.text(
        "select type from geography_columns where f_table_name = 'case_addresses' and f_geography_column = 'location'"
    )).scalar()
    assert column_type == "Point"
    indexes = session.execute(sa.text(
        "select indexdef from pg_indexes where tablename = 'case_addresses' and indexdef ilike '%gist%'")).all()
    assert indexes, "case_addresses.location needs a GiST index"


def test_every_table_is_known_to_the_models(app, session):
    tables = set(session.execute(sa.text(
        "select tablename from pg_tables where schemaname = 'public'")).scalars())
    assert tables - {"spatial_ref_sys", "alembic_version"} == set(db.metadata.tables)


def test_running_the_migrations_in_process_leaves_the_apps_logging_as_it_was(app):
    # The tests build their schema in-process: alembic's fileConfig used to disable every backend.* logger
    # that existed then (nothing reached caplog or a handler) and set the root logger to WARN.
    root, handlers, level = logging.getLogger(), list(logging.getLogger().handlers), logging.getLogger().level
    root.setLevel(logging.INFO)
    try:
        with app.app_context():
            upgrade(revision="heads")  # nothing to migrate: env.py still runs
        assert (root.level, root.handlers) == (logging.INFO, handlers)
    finally:
        root.setLevel(level)
    assert "backend.jobs.service" in logging.root.manager.loggerDict  # created by create_app's imports
    assert not logging.getLogger("backend.jobs.service").disabled
