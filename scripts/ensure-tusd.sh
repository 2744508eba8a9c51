#!/bin/sh
# Installs the real tusd v2.10.0 (a test and benchmark peer) into the tool cache, once per
# machine, and links it into .cache/bin (scripts/ensure-go-tool.sh).
set -eu
cd "$(dirname "$0")/.."
exec sh scripts/ensure-go-tool.sh tusd github.com/tus/tusd/v2/cmd/tusd v2.10.0
