#!/bin/sh
# Installs a Go program once per machine and links it into the checkout's .cache/bin.
#   sh scripts/ensure-go-tool.sh NAME MODULE/cmd/path VERSION
# The build lands in ${TUSGATE_TOOL_CACHE:-~/.cache/tusgate}/NAME-VERSION, where a fresh clone
# (CI clones afresh) finds it; with nothing cached it builds with `go install` from the Go proxy.
set -eu
cd "$(dirname "$0")/.."
[ $# -eq 3 ] || { echo "usage: ensure-go-tool.sh NAME PACKAGE VERSION" >&2; exit 2; }
NAME=$1 PACKAGE=$2 VERSION=$3
CACHE_ROOT="${TUSGATE_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tusgate}"
TOOL_DIR="$CACHE_ROOT/$NAME-$VERSION"
BIN_DIR="$PWD/.cache/bin"
mkdir -p "$BIN_DIR"
if [ ! -x "$TOOL_DIR/$NAME" ]; then
  if ! command -v go >/dev/null 2>&1; then
    [ -x /usr/local/go/bin/go ] && PATH="$PATH:/usr/local/go/bin"
  fi
  command -v go >/dev/null 2>&1 || { echo "ensure-go-tool: Go is required to install $NAME" >&2; exit 1; }
  echo "ensure-go-tool: installing $NAME $VERSION into $TOOL_DIR" >&2
  staging="$TOOL_DIR.tmp.$$"
  mkdir -p "$staging"
  GOBIN="$staging" GOFLAGS=-mod=mod go install "$PACKAGE@$VERSION"
  built=$(basename "$PACKAGE")
  [ "$built" = "$NAME" ] || mv "$staging/$built" "$staging/$NAME"
  # Another checkout may have finished the same build meanwhile: keep whichever landed first.
  if [ -x "$TOOL_DIR/$NAME" ]; then rm -rf "$staging"; else rm -rf "$TOOL_DIR" && mv "$staging" "$TOOL_DIR"; fi
fi
ln -sf "$TOOL_DIR/$NAME" "$BIN_DIR/$NAME"
