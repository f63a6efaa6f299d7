#!/usr/bin/env bash
# Builds, with no registry, every container image a kind cluster of kgrade's
# node image runs, with the exact names kubeadm and the node's manifests use:
#   registry.k8s.io/kube-apiserver|kube-controller-manager|kube-scheduler:$K8S_VERSION
#   registry.k8s.io/kube-proxy:$K8S_VERSION        (FROM kgrade/node: iptables, nft)
#   registry.k8s.io/etcd:<etcd>-0, registry.k8s.io/coredns/coredns:$COREDNS_VERSION,
#   registry.k8s.io/pause:$PAUSE_VERSION
#   docker.io/kgrade/kindnet:$KINDNET_TAG            (FROM kgrade/node: python3, iptables)
#   docker.io/kgrade/local-path-provisioner:$LOCAL_PATH_VERSION
#   docker.io/kgrade/local-path-helper:$HELPER_TAG   (busybox sh, mkdir, rm)
# Images are FROM scratch or FROM the local kgrade/node image (built by
# images/node/build.sh), with the legacy builder (DOCKER_BUILDKIT=0), which
# uses a local base as is; BuildKit would try to resolve it in a registry.
# Each image is saved with `docker save` to
#   $KGRADE_CACHE/kind-images/<key>/<name>.tar
# (key: Kubernetes version + NODE_REV), which build-node.sh imports into the
# node's containerd. A rerun rebuilds nothing whose tar exists.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
. "$ROOT/images/k8s/lib.sh"
export DOCKER_BUILDKIT=0

KEY=$K8S_VERSION-$NODE_REV
OUT=$KGRADE_CACHE/kind-images/$KEY
NODE_BASE=kgrade/node:$(tr -d '[:space:]' < "$ROOT/images/node/VERSION")
ETCD_TAG=${ETCD_VERSION#v}-0
K8S_BIN=$KGRADE_CACHE/k8s/$K8S_VERSION/bin
mkdir -p "$OUT"
log "images for $KEY -> $OUT (base $NODE_BASE)"

need() { [[ -x $1 ]] || die "missing $1: run $2 first"; }
need "$K8S_BIN/kube-apiserver" images/k8s/build.sh
need "$KGRADE_CACHE/etcd/$ETCD_VERSION/bin/etcd" images/k8s/build-etcd.sh
need "$KGRADE_CACHE/coredns/$COREDNS_BUILD/bin/coredns" images/k8s/build-coredns.sh
need "$KGRADE_CACHE/pause/$PAUSE_VERSION/bin/pause" images/k8s/build-pause.sh
need "$KGRADE_CACHE/local-path-provisioner/$LOCAL_PATH_VERSION/bin/local-path-provisioner" images/kind/build-local-path.sh
docker image inspect "$NODE_BASE" >/dev/null 2>&1 || "$ROOT/images/node/build.sh" >/dev/null

# ctx NAME: a fresh build context holding a minimal /etc for FROM scratch.
ctx() {
  local d=$OUT/ctx/$1
  rm -rf "$d"; mkdir -p "$d/etc" "$d/tmp"
  chmod 1777 "$d/tmp"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$d/etc/passwd"
  printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' > "$d/etc/group"
  echo 'hosts: files dns' > "$d/etc/nsswitch.conf"
  echo "$d"
}

# image NAME REF CONTEXT: docker build CONTEXT as REF, save it to NAME.tar.
image() {
  local name=$1 ref=$2 dir=$3
  docker build -q -t "$ref" "$dir" >/dev/null
  docker save -o "$OUT/$name.tar.tmp" "$ref"
  mv "$OUT/$name.tar.tmp" "$OUT/$name.tar"
  echo "$ref" > "$OUT/$name.ref"
  log "  $ref: $(docker image inspect -f '{{.Size}}' "$ref" | numfmt --to=iec)"
}

scratch_go() { # NAME REF BINARY: a static Go binary in /usr/local/bin, as entrypoint
  local d; d=$(ctx "$1")
  cp "$3" "$d/"
  cat > "$d/Dockerfile" <<EOF
FROM scratch
COPY etc /etc
COPY tmp /tmp
COPY $(basename "$3") /usr/local/bin/$(basename "$3")
ENV PATH=/usr/local/bin:/usr/bin:/bin
ENTRYPOINT ["/usr/local/bin/$(basename "$3")"]
EOF
  image "$1" "$2" "$d"
}

build_control_plane() {
  local b
  for b in kube-apiserver kube-controller-manager kube-scheduler; do
    scratch_go "$b" "registry.k8s.io/$b:$K8S_VERSION" "$K8S_BIN/$b"
  done
}

build_kube_proxy() {
  local d; d=$(ctx kube-proxy)
  cp "$K8S_BIN/kube-proxy" "$HERE/rootfs/iptables-wrapper" "$d/"
  # nft too, as in the official image (kube-proxy's startup cleanup of the
  # nftables mode logs errors without it)
  mkdir -p "$d/debs"
  local debs
  debs=$(fetch_debs nftables libnftables1 libjansson4 libedit2)
  mapfile -t debs <<<"$debs"
  cp "${debs[@]}" "$d/debs/"
  cat > "$d/Dockerfile" <<EOF
FROM $NODE_BASE
COPY debs /tmp/debs
RUN dpkg -i /tmp/debs/*.deb >/dev/null && rm -rf /tmp/debs
COPY kube-proxy /usr/local/bin/kube-proxy
COPY iptables-wrapper /usr/sbin/iptables-wrapper
RUN for c in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do \
      ln -sf iptables-wrapper /usr/sbin/\$c; done
CMD []
ENTRYPOINT ["/usr/local/bin/kube-proxy"]
EOF
  image kube-proxy "registry.k8s.io/kube-proxy:$K8S_VERSION" "$d"
}

build_etcd() {
  local d; d=$(ctx etcd)
  cp "$KGRADE_CACHE/etcd/$ETCD_VERSION/bin/"{etcd,etcdctl} "$d/"
  mkdir -p "$d/var/lib/etcd"
  cat > "$d/Dockerfile" <<EOF
FROM scratch
COPY etc /etc
COPY tmp /tmp
COPY var /var
COPY etcd etcdctl /usr/local/bin/
ENV PATH=/usr/local/bin:/usr/bin:/bin
CMD ["/usr/local/bin/etcd"]
EOF
  image etcd "registry.k8s.io/etcd:$ETCD_TAG" "$d"
}

build_coredns() {
  local d; d=$(ctx coredns)
  cp "$KGRADE_CACHE/coredns/$COREDNS_BUILD/bin/coredns" "$d/"
  cat > "$d/Dockerfile" <<EOF
FROM scratch
COPY etc /etc
COPY tmp /tmp
COPY coredns /coredns
EXPOSE 53 53/udp
ENTRYPOINT ["/coredns"]
EOF
  image coredns "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" "$d"
}

build_pause() {
  local d; d=$(ctx pause)
  cp "$KGRADE_CACHE/pause/$PAUSE_VERSION/bin/pause" "$d/"
  cat > "$d/Dockerfile" <<EOF
FROM scratch
COPY pause /pause
USER 65535:65535
ENTRYPOINT ["/pause"]
EOF
  image pause "registry.k8s.io/pause:$PAUSE_VERSION" "$d"
}

build_kindnet() {
  local d; d=$(ctx kindnet)
  cp "$HERE/kindnet/kgrade-kindnet" "$HERE/rootfs/iptables-wrapper" "$d/"
  cat > "$d/Dockerfile" <<EOF
FROM $NODE_BASE
COPY kgrade-kindnet /usr/local/bin/kgrade-kindnet
COPY iptables-wrapper /usr/sbin/iptables-wrapper
RUN for c in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do \
      ln -sf iptables-wrapper /usr/sbin/\$c; done
CMD []
ENTRYPOINT ["/usr/local/bin/kgrade-kindnet"]
EOF
  image kindnet "docker.io/kgrade/kindnet:$KINDNET_TAG" "$d"
}

build_local_path() {
  local d; d=$(ctx local-path-provisioner)
  cp "$KGRADE_CACHE/local-path-provisioner/$LOCAL_PATH_VERSION/bin/local-path-provisioner" "$d/"
  cat > "$d/Dockerfile" <<EOF
FROM scratch
COPY etc /etc
COPY tmp /tmp
COPY local-path-provisioner /usr/bin/local-path-provisioner
ENV PATH=/usr/bin:/bin
ENTRYPOINT ["/usr/bin/local-path-provisioner"]
EOF
  image local-path-provisioner "docker.io/kgrade/local-path-provisioner:$LOCAL_PATH_VERSION" "$d"
}

build_local_path_helper() {
  local d c a; d=$(ctx local-path-helper)
  mkdir -p "$d/bin"
  c=$(docker create "$NODE_BASE" true)
  docker cp "$c:/bin/busybox" "$d/bin/busybox"
  docker rm "$c" >/dev/null
  for a in sh mkdir rm ls cat; do ln -s busybox "$d/bin/$a"; done
  cat > "$d/Dockerfile" <<EOF
FROM scratch
COPY etc /etc
COPY tmp /tmp
COPY bin /bin
ENV PATH=/bin
CMD ["/bin/sh"]
EOF
  image local-path-helper "docker.io/kgrade/local-path-helper:$HELPER_TAG" "$d"
}

stage "control-plane images" "$OUT/.control-plane.done" build_control_plane
stage "kube-proxy image" "$OUT/.kube-proxy.done" build_kube_proxy
stage "etcd image" "$OUT/.etcd.done" build_etcd
stage "coredns image" "$OUT/.coredns.done" build_coredns
stage "pause image" "$OUT/.pause.done" build_pause
stage "kindnet image" "$OUT/.kindnet.done" build_kindnet
stage "local-path images" "$OUT/.local-path.done" build_local_path
stage "local-path-helper image" "$OUT/.local-path-helper.done" build_local_path_helper
rm -rf "$OUT/ctx"
cat "$OUT"/*.ref
