# Everything runs from .venv; the first target that needs it creates it. `make run` (and the server's targets)
# install requirements.txt only; the tests and tools install requirements-dev.txt on top. Each file has its stamp,
# named by its checksum, so an edit to either installs again.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-run-$(shell cksum requirements.txt | cut -d' ' -f1)
DEV_STAMP := $(VENV)/.installed-dev-$(shell cksum requirements-dev.txt | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
STREAM_PORT ?= 8001

.PHONY: install install-dev run serve test lint format worker beat migrate seed bench clean localstripe browser-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-run-* $(VENV)/.installed-[0-9]*
	touch $(STAMP)

$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-dev-*
	touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

# Local development: SQLite, eager Celery, local media, console email, demo data. The live stream (GET
# /api/v1/stream) is served by uvicorn on STREAM_PORT beside the dev server (which redirects it there), and stops
# with it.
run: export DEBUG ?= 1
run: export PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
run: export LIVE_STREAM_URL ?= http://$(HOST):$(STREAM_PORT)/api/v1/stream
# the admin's live notices open that stream from the admin's own origin (and storefronts from :3000)
run: export CORS_ALLOWED_ORIGINS ?= http://localhost:3000,http://127.0.0.1:3000,http://$(HOST):$(PORT)
run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Admin:    http://$(HOST):$(PORT)/admin/"
	@echo "  API docs: http://$(HOST):$(PORT)/api/docs/"
	@echo "  Live:     $(LIVE_STREAM_URL) (uvicorn)"
	@echo ""
	$(BIN)/uvicorn config.asgi:application --host $(HOST) --port $(STREAM_PORT) --log-level warning & \
	stream=$$!; trap 'kill $$stream 2>/dev/null' EXIT INT TERM; \
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

# The whole suite: SQLite by default; DATABASE_URL / REDIS_URL switch to PostgreSQL / Redis.
test: $(DEV_STAMP)
	$(BIN)/python -m pytest $(ARGS)

# The admin in headless Chromium: the dashboard, a product, an order; screenshots in docs/screenshots/.
browser-check: $(DEV_STAMP)
	$(BIN)/python tools/browser_check.py

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

format: $(DEV_STAMP)
	$(BIN)/ruff check --fix .

worker: $(STAMP)
	$(BIN)/celery -A config worker --loglevel=info

beat: $(STAMP)
	$(BIN)/celery -A config beat --loglevel=info

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

seed: $(STAMP)
	$(BIN)/python manage.py seed_demo

# A local Stripe API for the demo (localstripe, a test dependency) on loopback; then
# `STRIPE_API_BASE=http://127.0.0.1:8420 make run` (README "Card payments: Stripe").
LOCALSTRIPE_PORT ?= 8420
localstripe: $(DEV_STAMP)
	$(BIN)/python -c "import aiohttp.web, localstripe.server as s; s.store.try_load_from_disk(); \
	aiohttp.web.run_app(s.app, host='127.0.0.1', port=$(LOCALSTRIPE_PORT))"

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .test-media
