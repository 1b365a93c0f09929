#!/usr/bin/env bash
# Set up and run the whole system: PostgreSQL + PostGIS, Redis, migrations, demo data, API, workers (the default one and a warm tracing worker).
#   scripts/up.sh          set up (idempotent) and start the API and the workers in the background
#   scripts/up.sh stop     stop the API and the workers
source "$(dirname "$0")/lib.sh"
RUN="$ROOT/var/run"; LOGS="$ROOT/var/log"; mkdir -p "$RUN" "$LOGS"
API_PORT="${API_PORT:-8000}"

stop() {
  for name in api worker tracing-worker; do
    if [ -f "$RUN/$name.pid" ] && kill -0 "$(cat "$RUN/$name.pid")" 2>/dev/null; then
      kill "$(cat "$RUN/$name.pid")" && log "stopped $name"
    fi
    rm -f "$RUN/$name.pid"
  done
}
[ "${1:-}" = stop ] && { stop; exit 0; }

ensure_system
ensure_postgres
ensure_redis
ensure_venv
ensure_console

DB_NAME="${DB_NAME:-fieldtrace}"
if ! psql "postgresql://$PG_USERPASS@$PG_HOST:$PG_PORT/postgres" -tAc "select 1 from pg_database where datname = '$DB_NAME'" | grep -q 1; then
  log "creating database $DB_NAME"
  psql -q "postgresql://$PG_USERPASS@$PG_HOST:$PG_PORT/postgres" -c "CREATE DATABASE \"$DB_NAME\""
fi
export DATABASE_URL="$(pg_url "$DB_NAME")"
export REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/0"
export SECRET_KEY="${SECRET_KEY:-$(cat "$ROOT/var/secret_key" 2>/dev/null || (head -c 32 /dev/urandom | base64 | tee "$ROOT/var/secret_key"))}"
cd "$ROOT"
log "migrating"
"$VENV/bin/flask" --app wsgi db upgrade >/dev/null
log "loading demo data"
"$VENV/bin/flask" --app wsgi seed-demo | tee "$RUN/demo.txt"

stop
log "starting worker and API"
nohup "$VENV/bin/python" -m worker >"$LOGS/worker.log" 2>&1 &
echo $! >"$RUN/worker.pid"
# Everyday tracing lookups on a warm worker that runs them in-process (no fork, polars already warm):
# job p50 45 ms instead of 129 ms in a freshly forked work horse (bench/tracing.py, 2026-12-07).
# The worker above serves the queue too, and takes over a lookup while this one runs a large one.
nohup "$VENV/bin/python" -m worker --no-cron --no-fork --queues tracing >"$LOGS/tracing-worker.log" 2>&1 &
echo $! >"$RUN/tracing-worker.pid"
# 3 processes x 2 threads on 2 cores: the lowest p99 in bench/outcomes.py (more threads per process
# queue on its GIL; 4 processes or 1 thread each let connections pile up on one worker).
nohup "$VENV/bin/gunicorn" --workers 3 --threads 2 --bind "127.0.0.1:$API_PORT" \
  --access-logfile "$LOGS/api-access.log" wsgi:app >"$LOGS/api.log" 2>&1 &
echo $! >"$RUN/api.pid"
for _ in $(seq 40); do curl -fs "http://127.0.0.1:$API_PORT/api/v1/health" >/dev/null 2>&1 && break; sleep 0.5; done

cat <<INFO

FieldTrace is up.
  console    http://127.0.0.1:$API_PORT/console/   (/ redirects there; base map: \$MAP_TILE_URL, OpenStreetMap by default)
             dispatcher, supervisor, tracer — password fieldtrace-demo
  API        http://127.0.0.1:$API_PORT/api/v1   (OpenAPI: /api/v1/openapi.json, health: /api/v1/health)
  workers    python -m worker (pid $(cat "$RUN/worker.pid")) and a warm tracing worker (pid $(cat "$RUN/tracing-worker.pid")), logs in var/log/
  database   $DATABASE_URL
  logins     admin, dispatcher, supervisor, tracer, collector01..collector12 — password fieldtrace-demo
  try        TOKEN=\$(curl -s -X POST localhost:$API_PORT/api/v1/auth/token -H 'Content-Type: application/json' \\
               -d '{"username":"dispatcher","password":"fieldtrace-demo"}' | python3 -c 'import json,sys;print(json.load(sys.stdin)["access_token"])')
             curl -s -H "Authorization: Bearer \$TOKEN" 'localhost:$API_PORT/api/v1/cases?page_size=3'
  stop       scripts/up.sh stop
INFO
