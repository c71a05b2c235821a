# Developer entry points. `make` (or `make help`) lists them.
# The local stack (Postgres, MariaDB, Temporal dev server) runs from
# project-local data dirs under .dev/ on loopback ports; see deploy/local/.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO ?= go
TEMPORAL_CLI_VERSION := v1.5.1
# apt needs root; use sudo only when we are not root already.
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help tools build run test bench backfill stack-down clean fmt vet lint

help: ## list the targets
	@echo 'Usage: make TARGET'
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-11s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

tools: bin/temporal ## build bin/temporal; apt-install mariadb-server/postgresql if missing
	@missing=""; \
	command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing="$$missing mariadb-server"; \
	command -v pg_config >/dev/null || missing="$$missing postgresql"; \
	if [ -n "$$missing" ]; then \
		echo "==> installing$$missing"; \
		$(SUDO) apt-get update -q; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# The Temporal CLI carries the dev server; v1.5.1 is the newest release that
# `go install` can build (later ones use replace directives). Takes ~4 min cold.
bin/temporal:
	@echo '==> building $@ (temporal CLI $(TEMPORAL_CLI_VERSION); a few minutes the first time)'
	GOBIN=$(CURDIR)/bin $(GO) install github.com/temporalio/cli/cmd/temporal@$(TEMPORAL_CLI_VERSION)

build: ## build bin/intercom-sync
	$(GO) build -o bin/intercom-sync ./cmd/intercom-sync

run: tools build ## run the service on the local stack (+ Intercom emulator); Ctrl-C stops all
	bash deploy/local/run.sh

test: tools ## go test -race ./... against the test stack (brought up, then down)
	TEMPORAL_CLI=$(CURDIR)/bin/temporal bash deploy/local/test.sh

bench: tools ## go benchmarks against the test stack
	TEMPORAL_CLI=$(CURDIR)/bin/temporal bash deploy/local/test.sh -run '^$$' -bench . -benchmem ./...

# The stack to reach (Temporal address, namespace); variables already set
# in the environment win over the file's, which only fills in defaults.
BACKFILL_ENV_FILE ?= .dev/run/env

backfill: build ## start a backfill and follow it (ENVIRONMENT_NAME=staging, ARGS='--dry-run --org …')
	@if [ -f "$(BACKFILL_ENV_FILE)" ]; then source "$(BACKFILL_ENV_FILE)"; fi; \
	bin/intercom-sync backfill --wait $(if $(ENVIRONMENT_NAME),--env $(ENVIRONMENT_NAME)) $(ARGS)

STACKS := run test check

stack-down: ## stop every process of the local stacks, make run's service and emulator included (data is kept)
	@rc=0; for s in $(STACKS); do bash deploy/local/stack.sh down $$s || rc=1; done; \
	echo '==> data kept in .dev (make clean deletes it)'; exit $$rc

clean: ## stop the stacks, then delete their data (.dev); bin/ is kept
	@rc=0; for s in $(STACKS); do bash deploy/local/stack.sh down $$s || rc=1; done; \
	if ((rc != 0)); then echo 'error: a process did not stop; .dev kept' >&2; exit 1; fi; \
	rm -rf .dev; echo '==> deleted .dev (bin/ kept)'

# The long runs, one step each (more, such as fault scenarios, join
# SOAK_STEPS). They need no stack. FUZZTIME is per fuzz target.
FUZZTIME ?= 2m
SOAK_STEPS := soak-fuzz
.PHONY: test-soak $(SOAK_STEPS)

test-soak: $(SOAK_STEPS) ## long runs: every fuzz target for FUZZTIME (2m) each

soak-fuzz:
	bash deploy/local/fuzz.sh $(FUZZTIME)

fmt: ## gofmt -s -w the tree
	gofmt -s -w .

vet: ## go vet ./...
	$(GO) vet ./...

lint: ## fail on unformatted files (gofmt -l), then go vet
	@unformatted=$$(gofmt -l .); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
