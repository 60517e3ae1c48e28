# Two commands do all the set-up on a fresh machine:
#   make run    install into .venv, migrate the SQLite database, start the app on http://127.0.0.1:5000
#   make test   install everything (Python packages, Debian's chromium, axe-core) and run the whole suite
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: install run test test-fast test-unit lint browser bench check translations screenshots

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $@

# A clearly fake demonstration clinic (its phone number is in a range kept for fiction), so that a
# first run shows every part of an outcome page; production refuses to start without real ones.
DEMO := FLASK_CLINIC_NAME="Demo Clinic (not a real clinic)" FLASK_CLINIC_PHONE="+1 555 0100" \
	FLASK_BOOKING_URL="http://$(HOST):$(PORT)/demo-booking" FLASK_DEMO_BOOKING=true

run: install
	$(FLASK) db upgrade
	$(FLASK) staff bootstrap
	$(DEMO) $(FLASK) run --host $(HOST) --port $(PORT)

browser:
	scripts/install-browser

test: install browser
	scripts/test

# The fast part alone: no browser, no server processes, SQLite only.
test-fast: install
	$(VENV)/bin/pytest -q -m "not slow and not browser" -n 2 tests/unit tests/integration

# The pure core's tests (tests/unit): seconds.
test-unit: install
	$(VENV)/bin/pytest -q -n 2 tests/unit

# Lint steps (.ci/run runs them before the tests): ruff's linter and formatter (settings in
# pyproject.toml), then mypy (settings in setup.cfg; strict for questionnaire.core).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy questionnaire

# A full-page PNG of every patient page (English and Spanish, normal and error states) and the main
# staff pages, at phone (390x844) and desktop (1280x900) widths, into screenshots/ (git-ignored).
screenshots: install browser
	$(PY) scripts/screenshots.py

check: install
	$(FLASK) rules check
	$(FLASK) rules test

# Every benchmark (bench/run_all.py; figures in docs/performance.md). Debian's wrk for the page
# throughput benchmark comes from scripts/install-bench-tools, as the browser does for the tests.
bench: install
	scripts/install-bench-tools
	$(PY) bench/run_all.py

# Patient-facing text in every language (README "Translations"): extract (babel.cfg), merge into
# each catalogue (new strings arrive untranslated, never guessed), compile. Commit the .po and .mo.
CATALOGUES := questionnaire/translations
translations: install
	$(VENV)/bin/pybabel extract -F babel.cfg -o $(CATALOGUES)/messages.pot --project=ozone-questionnaire --width=100 .
	$(VENV)/bin/pybabel update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) --width=100 --no-fuzzy-matching --ignore-obsolete
	$(VENV)/bin/pybabel compile -d $(CATALOGUES) --statistics
