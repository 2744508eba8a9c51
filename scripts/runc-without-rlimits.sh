#!/bin/sh
# An OCI runtime for podman and buildah (`--runtime`) in sandboxes that forbid setrlimit:
# removes the rlimits from the container's config.json (`create`) or the process file (`exec`,
# e.g. a HEALTHCHECK), then runs runc with the same arguments. Only the container test uses it;
# a normal host runs runc or crun directly. (crun cannot stand in: it refuses a hybrid cgroup
# v1/v2 layout.)
strip_rlimits() {
  # The rlimits array holds flat objects only, so "up to the first ]" is the whole array.
  [ -f "$1" ] && sed -z -E -i \
    -e 's/,[[:space:]]*"rlimits"[[:space:]]*:[[:space:]]*\[[^]]*\]//' \
    -e 's/"rlimits"[[:space:]]*:[[:space:]]*\[[^]]*\][[:space:]]*,?//' \
    "$1"
}
previous=
for argument in "$@"; do
  case "$previous" in
    --bundle | -b) strip_rlimits "$argument/config.json" ;;
    --process | -p) strip_rlimits "$argument" ;;
  esac
  case "$argument" in
    --bundle=*) strip_rlimits "${argument#--bundle=}/config.json" ;;
    --process=*) strip_rlimits "${argument#--process=}" ;;
  esac
  previous=$argument
done
exec "${TUSGATE_RUNC:-runc}" "$@"
