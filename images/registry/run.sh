#!/usr/bin/env bash
# Starts kgrade's local registry for a kind cluster and pushes images to it:
#   images/registry/run.sh [--reset] [IMAGE...]     e.g. busybox:1.36 busybox:latest
# Two instances of the registry (kgrade/registry:$REGISTRY_VERSION, built by
# build.sh) share one volume, $NAME-data:
# - $NAME serves pulls on the docker network $KGRADE_REGISTRY_NETWORK (default
#   "kind", created here the way kind creates it if no cluster made it yet), as
#   $NAME and under the alias kgrade-registry, which kgrade's node image sends
#   every pull to (/etc/containerd/certs.d/_default/hosts.toml). It is
#   read-only: the registry's read-only maintenance mode, delete disabled and
#   the volume mounted read-only, so no pod can push, tag or delete.
#   Published on 127.0.0.1 (a port docker picks) for kgrade's checks.
# - $NAME-writer takes kgrade's pushes: on a network of its own (no cluster's
#   pod reaches it), published on 127.0.0.1 only, delete disabled.
# NAME is $KGRADE_REGISTRY_NAME, default kgrade-registry. Containers made with
# another configuration (the config hash in their label) are made anew.
# --reset removes both instances and the volume first: the registry then
# serves exactly the IMAGEs pushed here.
# Each IMAGE (a local docker image) is pushed under its own repository path:
# busybox:latest -> library/busybox:latest, registry.k8s.io/pause:3.10 -> pause:3.10.
# Prints "pushed REPO:TAG" for each IMAGE, then, last, the host ports:
# "serve=PORT write=PORT".
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../k8s/lib.sh"
NAME=${KGRADE_REGISTRY_NAME:-kgrade-registry}
NETWORK=${KGRADE_REGISTRY_NETWORK:-kind}
WRITER=$NAME-writer
VOLUME=$NAME-data
RESET=
if [[ ${1:-} == --reset ]]; then RESET=1; shift; fi
REF=$("$HERE/build.sh" | tail -1)

serve_config() {
  cat <<'YML'
version: 0.1
log:
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: false
  maintenance:
    uploadpurging:
      enabled: false
    readonly:
      enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
YML
}
write_config() {
  cat <<'YML'
version: 0.1
log:
  fields:
    service: registry-writer
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: false
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
YML
}
HASH=$( { echo "$REF"; serve_config; write_config; } | sha256sum | cut -c1-12)
LABEL=io.kgrade.registry.config

# Creates container $1 from the image, with its config ($2: serve|write) copied
# in before it starts (the image has no shell to write one), then the rest ($@).
start() {
  local name=$1 role=$2; shift 2
  local tmp; tmp=$(mktemp -d)
  "${role}_config" > "$tmp/config.yml"
  docker create --restart=always --name "$name" --label "$LABEL=$HASH" "$@" \
    "$REF" serve /etc/distribution/config.yml >/dev/null
  docker cp -q "$tmp/config.yml" "$name:/etc/distribution/config.yml"
  rm -rf "$tmp"
  docker start "$name" >/dev/null
}
port_of() { docker port "$1" 5000/tcp | sed -n 's/^127\.0\.0\.1:\([0-9]*\)$/\1/p' | head -1; }
current() {
  [[ $(docker inspect -f "{{.State.Running}} {{index .Config.Labels \"$LABEL\"}}" "$1" 2>/dev/null) == "true $HASH" ]]
}
wait_up() {
  local port=$1
  for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && return 0; sleep 0.2
  done
  log "registry on 127.0.0.1:$port does not answer"; return 1
}

if ! docker network inspect "$NETWORK" >/dev/null 2>&1; then
  if [[ $NETWORK == kind ]]; then
    docker network create -d=bridge -o com.docker.network.bridge.enable_ip_masquerade=true \
      -o com.docker.network.driver.mtu=1500 --ipv6 --subnet fc00:f853:ccd:e793::/64 kind >/dev/null
  else
    docker network create -d=bridge -o com.docker.network.driver.mtu=1500 "$NETWORK" >/dev/null
  fi
  log "created docker network $NETWORK"
fi
if [[ -n $RESET ]] || ! current "$NAME" || ! current "$WRITER"; then
  docker rm -f "$NAME" "$WRITER" >/dev/null 2>&1 || true
  docker volume rm "$VOLUME" >/dev/null 2>&1 || true
  docker network inspect "$WRITER" >/dev/null 2>&1 ||
    docker network create -d=bridge -o com.docker.network.driver.mtu=1500 "$WRITER" >/dev/null
  docker volume create "$VOLUME" >/dev/null
  start "$WRITER" write --network "$WRITER" -p 127.0.0.1::5000 -v "$VOLUME:/var/lib/registry"
  start "$NAME" serve --network "$NETWORK" --network-alias kgrade-registry -p 127.0.0.1::5000 \
    -v "$VOLUME:/var/lib/registry:ro"
  log "registry $NAME (read-only) on network $NETWORK, writes through $WRITER on 127.0.0.1 only"
fi
SERVE=$(port_of "$NAME") WRITE=$(port_of "$WRITER")
wait_up "$WRITE"; wait_up "$SERVE"

for img in "$@"; do
  ref=$img
  [[ $ref == *:* || $ref == *@* ]] || ref=$ref:latest
  repo=${ref%%:*} tag=${ref##*:}
  first=${repo%%/*}
  if [[ $repo != */* ]]; then repo=library/$repo
  elif [[ $first == *.* || $first == *:* || $first == localhost ]]; then
    repo=${repo#*/}; [[ $first == docker.io && $repo != */* ]] && repo=library/$repo
  fi
  docker tag "$img" "127.0.0.1:$WRITE/$repo:$tag"
  docker push -q "127.0.0.1:$WRITE/$repo:$tag" >/dev/null
  docker rmi "127.0.0.1:$WRITE/$repo:$tag" >/dev/null
  log "pushed $img as $repo:$tag"
  echo "pushed $repo:$tag"
done
echo "serve=$SERVE write=$WRITE"
