#!/usr/bin/env bash
# images/node/build.sh — build kgrade's node image, kgrade/node:$(cat VERSION).
#
# The grader runs every node-sandbox submission in a container of this image.
# It is a Debian bookworm root made with `debootstrap --variant=minbase` (plus
# bookworm-updates and bookworm-security upgrades), imported with
# `docker import`; no registry is needed. Besides the sandbox tools (bash,
# coreutils, procps, util-linux, iproute2, iptables, busybox-static, kmod,
# psmisc, wget, curl, ping, netcat-openbsd, socat, python3 with its full
# standard library for `python3 -m http.server`, tini) it holds
# what kind's base image has (systemd, dbus, conntrack, ethtool, mount,
# ca-certificates, libseccomp2, pigz, fuse-overlayfs) so that a kind node
# image can extend it.
#
# Default command (no ENTRYPOINT, so an image built on top can set its own):
#   CMD ["/usr/bin/tini", "--", "sleep", "infinity"]
# tini is PID 1: it reaps every orphaned zombie and stays up as long as its
# child `sleep infinity` does; `docker stop` (SIGTERM) ends it at once.
# The grader does not use that default: it starts each sandbox with a PID 1
# of its own, a bash loop that `kill -9 -1` from a submission cannot stop
# (tini exits with its child); see src/env/sandbox.ts.
# Env: PATH (Debian's default for root) and container=docker (as kind's base).
#
# iptables: both backends work inside a privileged container on this
# machine's kernel (6.18): `iptables-legacy -A INPUT -s 10.1.2.3 -j DROP`
# and the same with iptables-nft add the rule and iptables-save shows it.
# The image keeps Debian's default alternative, iptables-nft, which matches
# the host's own iptables (nf_tables variant); set KGRADE_NODE_IPTABLES=legacy
# at build time for the other one (and bump VERSION).
#
# Cache: the finished root file system is kept as a tarball outside the work
# tree, ${KGRADE_CACHE:-$HOME/.cache/kgrade}/node/node-$VERSION.tar, keyed by
# VERSION (bump VERSION whenever the package list or the recipe changes).
#   image kgrade/node:VERSION exists -> nothing to do
#   only the tarball exists          -> docker import it (a few seconds)
#   neither                          -> debootstrap (about a minute), then import
# Options: --force  rebuild the root from scratch (ignore image and tarball).
# Needs root, a working docker (scripts/setup-docker.sh) and Debian's apt
# mirror; debootstrap checks the mirror's signatures against Debian's archive
# keyring (installed with debootstrap when missing, as on Ubuntu). Progress goes to stderr prefixed with "node-image:"; the last line
# on stdout is the image ref.
set -euo pipefail

ME=node-image
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERSION=$(tr -d ' \n' <"$HERE/VERSION")
REF=kgrade/node:$VERSION
DOCKER=${DOCKER:-$(command -v docker || echo /usr/bin/docker)}
CACHE=${KGRADE_CACHE:-$HOME/.cache/kgrade}/node
TARBALL=$CACHE/node-$VERSION.tar
SUITE=bookworm
MIRROR=${KGRADE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${KGRADE_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
IPTABLES_MODE=${KGRADE_NODE_IPTABLES:-nft}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

PACKAGES=(
  # sandbox tools
  bash coreutils procps util-linux iproute2 iptables busybox-static kmod
  psmisc wget curl iputils-ping netcat-openbsd socat python3-minimal tini
  python3  # full stdlib: `python3 -m http.server` (python3-minimal lacks it)
  # what kind's base image has
  systemd systemd-sysv dbus conntrack ethtool mount ca-certificates
  libseccomp2 pigz fuse-overlayfs
)
CHANGES=(
  -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
  -c 'ENV container=docker'
  -c 'CMD ["/usr/bin/tini", "--", "sleep", "infinity"]'
)

# shellcheck source=scripts/lib/progress.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/progress.sh"

[[ $(id -u) == 0 ]] || die "must run as root"
d info >/dev/null 2>&1 || die "docker does not answer: run scripts/setup-docker.sh first"

if ((!FORCE)) && d image inspect "$REF" >/dev/null 2>&1; then
  log "$REF present, nothing to do"
  finish
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "another build holds $CACHE/.lock"
# Someone else may have built it while we waited for the lock.
if ((!FORCE)) && d image inspect "$REF" >/dev/null 2>&1; then finish; fi

pkgs_meta=$(printf '%s\n' "${PACKAGES[@]}" "iptables=$IPTABLES_MODE" "${CHANGES[@]}")

build_root() {
  local root=$1
  stage debootstrap
  # Debian's keys come with apt on Debian; on Ubuntu they are the package debian-archive-keyring,
  # without which debootstrap would go on unverified.
  local missing=()
  command -v debootstrap >/dev/null || missing+=(debootstrap)
  [[ -s $KEYRING ]] || missing+=(debian-archive-keyring)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
  [[ -s $KEYRING ]] || die "no Debian archive keyring at $KEYRING"
  local inc
  inc=$(IFS=,; echo "${PACKAGES[*]}")
  debootstrap --force-check-gpg --keyring="$KEYRING" --variant=minbase --include="$inc" "$SUITE" "$root" "$MIRROR" \
    >"$CACHE/debootstrap-$VERSION.log" 2>&1 ||
    { tail -n 30 "$CACHE/debootstrap-$VERSION.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap-$VERSION.log)"; }
  done_stage "$(du -sh "$root" | cut -f1)"

  stage upgrade
  cat >"$root/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  # Keep maintainer scripts from starting services while we work in the root.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  mount -t proc proc "$root/proc"
  chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    bash -euo pipefail -c '
      apt-get update -q >/dev/null
      apt-get -y -q -o Dpkg::Options::=--force-confold dist-upgrade >/dev/null
      apt-get clean
    ' >>"$CACHE/debootstrap-$VERSION.log" 2>&1 ||
    { tail -n 30 "$CACHE/debootstrap-$VERSION.log" >&2; die "upgrade in the root failed"; }
  umount "$root/proc"
  done_stage

  stage customize
  chroot "$root" update-alternatives --set iptables "/usr/sbin/iptables-$IPTABLES_MODE" >/dev/null
  chroot "$root" update-alternatives --set ip6tables "/usr/sbin/ip6tables-$IPTABLES_MODE" >/dev/null
  # Keep the image small now and for packages installed later (as Debian's
  # slim images do).
  mkdir -p "$root/etc/dpkg/dpkg.cfg.d"
  cat >"$root/etc/dpkg/dpkg.cfg.d/kgrade-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
  cat >"$root/etc/apt/apt.conf.d/kgrade-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
Acquire::GzipIndexes "true"; Acquire::CompressionTypes::Order:: "gz";
APT::Install-Recommends "false";
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$root"/usr/share/{man,info,groff,lintian,linda,locale}/* \
    "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/lib/dpkg/*-old "$root"/tmp/* "$root"/var/tmp/*
  find "$root/var/log" -type f -delete
  rm -f "$root/usr/sbin/policy-rc.d"
  # Docker writes these at run time; systemd makes a machine-id at boot.
  : >"$root/etc/machine-id"
  rm -f "$root/var/lib/dbus/machine-id" "$root/etc/hostname"
  : >"$root/etc/resolv.conf"
  done_stage "$(du -sh "$root" | cut -f1)"
}

if ((FORCE)) || [[ ! -s $TARBALL ]]; then
  work=$(mktemp -d "$CACHE/build.XXXXXX")
  trap 'umount "$work/root/proc" 2>/dev/null || true; rm -rf "$work"' EXIT
  build_root "$work/root"
  stage tarball
  tar --numeric-owner --xattrs --xattrs-include='*' -C "$work/root" -cf "$work/root.tar" .
  mv -f "$work/root.tar" "$TARBALL"
  printf '%s\n' "$pkgs_meta" >"$TARBALL.meta"
  rm -rf "$work"
  trap - EXIT
  done_stage "$TARBALL, $(du -h "$TARBALL" | cut -f1)"
else
  log "using cached root $TARBALL"
  if [[ $(cat "$TARBALL.meta" 2>/dev/null) != "$pkgs_meta" ]]; then
    log "WARNING: the cached root was built from another package list or recipe; bump images/node/VERSION"
  fi
fi

stage import
old=$(d image inspect -f '{{.Id}}' "$REF" 2>/dev/null || true)
id=$(d import "${CHANGES[@]}" -m "kgrade node $VERSION" "$TARBALL" "$REF")
# A rebuild leaves the previous image untagged: drop it unless a container uses it.
[[ -z $old || $old == "$id" ]] || d rmi "$old" >/dev/null 2>&1 || true
done_stage "$REF = ${id:0:19}, $(d image inspect -f '{{.Size}}' "$REF" | awk '{printf "%.0f MB", $1/1e6}')"
finish
