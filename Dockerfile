# syntax=docker/dockerfile:1
# The game node image, used by docker-compose.yml for node1..node3.
#
# Stage 1 compiles the release binary. The cargo registry and the target directory are BuildKit cache
# mounts, so a rebuild after a source change does not recompile every dependency; the binary is copied
# out of the cache mount within the same step because the mount is gone afterwards.
FROM rust:1-bookworm AS builder
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY src ./src
# sqlx::migrate! embeds the migrations, and a release build embeds the pages (src/api/assets.rs), into
# the binary at compile time.
COPY migrations ./migrations
COPY static ./static
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked --bin game-cluster \
    && cp target/release/game-cluster /usr/local/bin/game-cluster

# Stage 2 is a slim Debian with only CA certificates (for TLS to managed Postgres or Redis, should a
# deployment use them) and an unprivileged user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 game \
    && useradd --system --uid 10001 --gid game --home-dir /app --no-create-home --shell /usr/sbin/nologin game
# The binary reads config/ (and games/) from its working directory: default.toml, then production.toml, then the
# APP__SECTION__KEY environment variables (which carry every secret).
WORKDIR /app
COPY --from=builder /usr/local/bin/game-cluster /usr/local/bin/game-cluster
COPY config ./config
# The slot games' definitions (game.toml and reel strips), read by `game-cluster slots ...` and, from
# the next issue on, by the server.
COPY games ./games
ENV APP_ENV=production
# Two malloc arenas instead of glibc's 8 per core: about 2 KiB less per WebSocket (docs/BENCHMARKS.md).
ENV MALLOC_ARENA_MAX=2
USER game
EXPOSE 8080
CMD ["game-cluster", "serve"]
