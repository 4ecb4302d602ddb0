#!/usr/bin/env bash
# Installs the benchmark peers from the package registries into bench/.peers/
# (gitignored): soketi 1.6.1 from npm and Centrifugo v6.9.1 through the Go
# module proxy. Idempotent: a peer already at the pinned version is skipped.
#
# soketi's uWebSockets.js dependency is a Git URL that cannot be fetched here;
# bench/soketi/package.json overrides it with a registry build of the same
# library that runs on Node 20.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS="$BENCH/.peers"
SOKETI_VERSION=1.6.1
CENTRIFUGO_VERSION=v6.9.1

mkdir -p "$PEERS/soketi" "$PEERS/bin"

install_soketi() {
  local dir="$PEERS/soketi"
  local pkg="$dir/node_modules/@soketi/soketi/package.json"
  if [[ -f "$pkg" ]] && grep -q "\"version\": \"$SOKETI_VERSION\"" "$pkg" \
     && [[ -d "$dir/node_modules/uWebSockets.js" ]]; then
    echo "soketi $SOKETI_VERSION already installed"
    return
  fi
  echo "installing soketi $SOKETI_VERSION (npm)..."
  cp "$BENCH/soketi/package.json" "$dir/package.json"
  (cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
  echo "soketi installed: $dir/node_modules/.bin/soketi"
}

install_centrifugo() {
  local bin="$PEERS/bin/centrifugo"
  # go install embeds no version string: ask the binary's build info.
  if [[ -x "$bin" ]] && go version -m "$bin" 2>/dev/null | grep -q "centrifugo/v6[[:space:]]*$CENTRIFUGO_VERSION"; then
    echo "centrifugo $CENTRIFUGO_VERSION already installed"
    return
  fi
  echo "installing centrifugo $CENTRIFUGO_VERSION (go install, about two minutes)..."
  GOBIN="$PEERS/bin" go install "github.com/centrifugal/centrifugo/v6@$CENTRIFUGO_VERSION"
  echo "centrifugo installed: $bin"
}

case "${1:-all}" in
  soketi) install_soketi ;;
  centrifugo) install_centrifugo ;;
  all) install_soketi; install_centrifugo ;;
  *) echo "usage: $0 [all|soketi|centrifugo]" >&2; exit 2 ;;
esac
