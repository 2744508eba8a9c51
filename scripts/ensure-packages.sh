#!/bin/sh
# Usage: ensure-packages.sh PROGRAM=PACKAGE...
# Installs each Debian PACKAGE whose PROGRAM (a command name, or an absolute path) is missing, with
# apt-get, keeping the downloaded .deb files in .cache/apt so the next fresh install skips the
# download. apt needs root: otherwise it prints what is missing and the command, and fails.
set -eu
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

present() {
  case "$1" in
    /*) [ -x "$1" ] ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing=''
for pair in "$@"; do
  present "${pair%%=*}" || missing="$missing ${pair#*=}"
done
[ -z "$missing" ] && exit 0
missing=${missing# }

if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-packages: missing Debian packages: $missing" >&2
  echo "ensure-packages: install them with: sudo apt-get install -y --no-install-recommends $missing" >&2
  exit 1
fi

archives="$PWD/.cache/apt/archives"
mkdir -p "$archives/partial"
export DEBIAN_FRONTEND=noninteractive
apt_install() {
  # shellcheck disable=SC2086 # $missing is a list of package names
  apt-get install -y -qq --no-install-recommends \
    -o Dir::Cache::archives="$archives" -o APT::Keep-Downloaded-Packages=true $missing >/dev/null
}
known() {
  for package in $missing; do
    apt-cache policy "$package" 2>/dev/null | grep -q 'Candidate: [0-9]' || return 1
  done
}

started=$(date +%s)
echo "ensure-packages: installing $missing (apt; .debs cached in .cache/apt)" >&2
updated=no
if ! known; then
  apt-get update -qq
  updated=yes
fi
# Package lists older than the mirror name .debs it no longer has: refresh them once and retry.
if ! apt_install; then
  [ "$updated" = no ] || exit 1
  apt-get update -qq
  apt_install
fi
echo "ensure-packages: installed $missing in $(($(date +%s) - started)) s" >&2
