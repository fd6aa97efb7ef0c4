# Parley: `make run` serves the embedded default, `make test` runs everything.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_LINK_MODE := copy

UV := python3 -m uv
WEB_SOURCES := $(shell find web/src web/public web/index.html web/package.json web/package-lock.json \
	web/vite.config.ts web/tsconfig*.json -type f 2>/dev/null)

.PHONY: run test env lint typecheck unit-tests web web-test services services-down cluster \
	bench bench-report clean

run: env web
	$(UV) run parley migrate
	$(UV) run parley serve

## The whole suite: lint, types, web unit tests, then every pytest suite with its services.
test: env lint typecheck web web-test
	scripts/ensure-browser
	scripts/services up
	source <(scripts/services env) && \
		$(UV) run pytest --cov=parley.protocol --cov-report=term --cov-fail-under=100 $(PYTEST_ARGS)

env: .venv/.synced

.venv/.synced: pyproject.toml uv.lock
	python3 -m uv --version >/dev/null 2>&1 || python3 -m pip install --quiet "uv>=0.5"
	$(UV) sync --frozen --all-groups
	touch $@

lint: env
	$(UV) run ruff check src tests bench
	$(UV) run ruff format --check src tests bench

typecheck: env
	$(UV) run mypy

web: web/dist/index.html

web/dist/index.html: $(WEB_SOURCES)
	cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build

web-test: web
	cd web && npm test

services:
	scripts/services up

services-down:
	scripts/services down

cluster: env web
	scripts/cluster

bench: env
	$(UV) run python -m bench all

bench-report: env
	$(UV) run python -m bench report

clean:
	rm -rf .venv web/dist web/node_modules .pytest_cache .mypy_cache .ruff_cache
