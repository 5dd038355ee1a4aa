#!/usr/bin/env bash
# Start gunicorn + one Celery worker on Postgres + Redis (from .ci/services.sh),
# run bench/load.py against it, stop everything. Loopback only; bounded.
#   bash bench/load_stack.sh [SECONDS] [CLIENTS] [SUBMIT_RATIO]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_RUN=${1:-20}
CLIENTS=${2:-8}
RATIO=${3:-0.1}
PORT=${LOAD_PORT:-8001}
GUNICORN_WORKERS=${GUNICORN_WORKERS:-3}
PY=.venv/bin/python

eval "$(bash .ci/services.sh)"
export PYTHONPATH="$PWD:$PWD/platform"
export DJANGO_SETTINGS_MODULE=earthbench.settings.production
export DJANGO_SECRET_KEY="load-test-$(head -c 48 /dev/urandom | base64 | tr -d '/+=' )"
export DJANGO_SECURE_SSL_REDIRECT=0 DJANGO_ALLOWED_HOSTS=127.0.0.1,localhost
export DATABASE_URL=$EARTHBENCH_PG_URL CELERY_BROKER_URL=$EARTHBENCH_REDIS_URL
export DATABASE_CONN_MAX_AGE=60 LOG_LEVEL=WARNING
export EARTHBENCH_VAR_DIR=${EARTHBENCH_VAR_DIR:-/tmp/earthbench-load}
mkdir -p "$EARTHBENCH_VAR_DIR"

$PY manage.py migrate --noinput -v 0
$PY manage.py load_catalog --only eurosat-classification-v1 >/dev/null
TOKEN=$($PY manage.py demo_user --username loadtest --token-only)
# The daily quota would turn most uploads into 429s: lift it for this run.
$PY manage.py shell -c "
from earthbench.benchmarks.models import Benchmark
Benchmark.objects.filter(slug='eurosat-classification-v1').update(daily_quota=10**6, max_in_flight=10**6)"
PRED="$EARTHBENCH_VAR_DIR/storage/benchmarks/eurosat-classification-v1/public/sample_submission.csv"

.venv/bin/celery -A earthbench worker -Q scoring,gpu --pool=solo -l warning \
  >"$EARTHBENCH_VAR_DIR/worker.log" 2>&1 & WORKER=$!
.venv/bin/gunicorn earthbench.wsgi:application --bind 127.0.0.1:$PORT \
  --workers "$GUNICORN_WORKERS" --log-level warning \
  >"$EARTHBENCH_VAR_DIR/gunicorn.log" 2>&1 & WEB=$!
trap 'kill $WEB $WORKER 2>/dev/null; wait $WEB $WORKER 2>/dev/null || true' EXIT
for _ in $(seq 60); do
  curl -fsS "http://127.0.0.1:$PORT/api/v1/benchmarks/" >/dev/null 2>&1 && break
  sleep 0.5
done

START=$(date -u +%Y-%m-%dT%H:%M:%S)
$PY bench/load.py --url "http://127.0.0.1:$PORT" --token "$TOKEN" \
  --benchmark eurosat-classification-v1 --file "$PRED" \
  --seconds "$SECONDS_RUN" --clients "$CLIENTS" --submit-ratio "$RATIO"
# What the single worker got through while the web tier was under load.
$PY manage.py shell -v 0 -c "
from collections import Counter
from earthbench.submissions.models import Submission as S
subs = S.objects.filter(created_at__gte='${START}+00:00', method_name='load-test')
print('load-test submissions by status at the end:', dict(Counter(subs.values_list('status', flat=True))))"
