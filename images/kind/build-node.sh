#!/usr/bin/env bash
# Assembles kgrade's kind node image, kgrade/kind-node:$K8S_VERSION, with no
# registry: `kind build node-image` cannot be used offline (it pulls its base
# image and fetches pause, etcd, coredns, kindnetd and the storage images
# inside the build container; a failed fetch is only a warning, so an offline
# build "succeeds" and the cluster never starts). Instead, like kind's own
# build: run the local node base (images/node/build.sh) with `sleep`, copy in
#   - kubeadm, kubelet, kubectl            -> /usr/bin
#   - containerd, ctr, containerd-shim-runc-v2 -> /usr/local/bin (built from source)
#   - runc (Debian's package)              -> /usr/sbin/runc
#   - CNI plugins host-local loopback ptp portmap bridge -> /opt/cni/bin
#   - node/files: entrypoint, containerd config, systemd units (kubelet with
#     kubeadm's drop-in, containerd), /kind/manifests/default-{cni,storage}.yaml
#   - /kind/version
# start containerd inside and import every image from build-images.sh into
# its k8s.io namespace (not unpacked, then labelled pinned, as kind does), then commit with
# ENTRYPOINT [/usr/local/bin/entrypoint, /sbin/init] and STOPSIGNAL SIGRTMIN+3.
#
# Cache: image kgrade/kind-node:<k8s>-<NODE_REV> (also tagged
# kgrade/kind-node:<k8s>) and its `docker save` tarball
# $KGRADE_CACHE/kind-node/<k8s>-<NODE_REV>.tar; with the tarball and no image,
# a rerun only loads it. --force rebuilds.
# Usage: images/kind/build-node.sh [--force]      (prints the image ref last)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/images/k8s/lib.sh"

KEY=$K8S_VERSION-$NODE_REV
REF=kgrade/kind-node:$KEY
ALIAS=kgrade/kind-node:$K8S_VERSION
TARBALL=$KGRADE_CACHE/kind-node/$KEY.tar
IMAGES=$KGRADE_CACHE/kind-images/$KEY
NODE_BASE=kgrade/node:$(tr -d '[:space:]' < "$ROOT/images/node/VERSION")
K8S_BIN=$KGRADE_CACHE/k8s/$K8S_VERSION/bin
C_BIN=$KGRADE_CACHE/containerd/$CONTAINERD_VERSION/bin
CNI_BIN=$KGRADE_CACHE/cni/$CNI_PLUGINS_VERSION/bin
FORCE=0; [[ ${1:-} == --force ]] && FORCE=1

finish() { docker tag "$REF" "$ALIAS"; log "ready: $REF (= $ALIAS)"; echo "$REF"; exit 0; }
if (( ! FORCE )); then
  docker image inspect "$REF" >/dev/null 2>&1 && finish
  if [[ -f $TARBALL ]]; then
    log "docker load $TARBALL"; s=$(date +%s)
    docker load -q -i "$TARBALL" >&2 || true
    log "docker load: done in $(( $(date +%s) - s ))s"
    docker image inspect "$REF" >/dev/null 2>&1 && finish
  fi
fi

prereqs() {
  "$HERE/build-binaries.sh"
  docker image inspect "$NODE_BASE" >/dev/null 2>&1 || "$ROOT/images/node/build.sh" >/dev/null
  "$HERE/build-images.sh" >/dev/null
}

assemble() {
  local c=kgrade-kind-node-build-$$ rc=0
  docker rm -f "$c" >/dev/null 2>&1 || true
  docker run -d --name "$c" --entrypoint sleep --security-opt seccomp=unconfined \
    "$NODE_BASE" infinity >/dev/null
  # shellcheck disable=SC2064 # $c is local: the trap keeps its value of now
  trap "docker rm -f $c >/dev/null 2>&1 || true" EXIT
  assemble_in "$c" || rc=$?
  if (( rc == 0 )); then
    local old; old=$(docker image inspect -f '{{.Id}}' "$REF" 2>/dev/null || true)
    docker commit \
      --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
      --change 'CMD []' \
      --change 'ENV container=docker' \
      "$c" "$REF-unsealed" >/dev/null
    # docker 20.10's commit --change refuses STOPSIGNAL: add it with a
    # one-line build on the local image (legacy builder: no registry lookup)
    printf 'FROM %s\nSTOPSIGNAL SIGRTMIN+3\n' "$REF-unsealed" \
      | DOCKER_BUILDKIT=0 docker build -q -t "$REF" - >/dev/null 2>&1
    docker rmi "$REF-unsealed" >/dev/null
    # a --force rebuild leaves the previous image untagged: drop it
    [[ -z $old || $old == "$(docker image inspect -f '{{.Id}}' "$REF")" ]] || docker rmi "$old" >/dev/null 2>&1 || true
  fi
  docker rm -f "$c" >/dev/null; trap - EXIT
  return $rc
}

assemble_in() {
  local c=$1
  x() { docker exec -i "$c" "$@"; }
  # files
  tar -C "$HERE/node/files" --owner=0 --group=0 -cf - . | docker cp - "$c:/"
  for b in kubeadm kubelet kubectl; do docker cp "$K8S_BIN/$b" "$c:/usr/bin/$b"; done
  for b in containerd ctr containerd-shim-runc-v2; do docker cp "$C_BIN/$b" "$c:/usr/local/bin/$b"; done
  x mkdir -p /opt/cni/bin /etc/cni/net.d /etc/kubernetes/manifests /etc/containerd/certs.d /var/lib/kubelet
  for b in host-local loopback ptp portmap bridge; do docker cp "$CNI_BIN/$b" "$c:/opt/cni/bin/$b"; done
  # Debian's runc (bookworm: 1.1.5); libseccomp2 is in the node base already
  docker cp "$(fetch_debs runc)" "$c:/tmp/runc.deb"
  x dpkg -i /tmp/runc.deb >/dev/null
  x rm -f /tmp/runc.deb
  x sh -c "printf '%s' '$K8S_VERSION' > /kind/version"
  x sed -i -e "s/@LOCAL_PATH_VERSION@/$LOCAL_PATH_VERSION/g" -e "s/@HELPER_TAG@/$HELPER_TAG/g" \
    -e "s/@KINDNET_TAG@/$KINDNET_TAG/g" /kind/manifests/default-storage.yaml /kind/manifests/default-cni.yaml
  x chmod 0755 /usr/local/bin/entrypoint /usr/bin/kubeadm /usr/bin/kubelet /usr/bin/kubectl
  # containerd's default OCI spec minus its rlimits (as kind's base does)
  x sh -c 'ctr oci spec | python3 -c "import json,sys; s=json.load(sys.stdin); s[\"process\"].pop(\"rlimits\", None); json.dump(s, sys.stdout, indent=2)" > /etc/containerd/cri-base.json'
  # systemd: only what a kind node needs, as kind's base image
  x sh -euc '
    rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* \
          /lib/systemd/system/local-fs.target.wants/* /lib/systemd/system/sockets.target.wants/*udev* \
          /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
    find /lib/systemd/system/sysinit.target.wants/ -name systemd-tmpfiles-setup.service -delete
    grep -q "^ReadKMsg=no" /etc/systemd/journald.conf || echo ReadKMsg=no >> /etc/systemd/journald.conf
    systemctl enable containerd.service kubelet.service undo-mount-hacks.service >/dev/null 2>&1
    systemctl mask systemd-binfmt.service >/dev/null 2>&1
    containerd --version; runc --version | head -1; kubelet --version'
  # preload images into containerd (content only, pinned), as kind does
  x sh -c 'containerd >/tmp/containerd.log 2>&1 & echo $! > /tmp/containerd.pid'
  x sh -c 'for i in $(seq 1 30); do [ -S /run/containerd/containerd.sock ] && ctr version >/dev/null 2>&1 && exit 0; sleep 1; done; cat /tmp/containerd.log; exit 1'
  local t
  for t in "$IMAGES"/*.tar; do
    x ctr --namespace=k8s.io images import --all-platforms --no-unpack - < "$t" >/dev/null
  done
  if docker image inspect busybox:1.36 >/dev/null 2>&1; then
    # the labs' busybox (images/busybox/build.sh), under every name they use
    docker save busybox:1.36 | x ctr --namespace=k8s.io images import \
      --all-platforms --no-unpack - >/dev/null
    x ctr --namespace=k8s.io images tag --force docker.io/library/busybox:1.36 docker.io/library/busybox:latest >/dev/null
  else
    log "  no busybox:1.36 image here: the node has no busybox"
  fi
  # pin them (ctr 1.7's import has no --label, unlike the 2.x kind uses)
  x sh -c 'for r in $(ctr -n k8s.io images ls -q); do ctr -n k8s.io images label "$r" io.cri-containerd.pinned=pinned >/dev/null; done'
  x ctr --namespace=k8s.io images ls -q | grep -v '^sha256:' | sed 's/^/  preloaded: /' >&2
  x sh -c 'kill $(cat /tmp/containerd.pid); for i in $(seq 1 20); do kill -0 $(cat /tmp/containerd.pid) 2>/dev/null || exit 0; sleep 0.5; done; exit 1'
  x rm -rf /tmp/containerd.log /tmp/containerd.pid /run/containerd /var/log/* /var/cache/apt/archives/*.deb
}

save() {
  mkdir -p "$(dirname "$TARBALL")"
  docker save -o "$TARBALL.tmp" "$REF"
  mv "$TARBALL.tmp" "$TARBALL"
  ls -l "$TARBALL" >&2
}

stage "prerequisites (binaries, images)" "$KGRADE_CACHE/kind-node/.prereqs-$KEY.done" prereqs
log "stage assemble $REF: start"; s=$(date +%s)
assemble
log "stage assemble: done in $(( $(date +%s) - s ))s"
stage "docker save $REF" "$KGRADE_CACHE/kind-node/.save-$KEY.done-$(docker image inspect -f '{{.Id}}' "$REF" | cut -c8-19)" save
finish
