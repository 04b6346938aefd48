# Aircall ↔ Jobber service. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

run: ## Run everything end to end: sandbox vendors, private Redis, every Procfile role, the demo
	@scripts/run.sh

test: ## Run the whole test suite (sets up .venv and redis-server first)
	@scripts/test.sh

test-fast: ## The suite without the slow tests (reliability, browser pages, real retry timers): under a minute
	@scripts/test.sh -m "not slow"

reliability: ## The reliability suite at full volume, with its accounting per scenario (fails on any loss or double)
	@RELIABILITY_SCALE=full scripts/test.sh -m reliability -p no:cacheprovider

bench: ## Benchmarks, JSON on stdout (ingest throughput/latency, ..., soak: Redis memory per 10k events)
	@scripts/bench.sh

lint: ## ruff check, ruff format --check, mypy, and the compose file
	@source scripts/lib.sh && ensure_venv && cd "$$ROOT" && \
	  .venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy --strict config store domain clients ingest worker tasks flows cli && \
	  { if command -v docker-compose >/dev/null; then docker-compose -f docker-compose.yml config -q && echo "docker-compose.yml ok"; \
	    elif docker compose version >/dev/null 2>&1; then docker compose config -q && echo "docker-compose.yml ok"; \
	    else echo "(no docker compose here: compose file not checked)"; fi; }

.PHONY: help run test test-fast reliability bench lint
