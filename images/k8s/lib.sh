# shellcheck shell=bash
# Shared helpers for the images/*/build.sh scripts. Source it; do not run it.
# Every slow result goes under $KGRADE_CACHE (default ~/.cache/kgrade), keyed
# by version, so a rerun skips the stages that already finished.

KGRADE_CACHE=${KGRADE_CACHE:-$HOME/.cache/kgrade}
export KGRADE_CACHE
export PATH=$PATH:/usr/local/go/bin
# Never let go fetch a toolchain; the module proxy is only for modules.
export GOTOOLCHAIN=local
export GOFLAGS="${GOFLAGS:--buildvcs=false} -mod=mod"
# Heavy work runs at the lowest priority so others on the machine keep CPU.
NICE=${NICE:-nice -n 19}

_t0=$(date +%s)
log() { printf '[%s +%4ss] %s\n' "$(date +%H:%M:%S)" "$(( $(date +%s) - _t0 ))" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# stage NAME MARKER CMD...: run CMD unless MARKER exists; time it; create
# MARKER when CMD succeeds.
stage() {
  local name=$1 marker=$2; shift 2
  if [[ -e $marker ]]; then log "stage $name: cached ($marker)"; return 0; fi
  log "stage $name: start"
  local s; s=$(date +%s)
  "$@"
  mkdir -p "$(dirname "$marker")"
  # "<finished at> <seconds it took>": scripts/bench-cluster.sh reads the second field
  printf '%s %s\n' "$(date -u +%FT%TZ)" "$(( $(date +%s) - s ))" > "$marker"
  log "stage $name: done in $(( $(date +%s) - s ))s"
}

# timed NAME CMD...: run CMD with start/done lines and its duration (no cache).
timed() {
  local name=$1 s; shift
  log "$name: start"; s=$(date +%s)
  "$@"
  log "$name: done in $(( $(date +%s) - s ))s"
}

# go_latest MODULE PREFIX: newest version of MODULE that starts with PREFIX
# that the module proxy lists.
go_latest() {
  go list -m -versions "$1" | tr ' ' '\n' | grep -E "^$2" | sort -V | tail -1
}

# go_has MODULE@VERSION: is that version available?
go_has() { go list -m "$1" >/dev/null 2>&1; }

# go_module_dir MODULE@VERSION: the folder of its source in the module cache
# (downloaded from the proxy first if need be); dies when there is none.
go_module_dir() {
  local dir
  dir=$(cd "$KGRADE_CACHE" && go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [[ -n $dir && -d $dir ]] || die "$1: the module proxy gave no source folder"
  printf '%s\n' "$dir"
}

# Pinned versions of everything the kind node image holds.
. "$(dirname "${BASH_SOURCE[0]}")/versions.env"

# go_wrapper_build OUT "MODULE@VERSION..." LDFLAGS PKG...
# Builds PKG... (CGO_ENABLED=0, -trimpath) into OUT/bin through a throw-away
# wrapper module in OUT/src that requires each MODULE@VERSION. A wrapper (rather
# than `go install MODULE/cmd@VERSION`) is needed whenever MODULE's go.mod has
# replace directives, and it costs nothing otherwise. If WRAPPER_MAIN is set,
# it is written as OUT/src/cmd/$WRAPPER_NAME/main.go and built too (for
# modules whose main package lives elsewhere, like etcd's server).
go_wrapper_build() {
  local out=$1 mods=$2 ldf=$3; shift 3
  local src=$out/src pkgs=() p
  rm -rf "$src" "$out/bin.tmp"; mkdir -p "$src" "$out/bin.tmp"
  {
    printf 'module kgrade.local/wrap\n\ngo 1.22.0\n\nrequire (\n'
    for p in $mods; do printf '\t%s %s\n' "${p%@*}" "${p#*@}"; done
    printf ')\n'
  } > "$src/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for p in "$@"; do printf '\t_ "%s"\n' "$p"; done
    printf ')\n'
  } > "$src/tools.go"
  pkgs=("$@")
  if [[ -n ${WRAPPER_MAIN:-} ]]; then
    mkdir -p "$src/cmd/$WRAPPER_NAME"
    printf '%s\n' "$WRAPPER_MAIN" > "$src/cmd/$WRAPPER_NAME/main.go"
    pkgs+=("./cmd/$WRAPPER_NAME")
  fi
  (cd "$src" && go mod tidy -e && \
    CGO_ENABLED=0 $NICE go build -trimpath -ldflags "$ldf" -o "$out/bin.tmp/" "${pkgs[@]}")
  rm -rf "${out:?}/bin"; mv "$out/bin.tmp" "$out/bin"
  ls -l "$out/bin" >&2
}

# fetch_debs PKG...: Debian packages (bookworm, as the node base) into
# $KGRADE_CACHE/debs with `apt-get download`, unless already there; prints
# the .deb paths.
fetch_debs() {
  local d=$KGRADE_CACHE/debs p f
  mkdir -p "$d"
  for p in "$@"; do
    f=$(find "$d" -maxdepth 1 -name "${p}_*.deb" 2>/dev/null | sort | head -n 1 || true)
    if [[ -z $f ]]; then
      (cd "$d" && apt-get download "$p" >&2 2>/dev/null) || die "apt-get download $p failed (run apt-get update?)"
      f=$(find "$d" -maxdepth 1 -name "${p}_*.deb" | sort | head -n 1)
      [[ -n $f ]] || die "apt-get download $p left no ${p}_*.deb in $d"
    fi
    echo "$f"
  done
}
