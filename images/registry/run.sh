#!/usr/bin/env bash
# Starts kgrade's local registry for kind clusters and pushes images to it:
#   images/registry/run.sh [IMAGE...]       e.g. busybox:1.36 busybox:latest
# The registry (kgrade/registry:$REGISTRY_VERSION, built by build.sh) runs as
# container "kgrade-registry" on the docker network "kind" (created here the
# way kind creates it, if no cluster made it yet), published on
# 127.0.0.1:${KGRADE_REGISTRY_PORT:-5001} for pushes from this host. kgrade's
# node image sends every registry pull to http://kgrade-registry:5000
# (/etc/containerd/certs.d/_default/hosts.toml), so a pod can pull an image
# pushed here with any pull policy, and nothing is fetched from the internet.
# Each IMAGE (a local docker image) is pushed under its own repository path:
# busybox:latest -> library/busybox:latest, registry.k8s.io/pause:3.10 -> pause:3.10.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../k8s/lib.sh"
NAME=kgrade-registry
PORT=${KGRADE_REGISTRY_PORT:-5001}
REF=$("$HERE/build.sh" | tail -1)

if ! docker network inspect kind >/dev/null 2>&1; then
  docker network create -d=bridge -o com.docker.network.bridge.enable_ip_masquerade=true \
    -o com.docker.network.driver.mtu=1500 --ipv6 --subnet fc00:f853:ccd:e793::/64 kind >/dev/null
  log "created docker network kind"
fi
if [[ $(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null) != true ]]; then
  docker rm -f "$NAME" >/dev/null 2>&1 || true
  docker run -d --restart=always --name "$NAME" --network kind \
    -p "127.0.0.1:$PORT:5000" "$REF" >/dev/null
  for _ in $(seq 1 50); do
    curl -fsS "http://127.0.0.1:$PORT/v2/" >/dev/null 2>&1 && break; sleep 0.2
  done
  log "registry $NAME up on network kind, 127.0.0.1:$PORT"
fi

for img in "$@"; do
  ref=$img
  [[ $ref == *:* || $ref == *@* ]] || ref=$ref:latest
  repo=${ref%%:*} tag=${ref##*:}
  first=${repo%%/*}
  if [[ $repo != */* ]]; then repo=library/$repo
  elif [[ $first == *.* || $first == *:* || $first == localhost ]]; then
    repo=${repo#*/}; [[ $first == docker.io && $repo != */* ]] && repo=library/$repo
  fi
  docker tag "$img" "127.0.0.1:$PORT/$repo:$tag"
  docker push -q "127.0.0.1:$PORT/$repo:$tag" >/dev/null
  docker rmi "127.0.0.1:$PORT/$repo:$tag" >/dev/null
  log "pushed $img as $repo:$tag"
done
