#!/usr/bin/env bash
# images/busybox/build.sh — an offline busybox image, tagged busybox:1.36,
# busybox:latest and docker.io/library/busybox:latest (one image).
#
# Made with no registry: Debian bookworm's busybox-static .deb (fetched with
# `apt-get download`, unpacked with dpkg-deb; BusyBox 1.35.0, package
# 1:1.35.0-4+deb12u1+b1 when written: the "1.36" tag is the name the course
# uses, not the version inside), then `docker import` of a folder holding:
#   /bin/busybox, and one symlink /bin/<applet> -> busybox for every applet of
#   `busybox --list` (what `busybox --install -s /bin` makes; /bin/sh too);
#   /etc/passwd, /etc/group, /etc/shadow (root, daemon, nobody, ... as in the
#   upstream image), /tmp (1777), /root, /home, /var, /usr, /dev, /proc, /sys.
# Image config: CMD ["sh"], PATH set. Size is about 2 MB.
# The binary is glibc-static; glibc >= 2.34 has the files and dns NSS modules
# built in, so wget/ping resolve names through /etc/hosts and DNS.
#
# Cache: ${KGRADE_CACHE:-$HOME/.cache/kgrade}/debs/busybox-static_*.deb (shared
# with scripts/setup-docker.sh's probe image) and the root tarball
# ${KGRADE_CACHE:-$HOME/.cache/kgrade}/busybox/busybox-$KEY.tar, KEY being the
# recipe version below plus the .deb's version.
#   all three tags on one image -> nothing to do
#   tarball present             -> docker import it
#   neither                     -> download .deb, build the folder, import
# Options: --force  rebuild the folder and re-import.
# Progress goes to stderr prefixed with "busybox-image:"; the last stdout line
# is the image ref (busybox:1.36).
set -euo pipefail

ME=busybox-image
RECIPE=1
REF=busybox:1.36
TAGS=(busybox:1.36 busybox:latest docker.io/library/busybox:latest)
DOCKER=${DOCKER:-$(command -v docker || echo /usr/bin/docker)}
ROOT_CACHE=${KGRADE_CACHE:-$HOME/.cache/kgrade}
DEB_DIR=$ROOT_CACHE/debs
CACHE=$ROOT_CACHE/busybox
FORCE=0
[[ ${1:-} == --force ]] && FORCE=1

# shellcheck source=scripts/lib/progress.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/progress.sh"

d info >/dev/null 2>&1 || die "docker does not answer: run scripts/setup-docker.sh first"

all_tagged() {
  local id t tid
  id=$(d image inspect -f '{{.Id}}' "${TAGS[0]}" 2>/dev/null) || return 1
  for t in "${TAGS[@]:1}"; do
    tid=$(d image inspect -f '{{.Id}}' "$t" 2>/dev/null) || return 1
    [[ $tid == "$id" ]] || return 1
  done
}
if ((!FORCE)) && all_tagged; then
  log "${TAGS[*]} present, nothing to do"
  finish
fi

mkdir -p "$CACHE" "$DEB_DIR"
exec 9>"$CACHE/.lock"
flock -w 300 9 || die "another build holds $CACHE/.lock"
if ((!FORCE)) && all_tagged; then finish; fi

stage deb
deb=$(find "$DEB_DIR" -maxdepth 1 -name 'busybox-static_*.deb' 2>/dev/null | sort | tail -n 1 || true)
if [[ -z $deb ]]; then
  if ! apt-cache show busybox-static >/dev/null 2>&1; then
    log "apt-get update"
    apt-get update -q >/dev/null
  fi
  (cd "$DEB_DIR" && apt-get download -q -o APT::Sandbox::User=root busybox-static >/dev/null)
  deb=$(find "$DEB_DIR" -maxdepth 1 -name 'busybox-static_*.deb' | sort | tail -n 1)
fi
debver=$(dpkg-deb -f "$deb" Version)
done_stage "busybox-static $debver"
KEY=$RECIPE-${debver//[^A-Za-z0-9.+-]/_}
TARBALL=$CACHE/busybox-$KEY.tar

if ((FORCE)) || [[ ! -s $TARBALL ]]; then
  stage root
  work=$(mktemp -d "$CACHE/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  dpkg-deb -x "$deb" "$work/deb"
  r=$work/root
  mkdir -p "$r"/{bin,dev,etc,home,proc,root,sys,tmp,usr/bin,usr/sbin,var/spool/mail,var/www}
  chmod 1777 "$r/tmp"
  chmod 0700 "$r/root"
  install -m 0755 "$work/deb/bin/busybox" "$r/bin/busybox"
  n=0
  for a in $("$r/bin/busybox" --list); do
    [[ $a == busybox ]] && continue
    ln -s busybox "$r/bin/$a"
    n=$((n + 1))
  done
  [[ -L $r/bin/sh ]] || die "busybox has no sh applet"
  cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
  cat >"$r/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
users:x:100:
staff:x:50:
nogroup:x:65534:
EOF
  sed 's/^\([^:]*\):.*/\1:*:10933:0:99999:7:::/' "$r/etc/passwd" >"$r/etc/shadow"
  chmod 0640 "$r/etc/shadow"
  tar --numeric-owner --owner=0 --group=0 -C "$r" -cf "$work/root.tar" .
  mv -f "$work/root.tar" "$TARBALL"
  rm -rf "$work"
  trap - EXIT
  done_stage "$n applet links, $TARBALL"
else
  log "using cached root $TARBALL"
fi

stage import
old=$(d image inspect -f '{{.Id}}' "${TAGS[0]}" 2>/dev/null || true)
id=$(d import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  -c 'CMD ["sh"]' -m "kgrade busybox from Debian busybox-static $debver" "$TARBALL" "${TAGS[0]}")
for t in "${TAGS[@]:1}"; do d tag "$id" "$t"; done
[[ -z $old || $old == "$id" ]] || d rmi "$old" >/dev/null 2>&1 || true
done_stage "${TAGS[*]} = ${id:0:19}, $(d image inspect -f '{{.Size}}' "$id") bytes"
finish
