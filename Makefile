# siorelay — run `make help` for the targets.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
GO ?= go

# Each part of the tree adds its own targets in mk/<part>.mk and appends the
# names of its test targets to TEST_TARGETS.
TEST_TARGETS :=
include $(sort $(wildcard mk/*.mk))

.PHONY: help
help: ## Show this help
	@grep -hE '^[a-zA-Z0-9_-]+:.*## ' $(MAKEFILE_LIST) | sort | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'
