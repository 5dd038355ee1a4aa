#!/usr/bin/env bash
# Start a real PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) for the
# integration tests, installing Debian's packages when missing. Idempotent: a
# second run finds both answering and changes nothing.
#
# Prints the variables to export on stdout (everything else goes to stderr):
#   eval "$(bash .ci/services.sh)"
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PG_USER=earthbench
PG_PASSWORD=earthbench
PG_DB=earthbench
PG_HOST=127.0.0.1
PG_PORT=5432
REDIS_PORT=6379

log() { echo "services: $*" >&2; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq >&2 || true
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  fi
}

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else sudo -u postgres "$@"; fi
}

wait_until() {  # wait_until SECONDS CMD...
  local limit=$1; shift
  for _ in $(seq 1 $((limit * 4))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  "$@"
}

pg_answers() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT"; }
redis_answers() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

start_postgres() {
  # Any installed server version will do; install Debian's only when none is.
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || ! command -v psql >/dev/null; then
    apt_install postgresql
  fi
  if pg_answers; then log "postgres already answering on $PG_HOST:$PG_PORT"; return; fi
  if command -v pg_lsclusters >/dev/null && [ -n "$(pg_lsclusters -h 2>/dev/null)" ]; then
    # Debian's cluster: the first one listed (normally <version> main on 5432).
    read -r ver name _ < <(pg_lsclusters -h | head -n1)
    log "starting cluster $ver/$name"
    pg_ctlcluster "$ver" "$name" start >&2 || true
  else
    local bindir datadir=/var/lib/postgresql/earthbench-ci
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
    if [ ! -s "$datadir/PG_VERSION" ]; then
      mkdir -p "$datadir" && chown postgres:postgres "$datadir"
      as_postgres "$bindir/initdb" -D "$datadir" -A scram-sha-256 --pwfile=<(echo postgres) >&2
    fi
    mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
    as_postgres "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -w \
      -o "-c listen_addresses=$PG_HOST -p $PG_PORT" start >&2
  fi
  wait_until 30 pg_answers || { log "postgres did not come up"; exit 1; }
}

ensure_pg_role() {
  # Through the local socket as the postgres superuser (peer authentication).
  as_postgres psql -q -v ON_ERROR_STOP=1 -p "$PG_PORT" -d postgres >&2 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE $PG_USER LOGIN PASSWORD '$PG_PASSWORD' CREATEDB;
  ELSE
    ALTER ROLE $PG_USER LOGIN PASSWORD '$PG_PASSWORD' CREATEDB;
  END IF;
END \$\$;
SQL
  if ! as_postgres psql -tA -p "$PG_PORT" -d postgres \
      -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'" | grep -q 1; then
    as_postgres createdb -p "$PG_PORT" -O "$PG_USER" "$PG_DB" >&2
  fi
  # CREATEDB: Django's test runner creates (and drops) test_<name> itself.
  PGPASSWORD=$PG_PASSWORD wait_until 10 psql -q -h "$PG_HOST" -p "$PG_PORT" \
    -U "$PG_USER" -d "$PG_DB" -c "SELECT 1" \
    || { log "cannot log in as $PG_USER over TCP"; exit 1; }
}

start_redis() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || apt_install redis-server
  if redis_answers; then log "redis already answering on 127.0.0.1:$REDIS_PORT"; return; fi
  log "starting redis-server"
  mkdir -p /tmp/earthbench-redis
  # appendonly: queued tasks survive a crash of the broker (at most ~1 s lost).
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --appendonly yes \
    --dir /tmp/earthbench-redis --logfile /tmp/earthbench-redis/redis.log >&2
  wait_until 15 redis_answers || { log "redis did not come up"; exit 1; }
}

start_postgres
ensure_pg_role
start_redis
log "postgres and redis are up"
echo "export EARTHBENCH_PG_URL=postgres://$PG_USER:$PG_PASSWORD@$PG_HOST:$PG_PORT/$PG_DB"
echo "export EARTHBENCH_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
