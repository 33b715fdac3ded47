# The two commands a newcomer needs: `make run` and `make test`. See README.md.
.DEFAULT_GOAL := help
.PHONY: help install lock messages compilemessages css run test mutate test-browser screenshots format serve bench bench-site bench-admin bench-fax lighthouse clean

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
MANAGE := $(BIN)/python manage.py
PORT ?= 8000

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# requirements.lock pins every package, with its hashes, within pyproject.toml's ranges: the
# same versions on every machine. The project itself is run from the checkout, not installed.
$(BIN)/.installed: requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	touch $@

install: $(BIN)/.installed ## Create .venv and install the dependencies from requirements.lock

# Keeps each pin that still fits pyproject.toml's ranges; LOCK_ARGS=--upgrade takes the newest
# of everything, LOCK_ARGS="--upgrade-package django" of one package. For CPython 3.11 on
# Linux x86_64 (what CI runs); the hashes cover every file of each release.
lock: install ## Update requirements.lock from pyproject.toml's ranges (LOCK_ARGS=--upgrade: newest)
	$(BIN)/uv pip compile pyproject.toml --extra dev --generate-hashes --quiet \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
		--custom-compile-command "make lock" $(LOCK_ARGS) --output-file requirements.lock

messages: install ## Collect the interface strings into each app's locale/es/LC_MESSAGES/django.po
	DJANGO_DEBUG=1 $(MANAGE) messages

compilemessages: install ## Compile the .po files (the .mo files are not committed)
	DJANGO_DEBUG=1 $(MANAGE) compilemessages -l es --ignore=.venv

css: install ## Rebuild static/css/bootstrap.css from the templates
	DJANGO_DEBUG=1 $(MANAGE) build_css

run: export DJANGO_DEBUG := 1
run: export OMP_THREAD_LIMIT := 1
run: compilemessages ## Run the site locally: SQLite, demo content, console email, debug on
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable
	$(MANAGE) load_demo
	@echo "Emails wait in the outbox and are printed here within 10 seconds."
	@echo "A worker (manage.py db_worker) reads faxes and scans files in the background."
	@[ -n "$$CLAMD_SOCKET$$CLAMD_HOST" ] || echo "No virus scanner: CLAMD_SOCKET is not set, so files are marked \"not scanned\" (set it to a running clamd's socket to scan them)."
	@( while sleep 10; do $(MANAGE) send_queued_mail --skip-checks 2>/dev/null | grep -v '^\[INFO\]'; done ) & \
	mail=$$!; \
	$(MANAGE) db_worker --no-reload & \
	worker=$$!; \
	trap 'kill $$mail $$worker 2>/dev/null' EXIT INT TERM; \
	$(MANAGE) runserver 127.0.0.1:$(PORT)

test: compilemessages ## Lint, check, and run every test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	DJANGO_DEBUG=1 $(MANAGE) check
	DJANGO_DEBUG=1 $(MANAGE) makemigrations --check --dry-run
	$(BIN)/pytest $(PYTEST_ARGS)

test-browser: install ## Only the browser tests (Chromium); screenshots of failures in test-results/
	$(BIN)/pytest tests/e2e $(PYTEST_ARGS)

screenshots: compilemessages ## Save the README's screenshots of the home page (phone, desktop) in docs/screenshots/
	CLINIC_SCREENSHOTS=docs/screenshots $(BIN)/pytest tests/e2e/test_screenshots.py -p no:cacheprovider

format: install ## Fix what ruff can fix and format the code
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# As in production (debug off, WhiteNoise, gunicorn), but over plain HTTP on this machine.
serve: export DJANGO_SECRET_KEY ?= $(shell $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')
serve: export DJANGO_SECURE_SSL_REDIRECT ?= 0
# A new attachment key each run too: export CLINIC_FILE_KEYS to read files of an earlier run.
serve: export CLINIC_FILE_KEYS ?= serve:$(shell $(PYTHON) -c 'import secrets,base64;print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())')
serve: compilemessages ## Run the site as in production: gunicorn, debug off, WhiteNoise
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(MANAGE) migrate --noinput
	$(MANAGE) createcachetable
	$(MANAGE) load_demo
	$(BIN)/gunicorn clinic.project.wsgi --bind 127.0.0.1:$(PORT) --workers 2 --access-logfile - \
		--access-logformat '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'

bench: bench-site bench-admin bench-fax ## Run every benchmark and print the figures (not part of make test)

bench-site: install ## Pages under load (wrk) against a bare Django floor; upload memory
	@command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk"; exit 1; }
	$(BIN)/python tests/bench/bench_site.py

bench-admin: install ## Benchmark the triage changelist with 1,000 and 100,000 requests
	$(BIN)/python tests/bench/bench_admin.py

bench-fax: install ## Read 25 generated faxes (OCR): fields right, wrong dates of birth, s/page
	OMP_THREAD_LIMIT=1 $(BIN)/python tests/bench/bench_fax.py

# Lighthouse 12 (13 needs Node.js 22), installed with npm into .lighthouse/ (not committed).
LIGHTHOUSE_VERSION := 12.8.2
lighthouse: compilemessages ## Lighthouse scores (phone, desktop) of every page type; needs Node.js and Chromium
	@command -v npm >/dev/null || { echo "Node.js and npm are needed: apt-get install nodejs npm"; exit 1; }
	npm install --prefix .lighthouse --no-audit --no-fund --silent lighthouse@$(LIGHTHOUSE_VERSION)
	LIGHTHOUSE=.lighthouse/node_modules/.bin/lighthouse $(BIN)/python tests/bench/lighthouse.py

clean: ## Remove the virtual environment and collected static files (keeps db.sqlite3)
	rm -rf $(VENV) .lighthouse staticfiles build clinic.egg-info .pytest_cache .ruff_cache

# Not part of `make test`: see docs/testing.md. MUTANTS='appointments.validators.*' narrows it.
mutate: compilemessages ## Mutation testing of the modules that hold the rules; prints each module's score
	rm -rf mutants/mutation.sqlite3*
	$(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/python tests/mutation/report.py
