#!/usr/bin/env bash
# Set up what the tests need (PostgreSQL + PostGIS, Redis, virtualenv) and run the test suite.
source "$(dirname "$0")/lib.sh"
ensure_system
ensure_postgres
ensure_redis
ensure_venv
ensure_console
export TEST_DATABASE_ADMIN_URL="$(pg_url postgres)"
export TEST_REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/15"
export FIELDTRACE_REQUIRE_BROWSER=1  # ensure_console set the browser up: its tests must run, not skip
cd "$ROOT"
log "running tests"
exec "$VENV/bin/python" -m pytest -p no:cacheprovider "$@"
