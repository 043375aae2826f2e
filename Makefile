# RDEC Workflow. `make run` tries the product with no servers; `make test` is what CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# Newer than requirements.lock means the venv already holds it: a second `make run` starts in seconds.
STAMP := $(VENV)/.installed-from-lock
VAR_DIRS := var/broker/out var/broker/control var/broker/processed var/media var/static var/screenshots
TEST_SETTINGS := DJANGO_SETTINGS_MODULE=workflow_site.settings.test
# This machine's pip warns about every local index it ignores; drop those lines but keep pip's exit
# status (pipefail) and everything else it says. grep exits 1 when it printed nothing, which is fine.
QUIET_PIP := { grep -v "^WARNING: Location '.*' is ignored" || test $$? -eq 1; }

.PHONY: help run test lint fmt migrations migrations-check bench lock venv var services chromium backup restore

help:
	@echo "make run     start web + Celery worker + beat on http://127.0.0.1:$(PORT)/ (SQLite, no servers)"
	@echo "make test    services, lint, migrations check, pytest (PostgreSQL + Redis + Chromium)"
	@echo "make lint | fmt | migrations | bench | lock"
	@echo "make backup | restore BACKUP=var/backups/rdec-YYYYmmdd-HHMMSS"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements.lock 2>&1 | $(QUIET_PIP)
	touch $@

venv: $(STAMP)

var:
	@mkdir -p $(VAR_DIRS)

run: venv var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	exec $(BIN)/python scripts/run.py --port $(PORT)

# PostgreSQL and Redis are installed but may not be running (containers start no services).
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | tail -n1) main start
	@test "$$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = PONG \
		|| redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
	@for i in $$(seq 60); do \
		if pg_isready -q -h 127.0.0.1 -p 5432 && test "$$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = PONG; then \
			break; fi; \
		if [ $$i -eq 60 ]; then echo "PostgreSQL or Redis did not come up on 127.0.0.1" >&2; exit 1; fi; \
		sleep 0.5; \
	done
	@# The test settings' own database (pytest uses test_rdec); without it makemigrations warns.
	@psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'rdec'" | grep -q 1 \
		|| createdb -h 127.0.0.1 -U postgres rdec

# Playwright cannot download its browser here: the browser tests drive Debian's Chromium.
chromium:
	@if [ ! -x /usr/bin/chromium ] || ! dpkg -s fonts-noto-cjk >/dev/null 2>&1; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; \
	fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations: venv var
	$(BIN)/python manage.py makemigrations

migrations-check: venv services
	$(TEST_SETTINGS) $(BIN)/python manage.py makemigrations --check --dry-run

test: services chromium venv var lint migrations-check
	$(BIN)/pytest --create-db

# Each bench script sets Django up on the test settings' database itself and prints its figures;
# bench/_*.py are their shared helpers.
bench: services venv
	@shopt -s nullglob; for script in bench/[!_]*.py; do \
		echo "== $$script"; \
		$(TEST_SETTINGS) $(BIN)/python $$script; \
	done

# The database (PostgreSQL: pg_dump's custom format; SQLite: its online backup) and the uploaded files, into a new
# folder var/backups/rdec-<UTC time>/. Settings and DATABASE_URL as for the site (DJANGO_SETTINGS_MODULE).
backup: venv var
	$(BIN)/python manage.py backup

# Replaces the database and the uploaded files with BACKUP's; asks first.
restore: venv var
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=var/backups/rdec-YYYYmmdd-HHMMSS" >&2; exit 2; }
	$(BIN)/python manage.py restore "$(BACKUP)"

lock: venv
	$(BIN)/pip-compile -q --strip-extras --extra dev --no-emit-index-url --no-emit-find-links \
		-o requirements.lock pyproject.toml 2>&1 | $(QUIET_PIP)
