# Thin wrappers over scripts/; see each script for its options.
# Extra arguments for `make test` go in ARGS, e.g. make test ARGS="wallet -- --nocapture".

.PHONY: up down status test audit bench bench-ws fmt lint

up:
	scripts/up.sh

down:
	scripts/down.sh

status:
	scripts/status.sh

test:
	scripts/test.sh $(ARGS)

audit:
	scripts/audit.sh

bench:
	scripts/bench-wallet.sh

bench-ws:
	scripts/bench-ws.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --all-targets -- -D warnings
