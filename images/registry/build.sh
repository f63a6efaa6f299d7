#!/usr/bin/env bash
# Builds the distribution registry (github.com/distribution/distribution/v3,
# cmd/registry) $REGISTRY_VERSION (images/k8s/versions.env) from the Go module
# proxy into $KGRADE_CACHE/registry/<REGISTRY_BUILD>/bin/registry, CGO_ENABLED=0,
# with its version string set as distribution's Makefile does; then, if docker
# works, an image kgrade/registry:<version> (FROM scratch; the binary, a
# filesystem-storage config on :5000, data in the volume /var/lib/registry),
# the offline stand-in for the "registry:3" image, saved to
# $KGRADE_CACHE/registry/<REGISTRY_BUILD>/image.tar.
# The main is cmd/registry's own with the cloud storage drivers (azure, gcs,
# s3-aws) and the cloudfront middleware left out: kgrade's registry stores on
# its filesystem, and their SDKs are a large share of a cold compile.
# --binary: the Go build only (no docker): images/kind/build-binaries.sh runs it
# with the other compiles, so that `cluster up` on a cold machine only makes the image.
set -euo pipefail
BINARY_ONLY=0; [[ ${1:-} == --binary ]] && BINARY_ONLY=1
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../k8s/lib.sh"
OUT=$KGRADE_CACHE/registry/$REGISTRY_BUILD
LEFT_OUT='storage/driver/(azure|gcs|s3-aws|middleware/cloudfront)'
log "registry $REGISTRY_VERSION -> $OUT"

build() {
  local m=github.com/distribution/distribution/v3 dir main
  dir=$(go_module_dir "$m@$REGISTRY_VERSION")
  [[ -f $dir/cmd/registry/main.go ]] || die "$m@$REGISTRY_VERSION: no cmd/registry/main.go in the module ($dir)"
  main=$(grep -vE "^[[:space:]]*_ \"$m/registry/$LEFT_OUT\"\$" "$dir/cmd/registry/main.go")
  grep -q 'storage/driver/filesystem"' <<<"$main" || die "$m@$REGISTRY_VERSION: cmd/registry/main.go does not import the filesystem driver"
  WRAPPER_NAME=registry WRAPPER_MAIN=$main go_wrapper_build "$OUT" "$m@$REGISTRY_VERSION" \
    "-s -w -X $m/version.version=$REGISTRY_VERSION -X $m/version.mainpkg=$m" \
    "$m/registry"
}
# The binary runs, and holds none of the SDKs of the drivers left out.
verify() {
  "$OUT/bin/registry" --version
  ! go version -m "$OUT/bin/registry" | grep -E 'aws-sdk-go|/azure-sdk-for-go/|cloud.google.com/go/storage' || die "the registry holds a cloud SDK"
}

image() {
  local d=$OUT/ctx
  rm -rf "$d"; mkdir -p "$d/etc/distribution" "$d/tmp" "$d/var/lib/registry"
  cp "$OUT/bin/registry" "$d/"
  cat > "$d/etc/distribution/config.yml" <<'YML'
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
  headers:
    X-Content-Type-Options: [nosniff]
YML
  cat > "$d/Dockerfile" <<'DF'
FROM scratch
COPY etc /etc
COPY tmp /tmp
COPY var /var
COPY registry /bin/registry
VOLUME ["/var/lib/registry"]
EXPOSE 5000
ENTRYPOINT ["/bin/registry"]
CMD ["serve", "/etc/distribution/config.yml"]
DF
  DOCKER_BUILDKIT=0 docker build -q --label "kgrade.build=$REGISTRY_BUILD" -t "kgrade/registry:$REGISTRY_VERSION" "$d" >/dev/null
  docker save -o "$OUT/image.tar" "kgrade/registry:$REGISTRY_VERSION"
  rm -rf "$d"
  log "image kgrade/registry:$REGISTRY_VERSION"
}

stage "build registry" "$OUT/.build.done" build
stage "verify registry" "$OUT/.verify.done" verify
log "binary: $OUT/bin/registry"
((BINARY_ONLY)) && exit 0
if docker info >/dev/null 2>&1; then
  # An image of another recipe (an older kgrade's) is made again.
  built=$(docker image inspect -f '{{index .Config.Labels "kgrade.build"}}' "kgrade/registry:$REGISTRY_VERSION" 2>/dev/null || true)
  if [[ $built != "$REGISTRY_BUILD" ]]; then
    if [[ -f $OUT/image.tar ]]; then docker load -q -i "$OUT/image.tar" >&2
    else
      log "stage registry image: start"; s=$(date +%s)
      image
      log "stage registry image: done in $(( $(date +%s) - s ))s"
    fi
  fi
  echo "kgrade/registry:$REGISTRY_VERSION"
fi
