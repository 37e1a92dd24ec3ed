# The two commands: `make run` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The secret key of this installation (settings read it when DJANGO_SECRET_KEY is not set).
SECRET := var/secret_key
# The test database lives on the real PostgreSQL server; pytest-django creates test_arena.
TEST_DATABASE_URL ?= postgres://root@127.0.0.1:5432/arena
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: setup system-deps services run test lint bench clean

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c requirements.lock -e '.[dev]'
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh

$(SECRET):
	mkdir -p var
	umask 077 && $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@.tmp
	mv $@.tmp $@

setup: $(STAMP) $(SECRET) system-deps
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py collectstatic --noinput -v0

services:
	bash scripts/ensure-services.sh

run: setup
	bash scripts/run.sh

lint: $(STAMP) $(SECRET)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

test: setup services lint
	DATABASE_URL=$(TEST_DATABASE_URL) CELERY_BROKER_URL=$(TEST_REDIS_URL) ARENA_TEST_REDIS_URL=$(TEST_REDIS_URL) \
		$(BIN)/pytest

bench: $(STAMP) $(SECRET)
	$(BIN)/python bench/scoring.py

clean:
	rm -rf var .mypy_cache .ruff_cache .pytest_cache
