# EarthBench: `make demo` and `make test` work on a fresh machine.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
export PYTHONPATH := $(CURDIR):$(CURDIR)/platform:$(CURDIR)/client
# The entry points (manage.py, wsgi, celery) default to production settings:
# the demo and the tests choose theirs explicitly.
TEST_SETTINGS := DJANGO_SETTINGS_MODULE=earthbench.settings.test
# `make test` spreads the suite over pytest-xdist workers: one per core plus one, since
# many tests wait on subprocesses, live servers and JVMs (3 workers on 2 cores: 4 min
# 20-40 s on a quiet machine); TEST_WORKERS=0 runs it in one process (docs/performance.md,
# "The test suite").
# --maxschedchunk 1: tests are handed out one at a time as workers free up (xdist's
# default queues a quarter of the suite per worker up front, and a queued test is
# never moved: one worker ran every slow test while the other sat idle for 4 minutes).
TEST_WORKERS ?= $(shell echo $$(( $$(nproc 2>/dev/null || echo 1) + 1 )))
PARALLEL := -n $(TEST_WORKERS) --dist load --maxschedchunk 1
# Every worker and every manage.py subprocess imports the project; with the bytecode
# cache on (an environment may turn it off) that costs about half the CPU. The
# cache lands in __pycache__/, which git ignores.
test test-quick test-integration: export PYTHONDONTWRITEBYTECODE :=

.PHONY: venv demo test test-integration test-quick lint clean bench

$(STAMP): requirements.txt client/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q -e client
	touch $(STAMP)

venv: $(STAMP)

# The site is served once every benchmark is listed and the EuroSAT demo data
# (the README's example) is in; the other demo datasets, the /downloads/ wheels
# and the baselines (with intervals) follow in the background (`manage.py
# demo_background`, log in var/demo-background.log, progress on the catalog page).
demo: export DJANGO_SETTINGS_MODULE = earthbench.settings.dev
demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py collectstatic --noinput -v 0
	$(BIN)/python manage.py load_catalog --no-baselines --only eurosat-classification-v1
	$(BIN)/python manage.py demo_bundle
	cp var/storage/benchmarks/eurosat-classification-v1/public/sample_submission.csv var/demo-predictions.csv
	$(BIN)/python manage.py demo_user --url http://$(HOST):$(PORT)
	@echo "Starting worker and web server on http://$(HOST):$(PORT) (Ctrl-C stops both)"
	@echo "Demo data, downloads and baselines finish in the background (var/demo-background.log)"
	@trap 'kill $$WORKER $$SETUP 2>/dev/null' EXIT INT TERM; \
	$(BIN)/celery -A earthbench worker -Q scoring,gpu --pool=solo --beat \
		--schedule var/celerybeat-schedule -l warning & WORKER=$$!; \
	$(BIN)/python manage.py demo_background > var/demo-background.log 2>&1 & SETUP=$$!; \
	$(BIN)/python manage.py runserver --noreload $(HOST):$(PORT)

# The whole suite. pytest's exit code 5 ("no tests collected") is a failure here.
test: $(STAMP)
	$(TEST_SETTINGS) $(BIN)/python -m pytest -p no:cacheprovider $(PARALLEL) $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests" >&2; exit 1; fi; exit $$rc

# The same platform suite plus the fault-injection tests on real PostgreSQL + Redis
# (start them with `eval "$$(bash .ci/services.sh)"`).
test-integration: $(STAMP)
	$(TEST_SETTINGS) EARTHBENCH_INTEGRATION=1 DATABASE_URL=$${EARTHBENCH_PG_URL:?run .ci/services.sh} \
	CELERY_BROKER_URL=$${EARTHBENCH_REDIS_URL:?run .ci/services.sh} \
	$(BIN)/python -m pytest -p no:cacheprovider tests/integration tests/platform

test-quick: $(STAMP)
	$(TEST_SETTINGS) $(BIN)/python -m pytest -q $(PARALLEL) -m "not slow and not docker and not browser and not integration"

lint: $(STAMP)
	$(BIN)/ruff check .

# Every generated figure of docs/performance.md, re-measured in one run
# (BENCH_ARGS=--quick for a smoke run; see bench/regenerate.py).
bench: $(STAMP)
	$(BIN)/python bench/regenerate.py $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache
