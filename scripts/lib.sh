# Shared setup for scripts/up.sh and scripts/test.sh: system packages, services, virtualenv.
# Works as root or as a user with sudo; uses PostgreSQL/Redis already running when it finds them.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PG_HOST="${PG_HOST:-127.0.0.1}"
PG_PORT="${PG_PORT:-5432}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6379}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else log "need root for: $*  (run as root or install sudo)"; return 1; fi
}

as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"
  else sudo -u postgres "$@"; fi
}

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

pg_ready() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_ready() { redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }

ensure_system() {
  command -v pg_isready >/dev/null && command -v redis-cli >/dev/null || apt_install postgresql redis-server
  python3 -c 'import venv, ensurepip' 2>/dev/null || apt_install python3-venv
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || { log "Python 3.11+ is required (Debian 12 / Ubuntu 24.04 ship it)"; exit 1; }
}

ensure_postgres() {
  if ! pg_ready; then
    log "starting PostgreSQL"
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    [ -n "$version" ] || apt_install postgresql
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster "$version" main start
    for _ in $(seq 30); do pg_ready && break; sleep 1; done
  fi
  pg_ready || { log "PostgreSQL is not answering on $PG_HOST:$PG_PORT"; exit 1; }
  # The role we connect as: postgres over TCP when trusted (CI images), else our own role.
  if psql "postgresql://postgres@$PG_HOST:$PG_PORT/postgres" -tAc 'select 1' >/dev/null 2>&1; then
    PG_USERPASS="postgres"
  else
    PG_USERPASS="fieldtrace:fieldtrace"
    if ! psql "postgresql://$PG_USERPASS@$PG_HOST:$PG_PORT/postgres" -tAc 'select 1' >/dev/null 2>&1; then
      log "creating PostgreSQL role fieldtrace"
      as_postgres psql -q -c "CREATE ROLE fieldtrace LOGIN PASSWORD 'fieldtrace' CREATEDB" || true
    fi
  fi
  export PG_USERPASS
  ensure_postgis
}

ensure_postgis() {
  local url="postgresql://$PG_USERPASS@$PG_HOST:$PG_PORT/postgres"
  local major
  major="$(psql "$url" -tAc 'show server_version_num' | cut -c1-2)"
  if [ "$(psql "$url" -tAc "select count(*) from pg_available_extensions where name = 'postgis'")" = 0 ]; then
    apt_install "postgresql-$major-postgis-3"
  fi
  if [ "$PG_USERPASS" != postgres ]; then
    # PostGIS needs a superuser to install; put it in template1 so every new database has it.
    as_postgres psql -q -d template1 -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  fi
}

ensure_redis() {
  if ! redis_ready; then
    log "starting Redis"
    command -v redis-server >/dev/null || apt_install redis-server
    local dir="$ROOT/var/redis"; mkdir -p "$dir"
    redis-server --daemonize yes --bind "$REDIS_HOST" --port "$REDIS_PORT" --save "" --appendonly no \
      --dir "$dir" --logfile "$dir/redis.log"
    for _ in $(seq 20); do redis_ready && break; sleep 0.5; done
  fi
  redis_ready || { log "Redis is not answering on $REDIS_HOST:$REDIS_PORT"; exit 1; }
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtualenv .venv"
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$(sha1sum "$ROOT/pyproject.toml" | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    log "installing Python packages"
    "$VENV/bin/pip" install -q --upgrade pip >/dev/null
    "$VENV/bin/pip" install -q -e "$ROOT[dev]"
    rm -f "$VENV"/.installed-*; touch "$stamp"
  fi
}

# The console's front end: Debian's Chromium (browser tests), Node and npm, a CJK font for the
# screenshots; `npm ci` and the build whenever the lockfile or the build script changed.
ensure_console() {
  command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
  [ -x /usr/bin/chromium ] || apt_install chromium
  dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || apt_install fonts-wqy-microhei
  local dir="$ROOT/console"
  local stamp="$dir/node_modules/.installed-$(cat "$dir/package-lock.json" "$dir/build.mjs" | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ] || [ ! -f "$dir/static/vendor/BUILT" ]; then
    log "building the console (npm ci)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null && node build.mjs >/dev/null)
    rm -f "$dir"/node_modules/.installed-*; touch "$stamp"
  fi
}

pg_url() { echo "postgresql+psycopg://$PG_USERPASS@$PG_HOST:$PG_PORT/$1"; }
