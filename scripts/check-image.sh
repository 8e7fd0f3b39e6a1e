#!/usr/bin/env bash
# Checks that the Dockerfile's build stage has every file the release build needs, without Docker.
#
# The image is built by `docker compose up --build`, which this machine (and CI) cannot run. A file the
# build embeds but the Dockerfile does not copy (the pages under static/ once were) would only show up
# there. So this script rebuilds the build stage's context by hand: it copies exactly the sources of the
# build stage's COPY lines into a scratch directory, drops what .dockerignore keeps out of the context,
# and compiles the library in release mode there (the release build is the one that embeds the pages).
# It shares target/ with the repository, so only the crate itself is compiled (about a minute on 2 cores
# after a release build). The copy of the binary's own main.rs is not compiled: it only calls the library.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# build_stage_copies prints the build stage's COPY lines (before the second FROM), one per line, without
# the COPY keyword; a COPY --from=... belongs to a later stage and is never in the build stage.
build_stage_copies() {
  awk '/^FROM /{stage++} stage == 1 && /^COPY / && !/--from=/ {sub(/^COPY +/, ""); print}' \
    "$REPO_ROOT/Dockerfile"
}

# copy_into_context DIR SOURCES... DEST copies SOURCES (relative to the repository) to DEST (relative to
# the build stage's WORKDIR, which DIR stands for), as COPY does: a directory's contents go to DEST.
copy_into_context() {
  local dir=$1
  shift
  local dest=${*: -1} source
  for source in "${@:1:$#-1}"; do
    [[ -e "$REPO_ROOT/$source" ]] || die "the Dockerfile copies $source, which does not exist"
    if [[ -d "$REPO_ROOT/$source" ]]; then
      mkdir -p "$dir/$dest"
      cp -R "$REPO_ROOT/$source/." "$dir/$dest/"
    else
      mkdir -p "$dir/$(dirname "$dest/x")"
      cp "$REPO_ROOT/$source" "$dir/$dest/"
    fi
  done
}

# drop_ignored DIR removes what .dockerignore keeps out of the build context. Its patterns are relative
# to the context's root, as bash globs are here.
drop_ignored() {
  local dir=$1 pattern
  while IFS= read -r pattern; do
    [[ -z "$pattern" || "$pattern" == \#* ]] && continue
    (cd "$dir" && shopt -s nullglob dotglob && eval "rm -rf -- $pattern")
  done <"$REPO_ROOT/.dockerignore"
}

CONTEXT_DIR=""

main() {
  local line
  # Outside the repository, so that cargo sees the copy as a package of its own.
  CONTEXT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/game-cluster-image-XXXXXXXX")
  trap 'rm -rf "$CONTEXT_DIR"' EXIT
  while IFS= read -r line; do
    # The COPY sources and destination are plain paths without spaces, so word splitting is intended.
    # shellcheck disable=SC2086
    copy_into_context "$CONTEXT_DIR" $line
  done < <(build_stage_copies)
  drop_ignored "$CONTEXT_DIR"
  log "compiling the image's build context in release mode ($(cd "$CONTEXT_DIR" && echo *))"
  CARGO_TARGET_DIR="$REPO_ROOT/target" cargo build --release --locked --lib \
    --manifest-path "$CONTEXT_DIR/Cargo.toml"
  log "the image's build context compiles"
}

main "$@"
