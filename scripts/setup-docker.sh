#!/usr/bin/env bash
# scripts/setup-docker.sh — make a working Docker engine on this machine.
#
# Idempotent. Fast path: when `docker info` works and a privileged
# `docker run --rm --privileged --cgroupns=private kgrade/probe:1 true`
# works, it does nothing else.
# Otherwise, as root:
#   - apt-get update (once) and install Debian's docker.io (dockerd 20.10,
#     containerd 1.6, runc 1.1) and jq, when missing;
#   - create /lib/modules (kind bind-mounts it into its nodes; empty is fine);
#   - start dockerd by hand (no systemd): setsid, log in
#     /var/log/kgrade-dockerd.log, wait for `docker info` with a deadline;
#   - build the tiny probe image kgrade/probe:1 (Debian's static busybox, from
#     the .deb, cached under ${KGRADE_CACHE:-$HOME/.cache/kgrade}/debs);
#   - capability fix, only when root's bounding set lacks capabilities
#     (CapBnd in /proc/self/status differs from the full set given by
#     /proc/sys/kernel/cap_last_cap; e.g. 000001fffeffffff = no
#     CAP_SYS_RESOURCE) and so a privileged run fails with "unable to apply
#     caps": install scripts/kgrade-runc as /usr/local/lib/kgrade/kgrade-runc
#     and make it dockerd's default runtime in /etc/docker/daemon.json
#     ("runtimes" + "default-runtime"), then restart dockerd. On a normal
#     host nothing of this is installed;
#   - verify: privileged run with --cgroupns=private, and `docker exec` and
#     `docker exec --privileged` into a running privileged container.
# Client: whatever `docker` is on PATH. /usr/local/bin/docker (client 28,
# API 1.50) negotiates down to dockerd 20.10's API 1.41; /usr/bin/docker from
# docker.io (20.10) works as well. Set DOCKER=/usr/bin/docker to force one.
# Options: --verify  run the full verification even when the fast path passes.
# Progress goes to stderr, each line prefixed with "setup-docker:".
set -euo pipefail

ME=setup-docker
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DOCKER=${DOCKER:-$(command -v docker || echo /usr/bin/docker)}
CACHE=${KGRADE_CACHE:-$HOME/.cache/kgrade}
LOG=/var/log/kgrade-dockerd.log
SHIM_SRC=$HERE/kgrade-runc
SHIM=/usr/local/lib/kgrade/kgrade-runc
SHIM_NAME=kgrade-runc
DAEMON_JSON=/etc/docker/daemon.json
PROBE=kgrade/probe:1
DEADLINE=${KGRADE_DOCKERD_DEADLINE:-60}
VERIFY=0
[[ ${1:-} == --verify ]] && VERIFY=1

# shellcheck source=scripts/lib/progress.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/progress.sh"

[[ $(id -u) == 0 ]] || die "must run as root"

docker_ok() { d info >/dev/null 2>&1; }
probe_ok() {
  d image inspect "$PROBE" >/dev/null 2>&1 &&
    d run --rm --privileged --cgroupns=private --network none "$PROBE" /bin/busybox true >/dev/null 2>&1
}

# ---- fast path -------------------------------------------------------------
mkdir -p /lib/modules
# Keep an installed shim in step with the repo's copy (no restart needed:
# containerd runs the file anew for every runc call).
if [[ -f $SHIM && -f $SHIM_SRC ]] && ! cmp -s "$SHIM_SRC" "$SHIM"; then
  install -m 0755 "$SHIM_SRC" "$SHIM"
  log "updated $SHIM"
fi
if ((!VERIFY)) && docker_ok && probe_ok; then
  log "docker ready, nothing to do ($(elapsed "$T0"))"
  exit 0
fi

# One setup at a time (several test runs may call this concurrently).
mkdir -p /run/kgrade
exec 9>/run/kgrade/setup-docker.lock
flock -w 300 9 || die "another setup-docker.sh holds /run/kgrade/setup-docker.lock"

APT_UPDATED=0
apt_update_once() {
  ((APT_UPDATED)) && return 0
  log "apt-get update"
  apt-get update -q >/dev/null
  APT_UPDATED=1
}

# ---- install ---------------------------------------------------------------
stage install
need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v jq >/dev/null 2>&1 || need+=(jq)
[[ -x $DOCKER ]] || need+=(docker.io)
if ((${#need[@]})); then
  apt_update_once
  log "apt-get install ${need[*]}"
  # No init system here: policy-rc.d (if present) keeps the package from
  # starting the daemon; we start it ourselves below.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
  DOCKER=$(command -v docker || echo /usr/bin/docker)
  done_stage "installed ${need[*]}"
else
  done_stage "dockerd and jq present"
fi

# ---- dockerd ---------------------------------------------------------------
dockerd_pid() {
  local p
  p=$(cat /var/run/docker.pid 2>/dev/null) || return 1
  [[ -n $p && -d /proc/$p ]] && [[ $(cat /proc/"$p"/comm 2>/dev/null) == dockerd ]] && echo "$p"
}
wait_docker() {
  local end=$((SECONDS + DEADLINE))
  until docker_ok; do
    if ((SECONDS >= end)); then
      log "dockerd did not answer within ${DEADLINE}s; last lines of $LOG:"
      tail -n 30 "$LOG" >&2 || true
      return 1
    fi
    sleep 0.2
  done
}
start_dockerd() {
  log "starting dockerd (log: $LOG)"
  printf '\n=== %s kgrade: starting dockerd\n' "$(date -Is)" >>"$LOG"
  # 9>&-: dockerd must not inherit (and so hold) our lock.
  setsid -f dockerd </dev/null >>"$LOG" 2>&1 9>&-
  wait_docker || die "dockerd failed to start"
}
stop_dockerd() {
  local p end
  p=$(dockerd_pid) || return 0
  log "stopping dockerd (pid $p)"
  kill -TERM "$p"
  end=$((SECONDS + 30))
  while [[ -d /proc/$p ]]; do
    ((SECONDS < end)) || die "dockerd (pid $p) did not stop within 30s"
    sleep 0.2
  done
}

stage dockerd
if docker_ok; then
  done_stage "already running"
elif dockerd_pid >/dev/null; then
  log "dockerd process exists but does not answer yet; waiting"
  wait_docker || die "dockerd (pid $(dockerd_pid)) does not answer"
  done_stage
else
  start_dockerd
  done_stage
fi
d version --format "client {{.Client.Version}} (API {{.Client.APIVersion}}), server {{.Server.Version}} (API {{.Server.APIVersion}})" 2>/dev/null |
  sed "s/^/$ME: /" >&2 || true

# ---- probe image -----------------------------------------------------------
busybox_deb() {
  # Prints the path of Debian's busybox-static .deb, downloading it once.
  local dir=$CACHE/debs f
  mkdir -p "$dir"
  f=$(find "$dir" -maxdepth 1 -name 'busybox-static_*.deb' 2>/dev/null | sort | tail -n 1 || true)
  if [[ -z $f ]]; then
    apt-cache show busybox-static >/dev/null 2>&1 || apt_update_once
    (cd "$dir" && apt-get download -q -o APT::Sandbox::User=root busybox-static >/dev/null)
    f=$(find "$dir" -maxdepth 1 -name 'busybox-static_*.deb' | sort | tail -n 1)
  fi
  echo "$f"
}
stage probe-image
if d image inspect "$PROBE" >/dev/null 2>&1; then
  done_stage "$PROBE present"
else
  deb=$(busybox_deb)
  tmp=$(mktemp -d)
  dpkg-deb -x "$deb" "$tmp"
  # Debian's package has bin/busybox; a /usr-merged one (Ubuntu's, newer Debian's) usr/bin/busybox.
  bb=bin/busybox
  [[ -f $tmp/$bb ]] || bb=usr/bin/busybox
  [[ -f $tmp/$bb ]] || die "$(basename "$deb") holds no bin/busybox or usr/bin/busybox"
  tar -C "$tmp" --transform='s|^usr/bin/|bin/|' -c "$bb" | d import -c 'CMD ["/bin/busybox","true"]' - "$PROBE" >/dev/null
  rm -rf "$tmp"
  done_stage "imported $PROBE from $(basename "$deb")"
fi

# ---- capability fix --------------------------------------------------------
stage capabilities
last=$(cat /proc/sys/kernel/cap_last_cap)
full=$(printf '%016x' $(((1 << (last + 1)) - 1)))
bnd=$(awk '/^CapBnd:/{print $2}' /proc/self/status)
needs_shim=0
if [[ $((0x$bnd & 0x$full)) != $((0x$full)) ]]; then
  needs_shim=1
  log "root's bounding set $bnd lacks capabilities (full set $full)"
fi
priv_err=$(d run --rm --privileged --cgroupns=private --network none "$PROBE" /bin/busybox true 2>&1 >/dev/null) && priv_ok=1 || priv_ok=0
if ((priv_ok)); then
  done_stage "privileged run works"
elif ((!needs_shim)); then
  die "privileged run fails on a host with the full bounding set: $priv_err"
else
  log "privileged run fails: ${priv_err%%$'\n'*}"
  command -v jq >/dev/null || die "jq is needed by $SHIM_NAME"
  [[ -f $SHIM_SRC ]] || die "missing $SHIM_SRC"
  mkdir -p "$(dirname "$SHIM")"
  if ! cmp -s "$SHIM_SRC" "$SHIM"; then
    install -m 0755 "$SHIM_SRC" "$SHIM"
    log "installed $SHIM"
  fi
  mkdir -p "$(dirname "$DAEMON_JSON")"
  cur='{}'
  [[ -s $DAEMON_JSON ]] && cur=$(cat "$DAEMON_JSON")
  new=$(jq --arg n "$SHIM_NAME" --arg p "$SHIM" \
    '.runtimes[$n] = {path: $p} | .["default-runtime"] = $n' <<<"$cur")
  if [[ $(jq -S . <<<"$cur") != $(jq -S . <<<"$new") ]]; then
    printf '%s\n' "$new" >"$DAEMON_JSON"
    log "wrote $DAEMON_JSON: default-runtime $SHIM_NAME"
  fi
  # dockerd reads daemon.json at start; restart it unless it already uses the shim.
  if [[ $(d info --format '{{.DefaultRuntime}}' 2>/dev/null) != "$SHIM_NAME" ]]; then
    stop_dockerd
    start_dockerd
  fi
  [[ $(d info --format '{{.DefaultRuntime}}') == "$SHIM_NAME" ]] || die "dockerd does not use $SHIM_NAME; see $LOG"
  done_stage "dockerd default runtime is $SHIM_NAME"
fi

# ---- verify ----------------------------------------------------------------
stage verify
d run --rm --privileged --cgroupns=private --network none "$PROBE" /bin/busybox true ||
  die "docker run --privileged --cgroupns=private still fails"
cid=$(d run -d --privileged --cgroupns=private --network none "$PROBE" /bin/busybox sleep 60)
trap 'd rm -f "$cid" >/dev/null 2>&1 || true' EXIT
d exec "$cid" /bin/busybox true || die "docker exec fails"
d exec --privileged "$cid" /bin/busybox true || die "docker exec --privileged fails"
d rm -f "$cid" >/dev/null
trap - EXIT
done_stage "privileged run, exec and exec --privileged work"
log "docker ready ($(elapsed "$T0") total)"
