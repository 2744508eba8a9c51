#!/bin/sh
# Makes the local base image the container test builds the Dockerfile on (its `BASE` argument)
# where no container registry is reachable: a Debian bookworm root file system from Debian's
# packages (mmdebstrap, from the mirror apt is configured with), Node 24 from the npm `node`
# package (the checkout's devDependency), npm from the npm registry, and a `node` user (uid 1000),
# like the official node:24-bookworm-slim. Prints the image name.
# The root file system is cached as a tarball in ~/.cache/tusgate/ and the image in podman's store:
# the first run takes a few minutes (mostly the Debian download), later runs under a second.
set -eu
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

# The `node` devDependency's binary: the official Node build for this machine.
NODE_BINARY=node_modules/node/bin/node
[ -x "$NODE_BINARY" ] || { echo "ensure-container-base: $NODE_BINARY is missing (run npm ci)" >&2; exit 1; }
NODE_VERSION=$("$NODE_BINARY" -p process.versions.node)
NPM_VERSION=11.21.3
SUITE=bookworm
TAG="node$NODE_VERSION-npm$NPM_VERSION-$SUITE"
IMAGE="localhost/tusgate-base:$TAG"
CACHE_ROOT="${TUSGATE_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tusgate}"
ROOTFS="$CACHE_ROOT/container-base-$TAG.tar"

if podman image exists "$IMAGE"; then
  echo "$IMAGE"
  exit 0
fi

if [ ! -f "$ROOTFS" ]; then
  started=$(date +%s)
  echo "ensure-container-base: assembling $ROOTFS from Debian $SUITE, Node $NODE_VERSION and npm $NPM_VERSION" >&2
  mkdir -p "$CACHE_ROOT"
  work=$(mktemp -d)
  trap 'rm -rf "$work" "$ROOTFS.tmp.$$"' EXIT
  (cd "$work" && npm pack --silent "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$work/npm"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/npm" --strip-components=1
  # The same mirror as the host's apt sources (deb822 or one-line style).
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    mirror=/etc/apt/sources.list.d/debian.sources
  elif [ -s /etc/apt/sources.list ]; then
    mirror=/etc/apt/sources.list
  else
    mirror=http://deb.debian.org/debian
  fi
  # `essential` is the smallest variant with a shell (the Dockerfile's RUN steps need one);
  # libstdc++6 is the one library Node needs beyond libc.
  mmdebstrap --quiet --format=tar --variant=essential --include=libstdc++6 --mode=root \
    --customize-hook="cp '$PWD/$NODE_BINARY' \"\$1/usr/local/bin/node\"" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$work/npm' \"\$1/usr/local/lib/node_modules/npm\"" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='echo "node:x:1000:1000::/home/node:/bin/sh" >>"$1/etc/passwd"' \
    --customize-hook='echo "node:x:1000:" >>"$1/etc/group"' \
    --customize-hook='mkdir -p "$1/home/node" && chown 1000:1000 "$1/home/node"' \
    "$SUITE" "$ROOTFS.tmp.$$" "$mirror"
  mv "$ROOTFS.tmp.$$" "$ROOTFS"
  echo "ensure-container-base: root file system ready in $(($(date +%s) - started)) s" >&2
fi

podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' \
  "$ROOTFS" "$IMAGE" >/dev/null
echo "$IMAGE"
