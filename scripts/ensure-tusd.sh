#!/bin/sh
# Installs the real tusd v2.10.0 (a test and benchmark peer) into .cache/bin, once.
set -eu
cd "$(dirname "$0")/.."
TUSD_VERSION=v2.10.0
BIN_DIR="$PWD/.cache/bin"
STAMP="$BIN_DIR/.tusd-$TUSD_VERSION"
if [ -x "$BIN_DIR/tusd" ] && [ -f "$STAMP" ]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  [ -x /usr/local/go/bin/go ] && PATH="$PATH:/usr/local/go/bin"
fi
command -v go >/dev/null 2>&1 || { echo "ensure-tusd: Go is required to install tusd" >&2; exit 1; }
mkdir -p "$BIN_DIR"
echo "ensure-tusd: installing tusd $TUSD_VERSION into $BIN_DIR" >&2
GOBIN="$BIN_DIR" GOFLAGS=-mod=mod go install "github.com/tus/tusd/v2/cmd/tusd@$TUSD_VERSION"
touch "$STAMP"
