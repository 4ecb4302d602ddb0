#!/usr/bin/env bash
# Installs versitygw, the S3-compatible server the blob store's contract
# suite runs against (internal/blob/s3). Idempotent: when a binary of the
# pinned version is already on PATH or in GOPATH/bin it does nothing.
set -euo pipefail

VERSION="${VERSITYGW_VERSION:-v1.8.0}"
GOBIN_DIR="$(go env GOBIN)"
if [ -z "$GOBIN_DIR" ]; then
  GOBIN_DIR="$(go env GOPATH)/bin"
fi
STAMP="$GOBIN_DIR/.versitygw-$VERSION"

if [ -x "$GOBIN_DIR/versitygw" ] && [ -f "$STAMP" ]; then
  echo "versitygw $VERSION already installed at $GOBIN_DIR/versitygw"
  exit 0
fi

echo "installing versitygw $VERSION into $GOBIN_DIR (about a minute)"
# Build outside the project module so its go.mod is neither read nor changed.
(cd "$(mktemp -d)" && GOFLAGS=-buildvcs=false go install "github.com/versity/versitygw/cmd/versitygw@$VERSION")
touch "$STAMP"
echo "versitygw installed at $GOBIN_DIR/versitygw"
