#!/bin/sh
# Everything the tests need besides tusd (scripts/ensure-tusd.sh): Debian packages (nginx,
# promtool, chromium, Redis, RabbitMQ, podman, runc, mmdebstrap, systemd-analyze, and Debian's
# own older Node as /usr/bin/node, on which tusgate must refuse to start) installed when
# missing, helm v4 and the container test's base image built once per machine, and Redis on
# 127.0.0.1:6379 and RabbitMQ on 127.0.0.1:5672 started when they are not running. Quick when all
# is there.
set -eu
cd "$(dirname "$0")/.."
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

failed=no
sh scripts/ensure-packages.sh \
  nginx=nginx-light \
  promtool=prometheus \
  /usr/bin/chromium=chromium \
  redis-server=redis-server \
  rabbitmq-server=rabbitmq-server \
  podman=podman \
  runc=runc \
  mmdebstrap=mmdebstrap \
  systemd-analyze=systemd \
  /usr/bin/node=nodejs || failed=yes

if [ ! -x "${TUSGATE_TOOL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tusgate}/tusd-v2.10.0/tusd" ] && ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  echo "ensure-test-deps: Go is missing; it builds tusd, which the tests run against." >&2
  echo "ensure-test-deps: install Go 1.25 or newer from https://go.dev/dl/ (Debian's golang-go is too old)" >&2
  failed=yes
fi
[ "$failed" = no ] || exit 1

# The Helm chart's checks (test/integration/deploy-helm.test.ts); the first build takes minutes.
sh scripts/ensure-go-tool.sh helm helm.sh/helm/v4/cmd/helm v4.3.2
# The S3 store's tests run against Versity Gateway (test/helpers/s3-server.ts); minutes to build.
sh scripts/ensure-go-tool.sh versitygw github.com/versity/versitygw/cmd/versitygw v1.8.0
# The GCS store's tests run against fake-gcs-server (test/helpers/gcs-server.ts).
sh scripts/ensure-go-tool.sh fake-gcs-server github.com/fsouza/fake-gcs-server v1.56.1
# The container test's base image (test/e2e/deploy-container.test.ts): Debian + Node 24, cached.
sh scripts/ensure-container-base.sh >/dev/null

listening() {
  node -e "require('node:net').connect($1, '127.0.0.1')
    .on('connect', () => process.exit(0)).on('error', () => process.exit(1))"
}
wait_for() {
  name=$1 port=$2 seconds=$3
  while ! listening "$port"; do
    seconds=$((seconds - 1))
    if [ "$seconds" -lt 0 ]; then
      echo "ensure-test-deps: $name did not start listening on 127.0.0.1:$port" >&2
      exit 1
    fi
    sleep 1
  done
}

if ! listening 6379; then
  echo "ensure-test-deps: starting Redis on 127.0.0.1:6379" >&2
  mkdir -p .cache/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save '' --appendonly no \
    --dir "$PWD/.cache/redis" --logfile "$PWD/.cache/redis/redis.log"
  wait_for Redis 6379 15
fi

if ! listening 5672; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-test-deps: RabbitMQ is not running on 127.0.0.1:5672" >&2
    echo "ensure-test-deps: start it with: sudo rabbitmq-server -detached" >&2
    exit 1
  fi
  echo "ensure-test-deps: starting RabbitMQ on 127.0.0.1:5672" >&2
  rabbitmq-server -detached
  wait_for RabbitMQ 5672 120
fi
