# Parley: `make run` serves the embedded default, `make check` is the fast loop while you
# work (no root, no services, no browser), `make test` runs everything.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

UV := python3 -m uv
PYTHON_SOURCES := src tests bench
# Every file in scripts/ that bash runs (shebang) or sources (shellcheck directive).
SHELL_SCRIPTS := $(shell grep -lE '^(\#!.*bash|\# shellcheck shell=)' scripts/* 2>/dev/null)
WEB_DEPS := web/node_modules/.package-lock.json
WEB_SOURCES := $(shell find web/src web/public web/index.html web/package.json web/package-lock.json \
	web/vite.config.ts web/tsconfig*.json -type f 2>/dev/null)
# $(call web_script,NAME): "yes" when web/package.json defines the npm script NAME.
web_script = $(shell node -e 'process.exit((require("./web/package.json").scripts || {})["$(1)"] ? 0 : 1)' \
	2>/dev/null && echo yes)

.PHONY: run check test env lint lint-python lint-shell lint-web typecheck unit-test web web-deps \
	web-test services services-down cluster chaos bench bench-report centrifugo clean

run: env web
	$(UV) run parley migrate
	$(UV) run parley serve

## The fast loop: lint, types, and the unit tests that need no service (about half a minute).
check: lint typecheck unit-test web-test

## The whole suite: the fast loop, the web build, then every pytest suite with its services,
## with line coverage of src/ measured in the test process and every server it starts.
## The floor is `fail_under` in pyproject.toml; parley.protocol must stay at 100 %.
test: lint typecheck web web-test
	scripts/ensure-tools chromium
	scripts/services up
	source <(scripts/services env) && \
		$(UV) run pytest --cov=parley --cov-report=term $(PYTEST_ARGS)
	$(UV) run coverage report --include='src/parley/protocol/*' --fail-under=100

env: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen --all-groups
	touch $@

lint: lint-python lint-shell lint-web

lint-python: env
	$(UV) run ruff check $(PYTHON_SOURCES)
	$(UV) run ruff format --check $(PYTHON_SOURCES)

lint-shell:
	scripts/ensure-tools shellcheck
	shellcheck $(SHELL_SCRIPTS)

lint-web: web-deps
	$(if $(call web_script,lint),cd web && npm run -s lint)

typecheck: env web-deps
	$(UV) run mypy
	$(if $(call web_script,typecheck),cd web && npm run -s typecheck)

unit-test: env
	$(UV) run pytest -q tests/unit

web-deps: $(WEB_DEPS)

$(WEB_DEPS): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

web: web/dist/index.html

web/dist/index.html: $(WEB_SOURCES) $(WEB_DEPS)
	cd web && npm run build

web-test: web-deps
	cd web && npm test

services:
	scripts/services up

services-down:
	scripts/services down

cluster: env web
	scripts/cluster

## Chaos under load (docs/reliability.md): a chat over a supervised cluster while its parts
## fail, every fault twice, about five minutes; the figures go to bench/results/.
chaos: env web
	scripts/services up
	source <(scripts/services env) && CHAOS_PROFILE=full CHAOS_RESULTS=bench/results \
		$(UV) run pytest -p no:cacheprovider -s -q tests/cluster/test_chaos.py $(PYTEST_ARGS)

bench: env
	$(UV) run python -m bench all

bench-report: env
	$(UV) run python -m bench report

## The Centrifugo bench peer, built once with Go into ~/.cache/parley/go (the bench builds
## it on first use too): `python -m bench fanout --targets parley,centrifugo`.
centrifugo: env
	$(UV) run python -c 'from bench.peers import centrifugo; print(centrifugo.binary())'

clean:
	rm -rf .venv web/dist web/node_modules .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
