# Wikibot. `make` lists the targets.
.DEFAULT_GOAL := help
COMPOSE_FILES := -f compose.yaml $(if $(POSTGRES),-f compose.postgres.yaml)
COMPOSE ?= docker compose $(COMPOSE_FILES)

.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: up
up: ## Run the platform: build and start every service, wait until healthy (POSTGRES=1: on PostgreSQL)
	@docker info >/dev/null 2>&1 || ./scripts/install-docker.sh
	@./scripts/offline-images.sh
	$(COMPOSE) up -d --build --wait
	@echo "Wikibot is up: http://$${DOMAIN:-localhost}:$${HTTP_PORT:-8080}"

.PHONY: down
down: ## Stop the platform (data kept)
	$(COMPOSE) down

.PHONY: wipe
wipe: ## Stop the platform and delete its volumes (all wikis and keys!)
	$(COMPOSE) down --volumes --remove-orphans

.PHONY: logs
logs: ## Follow the logs of every service
	$(COMPOSE) logs -f --tail 100

.PHONY: dev
dev: ## Install every package (editable) and the dev tools into .venv
	./scripts/bootstrap.sh

.PHONY: test
test: ## Run the whole test suite (lint, types, unit on SQLite+PostgreSQL, integration on the stack)
	./scripts/test.sh

.PHONY: test-fast
test-fast: ## Lint, types and unit tests only
	./scripts/test.sh fast

.PHONY: lint
lint: ## Ruff and mypy
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy shared/src services/*/src

.PHONY: format
format: ## Apply ruff's fixes and formatting
	.venv/bin/ruff check --fix . && .venv/bin/ruff format .

.PHONY: lock
lock: ## Re-resolve uv.lock and export the pinned requirements each image installs
	./scripts/lock.sh

.PHONY: k8s
k8s: ## Render the Kubernetes overlays and validate them against the 1.32 API (no cluster needed)
	@for o in small scaled; do echo "== deploy/k8s/overlays/$$o"; \
	  kubectl kustomize deploy/k8s/overlays/$$o | .venv/bin/kubernetes-validate -k 1.32.0 --strict --quiet - || exit 1; done

.PHONY: k8s-sync
k8s-sync: ## Copy the Caddyfile and TLS snippets into deploy/k8s/base/caddy (Kustomize reads only files below it)
	cp Caddyfile deploy/k8s/base/caddy/Caddyfile
	cp deploy/caddy/tls/*.caddy deploy/k8s/base/caddy/tls/

.PHONY: bench
bench: ## Run the benchmarks and print their figures (bench-anchor too, skipped if it cannot be built)
	./scripts/bench.sh

.PHONY: bench-anchor
bench-anchor: ## Side by side with robot.wtf's agent plane, issue 19's targets (ARGS="--rounds 1 ...")
	.venv/bin/python bench/bench_anchor.py $(ARGS)
