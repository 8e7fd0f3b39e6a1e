# Thin wrappers over scripts/; see each script for its options.
# Extra arguments for `make test` go in ARGS, e.g. make test ARGS="wallet -- --nocapture".
# `make up NODES=5` starts five nodes; `make scale NODES=N` grows or shrinks a running cluster.

.PHONY: up down status scale clean-cluster test audit bench bench-ws bench-failover bench-slots bench-slots-server bench-providers slots-baseline loadtest capacity browser-test web-assets fmt lint

up:
	$(if $(NODES),CLUSTER_NODES=$(NODES) )scripts/up.sh

down:
	scripts/down.sh

status:
	scripts/status.sh

scale:
	@test -n "$(NODES)" || { echo "usage: make scale NODES=N" >&2; exit 2; }
	scripts/cluster.sh scale $(NODES)

clean-cluster:
	scripts/cluster.sh stop --purge

test:
	scripts/test.sh $(ARGS)

audit:
	scripts/audit.sh

# Wallet transfers/s against pgbench; GAME_BIN_BASELINE=<binary or git revision> runs a second build
# alternately in the same invocation and prints the ratio (see scripts/bench-wallet.sh).
bench:
	scripts/bench-wallet.sh

bench-ws:
	scripts/bench-ws.sh

# Slot simulator rounds/s per game and mode, one thread and all cores (release build).
bench-slots:
	scripts/bench-slots.sh

# Slot spins/s through nginx on a cluster of its own, with the wallet's transfers/s as the baseline.
bench-slots-server:
	scripts/bench-slots-server.sh

# Seamless-wallet calls/s through nginx from provider-sim at increasing concurrency, with the wallet's
# transfers/s as the baseline.
bench-providers:
	scripts/bench-providers.sh

# Checks the shipped slot games against their baseline.json (`make slots-baseline ARGS=--write` records them).
slots-baseline:
	scripts/slots-baseline.sh $(ARGS)

bench-failover:
	scripts/bench-failover.sh $(RUNS) $(MODE)

# The k6 smoke (or SCRIPT=crash-players.js ...) against the running local cluster, then audit.
loadtest:
	scripts/loadtest.sh $(ARGS)

# The Playwright tests of the player page and the dashboard against the running local cluster.
browser-test:
	scripts/browser-test.sh $(ARGS)

# Refreshes static/vendor/ (the charting library) from its pinned npm package.
web-assets:
	scripts/web-assets.sh

# The capacity search on a cluster of its own, against the baseline broadcaster, through nginx and direct, at
# 100 and 150 ms ticks, then the betting burst and the audit (see scripts/capacity.sh for its settings).
capacity:
	scripts/capacity.sh

fmt:
	cargo fmt --all

lint:
	cargo clippy --all-targets -- -D warnings
