# Two commands do all set-up on a fresh machine (Python 3.11+ and git are all they need):
#   make demo   install, then run the whole flow on the embedded default (SQLite, local sandbox)
#   make test   install, start PostgreSQL if it is down, run the whole test suite (the fast tests,
#               then the end-to-end ones: both phases always run, each reports)
# `.ci/run` adds the lint and type checks and then runs `make test`.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install demo test lint dev postgres clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

$(DAGSTER_HOME)/dagster.yaml: dagster.yaml
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $@

demo: install $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(BIN)/jrn-dagster demo

postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start" >&2; exit 1

# The whole suite, in two phases that always both run, each with its own report; the command
# fails if either does. 1: every test but the end-to-end ones, over both cores. 2: the end-to-end
# tests (`-m e2e`: real dagster dev / daemon / webserver / code server processes), which spend
# most of their time waiting on Dagster's own intervals (sensor 15 s, backfill daemon 30 s), so
# all of them run at once, more than there are cores (docs/operations.md#test-time).
E2E_WORKERS ?= 4
test: install postgres
	@status=0; log=$$(mktemp); \
	echo "== make test: the end-to-end tests (pytest -n $(E2E_WORKERS) -m e2e) run alongside the rest; their report follows it"; \
	$(BIN)/pytest -n $(E2E_WORKERS) -m e2e -p no:cacheprovider > $$log 2>&1 & e2e=$$!; \
	echo "== make test 1/2: all tests but the end-to-end ones (pytest -n 2 -m 'not e2e')"; \
	$(BIN)/pytest -n 2 -m "not e2e" || status=1; \
	wait $$e2e || status=1; \
	echo "== make test 2/2: the end-to-end tests (pytest -n $(E2E_WORKERS) -m e2e)"; \
	cat $$log; rm -f $$log; \
	exit $$status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pyright
	$(BIN)/lint-imports
	env -u DAGSTER_HOME $(BIN)/dagster definitions validate -w workspace.yaml

# The demo's instance as the demo left it: $(DAGSTER_HOME)/demo.env (written by the demo) gives
# runs launched from the UI the demo's settings. DEV_ARGS: more `dagster dev` options (-p PORT).
dev: install $(DAGSTER_HOME)/dagster.yaml
	set -a; if [ -f "$(DAGSTER_HOME)/demo.env" ]; then . "$(DAGSTER_HOME)/demo.env"; fi; set +a; \
	DAGSTER_HOME="$(DAGSTER_HOME)" exec $(BIN)/dagster dev -w workspace.yaml $(DEV_ARGS)

clean:
	rm -rf $(VENV) .dagster_home .jrn .pytest_cache .ruff_cache
