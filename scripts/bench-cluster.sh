#!/usr/bin/env bash
# scripts/bench-cluster.sh — how long kgrade's cluster path takes. Prints figures;
# asserts nothing about speed. Four parts:
#
#   1. Cold build time of each stage of images/kind/build-all.sh. By default read
#      from the stage markers under ${KGRADE_CACHE:-~/.cache/kgrade} (images/k8s/
#      lib.sh `stage` writes "<finished at> <seconds>"; markers from before it kept
#      durations hold only the date: then the figure of a matching "stage NAME:
#      done in Ns" line in $KGRADE_CACHE/logs/*.log is shown, marked as such).
#      With --cold: everything rebuilt into a fresh temporary KGRADE_CACHE (about
#      40 min on 2 shared cores), the figures read from it, the cache removed.
#   2. Warm `kgrade cluster up`: the cluster exists and is healthy, so it is reused.
#   3. The smoke lab: `kgrade grade labs/smoke-cluster --submission
#      labs/smoke-cluster/reference` against bench/smoke-cluster.sh (the same
#      checks with kubectl and docker in bash), kgrade and the shell taking turns
#      going first; then bench/smoke-cluster.sh on labs/smoke-cluster/wrong/tag-typo,
#      which must fail (shows the baseline really checks).
#   4. Every cluster lab's reference with --jobs 1 and with --jobs $(nproc), taking
#      turns; the speed-up, and the time a warm grade spends outside its scenarios.
#      Only the smoke lab has a hand-written baseline (part 3): one is enough to
#      answer whether kgrade is slower than what a course maintainer writes by hand.
#
#   scripts/bench-cluster.sh [--runs N] [--cold] [--cold-go-build] [--no-compile] [--no-wrong]
#
#   --runs N         timed runs of parts 2 and 3 (default 3), each printed, and the median
#   --cold           rebuild every stage into a temporary KGRADE_CACHE (see part 1)
#   --cold-go-build  with --cold, also a temporary GOCACHE: Go compiles every package again
#   --no-compile     use dist/ as it is (default: npm run build first)
#   --no-wrong       skip the check on wrong/tag-typo (about 2 min 15 s: two 60 s waits)
#
# The cluster (KGRADE_CLUSTER, default kgrade) must be up: this measures its reuse.
# Before every kgrade run the script checks, with kubectl, that every node is Ready
# and every kube-system pod Running and ready; kgrade recreates a cluster that is
# not, and the cluster is shared, so the script stops instead. It never deletes the
# cluster. Namespaces the runs make are deleted by kgrade and the shell baseline;
# on Ctrl-C the ones left are swept; temporary files go. Default run: 4 to 5 min
# on 2 cores (the wrong/tag-typo check is 2 min 15 s of it).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
RUNS=3
COLD=0
COLD_GO=0
COMPILE=1
WRONG=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
    --runs=*) RUNS=${1#*=}; shift ;;
    --cold) COLD=1; shift ;;
    --cold-go-build) COLD=1; COLD_GO=1; shift ;;
    --no-compile) COMPILE=0; shift ;;
    --no-wrong) WRONG=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-cluster: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "bench-cluster: --runs wants a positive number, not $RUNS" >&2; exit 2; }

LAB=smoke-cluster
CACHE=${KGRADE_CACHE:-$HOME/.cache/kgrade}
CLUSTER=${KGRADE_CLUSTER:-kgrade}
KCFG=${KGRADE_KUBECONFIG:-$HOME/.kube/kgrade/kind-$CLUSTER.yaml}
CTX=kind-$CLUSTER
K8S_VERSION_PIN=$(sed -n 's/^K8S_VERSION=\${K8S_VERSION:-\([^}]*\)}.*/\1/p' images/k8s/versions.env)
KUBECTL=${KUBECTL:-}
if [[ -z $KUBECTL ]]; then
  for KUBECTL in "$CACHE/k8s/${K8S_VERSION:-$K8S_VERSION_PIN}/bin/kubectl" "$HOME"/.cache/kgrade/k8s/*/bin/kubectl "$(command -v kubectl || true)"; do
    [[ -x $KUBECTL ]] && break
  done
fi
export KUBECTL
export BENCH_RUN="bc$$"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-bench-cluster.XXXXXX")
COLD_CACHE=
CHILD=
KGRADE_SINCE=   # while a kgrade run is under way: when it started (RFC 3339), for the sweep
DOCKER_BEFORE=  # with --cold: the image tags before the build, to restore

say() { printf '%s\n' "$*"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
k() { "$KUBECTL" --kubeconfig "$KCFG" --context "$CTX" "$@"; }

# --- cleanup ---------------------------------------------------------------------

# The image tags build-all.sh (re)makes: a --cold build retags them; they are put back.
BUILT_TAGS='^(registry\.k8s\.io/|kgrade/(kind-node|kindnet|local-path-provisioner|local-path-helper|registry):)'
image_tags() { docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' | grep -E "$BUILT_TAGS" | grep -v ':<none> ' | sort || true; }
restore_image_tags() {
  local ref id old made=()
  while read -r ref id; do
    old=$(awk -v r="$ref" '$1 == r { print $2 }' <<<"$DOCKER_BEFORE")
    [[ $old == "$id" ]] && continue
    made+=("$id")
    if [[ -n $old ]] && docker image inspect "$old" >/dev/null 2>&1; then docker tag "$old" "$ref"
    else docker rmi "$ref" >/dev/null 2>&1 || true; fi
  done < <(image_tags)
  # the images the cold build made, if no tag is left on them (one a container uses stays)
  for id in "${made[@]}"; do
    if [[ $(docker image inspect -f '{{len .RepoTags}}' "$id" 2>/dev/null) == 0 ]]; then docker rmi "$id" >/dev/null 2>&1 || true; fi
  done
  DOCKER_BEFORE=
}

cleanup() {
  local rc=$? ns nsl
  trap - EXIT INT TERM
  if [[ -n $CHILD ]] && kill -0 "$CHILD" 2>/dev/null; then
    kill -TERM "$CHILD" 2>/dev/null || true   # the shell baseline deletes its namespaces on TERM
    wait "$CHILD" 2>/dev/null || true
  fi
  if [[ -x $KUBECTL && -f $KCFG ]]; then
    # kgrade deletes a scenario's namespace after it, but not when it is stopped
    # halfway: sweep the reference's namespaces made since the interrupted run began.
    ns=$(k get ns -l kgrade.bench="$BENCH_RUN" -o jsonpath='{range .items[?(@.status.phase=="Active")]}namespace/{.metadata.name} {end}' 2>/dev/null || true)
    if [[ -n $KGRADE_SINCE ]]; then
      ns+=" $(k get ns -l kgrade/lab=$LAB -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.creationTimestamp}{"\n"}{end}' 2>/dev/null \
        | awk -v t="$KGRADE_SINCE" '$1 ~ /^kg-smoke-cluster-reference-/ && $2 >= t { print "namespace/" $1 }' || true)"
    fi
    ns=$(xargs <<<"$ns")
    if [[ -n $ns ]]; then
      echo "bench-cluster: deleting namespaces left behind: $ns" >&2
      read -ra nsl <<<"$ns"
      for n in "${nsl[@]}"; do k delete pods --all -n "${n#namespace/}" --force --grace-period=0 --wait=false >/dev/null 2>&1 || true; done
      k delete "${nsl[@]}" --ignore-not-found --timeout=120s >/dev/null 2>&1 || true
    fi
  fi
  [[ -n $DOCKER_BEFORE ]] && restore_image_tags
  [[ -n $COLD_CACHE ]] && rm -rf "$COLD_CACHE"
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- preconditions ---------------------------------------------------------------
docker info >/dev/null 2>&1 || { echo "bench-cluster: Docker does not answer" >&2; exit 2; }
[[ -x $KUBECTL ]] || { echo "bench-cluster: no kubectl (set KUBECTL)" >&2; exit 2; }
[[ -f $KCFG ]] || { echo "bench-cluster: no kubeconfig $KCFG: the cluster is not up (kgrade cluster up); this measures its reuse" >&2; exit 2; }
command -v jq >/dev/null || { echo "bench-cluster: bench/smoke-cluster.sh needs jq" >&2; exit 2; }

# healthy: what kgrade's readClusterHealth wants (every node Ready, every kube-system
# pod Running and ready). Waits up to 90 s; false when it never is.
healthy() {
  local end=$((SECONDS + 90)) nodes pods
  while :; do
    nodes=$(k get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null || true)
    pods=$(k get pods -n kube-system -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase}/{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null || true)
    if [[ -n $nodes && -n $pods ]] && ! grep -qv '=True$' <<<"$nodes" && ! grep -qv '=Running/True$' <<<"$pods"; then return 0; fi
    (( SECONDS < end )) || { HEALTH="nodes: $(xargs <<<"$nodes"); kube-system: $(grep -v '=Running/True$' <<<"$pods" | xargs)"; return 1; }
    sleep 3
  done
}
guard() {
  healthy || {
    say "bench-cluster: cluster $CLUSTER is not healthy ($HEALTH); kgrade would delete and recreate it, and others use it: stopping"
    exit 3
  }
}
guard
if [[ $COMPILE == 1 ]]; then
  npm run --silent build || { echo "bench-cluster: the TypeScript build failed; fix it or pass --no-compile" >&2; exit 2; }
fi
[[ -f dist/src/cli/main.js ]] || { echo "bench-cluster: no dist/ (npm run build)" >&2; exit 2; }

LOAD_START=$(loadavg)
say "kgrade cluster bench: $RUNS timed run(s); cluster $CLUSTER ($CTX), kubectl $KUBECTL"
say "machine: nproc $(nproc), load average $LOAD_START (1/5/15 min) at start; $(uname -r); docker $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
say ""

# --- 1. cold build, per stage ---------------------------------------------------------

# The scripts build-all.sh runs, in its order (build-node.sh's prereqs run the middle ones).
BUILD_SCRIPTS=(images/kind/build-kind.sh images/k8s/build.sh images/k8s/build-etcd.sh images/k8s/build-coredns.sh
  images/k8s/build-pause.sh images/kind/build-containerd.sh images/kind/build-local-path.sh images/kind/build-images.sh
  images/kind/build-node.sh images/registry/build.sh)

# stages_of CACHE: one line per stage, "script<TAB>name<TAB>marker glob<TAB>wrapper", read
# from the scripts themselves: each `stage "NAME" "MARKER" FN` line evaluated with the
# script's cache paths (a $(...) in a marker becomes *), and the stages that only log
# ("stage NAME: done in"; marker -). wrapper=1: FN runs other build scripts, so its
# time holds theirs.
stages_of() {
  local cache=$1 f
  for f in "${BUILD_SCRIPTS[@]}"; do
    (
      set +eu
      KGRADE_CACHE=$cache
      . images/k8s/versions.env
      # the script's top-level assignments that only expand variables (paths, names)
      eval "$(grep -E '^[A-Z_][A-Z0-9_]*=' "$f" | grep -vE '\$\(|`')"
      stage() {
        local wrap=0
        awk -v fn="$3" '$0 ~ "^" fn "\\(\\)" { inb = 1 } inb && /\/build[-a-z]*\.sh/ { found = 1 } inb && /^}/ { exit } END { exit !found }' "$f" && wrap=1
        printf '%s\t%s\t%s\t%s\n' "${f#images/}" "$1" "$2" "$wrap"
      }
      local is_stage='^stage "' logs_done='log "stage ([^:"$]+): done in'
      while IFS= read -r line; do
        if [[ $line =~ $is_stage ]]; then
          # shellcheck disable=SC2001 # a regular expression, which ${line//} has not
          eval "$(sed 's/\$([^)]*)/*/g' <<<"$line")"
        elif [[ $line =~ $logs_done ]]; then
          printf '%s\t%s\t-\t0\n' "${f#images/}" "${BASH_REMATCH[1]}"
        fi
      done < "$f"
    )
  done
}

# log_figure NAME LOG...: seconds of the last "stage NAME: done in Ns" line.
log_figure() {
  local name=$1; shift
  [[ $# -gt 0 ]] || return 0
  { grep -hF "stage $name: done in " "$@" 2>/dev/null || true; } | tail -n 1 | sed -n 's/.*: done in \([0-9][0-9]*\)s.*/\1/p'
}

# stage_table CACHE LOG...: the per-stage figures; LOGs searched oldest first.
stage_table() {
  local cache=$1 script name glob wrap marker took fig text total=0 missing=0 wrapped=()
  shift
  printf '  %-64s %s\n' "stage (script: name)" "seconds"
  while IFS=$'\t' read -r script name glob wrap; do
    fig='' text=''
    if [[ $glob == - ]]; then
      fig=$(log_figure "$name" "$@")
      text="${fig:-?} (from the build log; this stage keeps no marker)"
      [[ -n $fig ]] || text="no figure (this stage keeps no marker, and no build log line)"
    else
      marker=$(compgen -G "$glob" | while IFS= read -r m; do printf '%s\t%s\n' "$(stat -c %Y "$m")" "$m"; done | sort -n | tail -n 1 | cut -f2- || true)
      if [[ -z $marker ]]; then
        text="not built here (no marker ${glob#"$cache"/})"
      else
        read -r _ took _ < "$marker" || true
        if [[ ${took:-} =~ ^[0-9]+$ ]]; then fig=$took text=$took
        else
          fig=$(log_figure "$name" "$@")
          text="not recorded (built before durations were kept; --cold rebuilds)"
          [[ -n $fig ]] && text+="; $fig (from the build log)"
        fi
      fi
    fi
    [[ $wrap == 1 ]] && { text+="  [runs the build scripts above: not added to the total]"; wrapped+=("$name"); }
    if [[ $wrap == 0 ]]; then
      if [[ -n $fig ]]; then total=$((total + fig)); else missing=$((missing + 1)); fi
    fi
    marker="$script: $name"
    (( ${#marker} <= 64 )) || marker="${marker:0:63}…"
    printf '  %-64s %s\n' "$marker" "$text"
  done < <(stages_of "$cache")
  say "  total of the stages with a figure: $total s ($((total / 60)) min $((total % 60)) s)$( (( missing )) && echo "; $missing stage(s) without one")"
}

if [[ $COLD == 0 ]]; then
  say "1. Cold build time per stage, from the stage markers in $CACHE"
  logs=()
  while IFS= read -r l; do logs+=("$l"); done < <(ls -1tr "$CACHE"/logs/*.log 2>/dev/null || true)
  stage_table "$CACHE" "${logs[@]}"
  say "  (a marker written by images/k8s/lib.sh holds \"<finished at> <seconds>\"; the build logs searched: ${logs[*]:-none})"
else
  COLD_CACHE=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-cold-cache.XXXXXX")
  free=$(df -Pk "$COLD_CACHE" | awk 'NR == 2 { print int($4 / 1048576) }')
  (( free >= 8 )) || { say "bench-cluster: --cold needs about 5 GB under ${TMPDIR:-/tmp} (asks for 8 free); $free GB free"; exit 2; }
  # runc's .deb comes from `apt-get download` (Debian's mirror): the one already fetched is reused.
  mkdir -p "$COLD_CACHE/debs"
  cp -p "$CACHE"/debs/*.deb "$COLD_CACHE/debs/" 2>/dev/null || true
  # shellcheck disable=SC2031 # the NODE_REV of the caller's environment, not the one stages_of sources
  COLD_REV="${NODE_REV:-$(sed -n 's/^NODE_REV=\${NODE_REV:-\([^}]*\)}.*/\1/p' images/k8s/versions.env)}-cold$$"
  gocache=
  if [[ $COLD_GO == 1 ]]; then gocache=$COLD_CACHE/go-build; mkdir -p "$gocache"; fi
  say "1. Cold build time per stage: images/kind/build-all.sh into a fresh KGRADE_CACHE=$COLD_CACHE"
  if [[ $COLD_GO == 1 ]]; then
    say "   Go's module cache ($(PATH=$PATH:/usr/local/go/bin go env GOMODCACHE 2>/dev/null)) stays warm, its build cache is a fresh one:"
    say "   this measures kgrade's stages with every package compiled again, not downloads."
  else
    say "   Go's own module cache ($(PATH=$PATH:/usr/local/go/bin go env GOMODCACHE 2>/dev/null)) and build cache ($(PATH=$PATH:/usr/local/go/bin go env GOCACHE 2>/dev/null))"
    say "   stay warm: this measures kgrade's stages, not downloads (and packages Go compiled before are"
    say "   not compiled again: --cold-go-build gives Go a fresh build cache too)."
  fi
  say "   Also kept: the node base image kgrade/node (images/node/build.sh, shared with the sandbox labs)"
  say "   and kgrade/registry's image, both used as they are when present, as build-all.sh does; the"
  say "   runc .deb is copied from $CACHE/debs. The node image is built as kgrade/kind-node:<k8s>-$COLD_REV"
  say "   (NODE_REV=$COLD_REV), so the tag the cluster runs from is never moved; the image tags the"
  say "   build makes are put back as they were, and the temporary cache is removed, at the end."
  DOCKER_BEFORE=$(image_tags)
  t0=$EPOCHREALTIME
  rc=0
  env KGRADE_CACHE="$COLD_CACHE" NODE_REV="$COLD_REV" ${gocache:+GOCACHE="$gocache"} \
    bash images/kind/build-all.sh >"$WORK/cold.out" 2>"$WORK/cold.log" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  took=$(secs "$t0" "$EPOCHREALTIME")
  if [[ $rc != 0 ]]; then
    say "  !! build-all.sh failed (exit $rc) after $took s; its last lines:"
    tail -n 25 "$WORK/cold.log" | sed 's/^/     /'
  fi
  NODE_REV=$COLD_REV stage_table "$COLD_CACHE" "$WORK/cold.log"
  say "  build-all.sh wall clock: $took s (load average now $(loadavg))"
  restore_image_tags
  rm -rf "$COLD_CACHE"; COLD_CACHE=
fi
say ""

# --- 2. warm cluster up --------------------------------------------------------------
say "2. Warm \`kgrade cluster up\` (cluster $CLUSTER exists and is healthy: reused)"
ups=()
UP_INVALID=0
for i in $(seq "$RUNS"); do
  guard
  t0=$EPOCHREALTIME
  rc=0
  node bin/kgrade.js cluster up >"$WORK/up-$i.log" 2>&1 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  took=$(secs "$t0" "$EPOCHREALTIME")
  ups+=("$took")
  note=reused
  if [[ $rc != 0 ]] || ! grep -q 'reusing healthy cluster' "$WORK/up-$i.log"; then
    note="NOT a reuse (exit $rc)"; UP_INVALID=1
    sed 's/^/     /' "$WORK/up-$i.log" | tail -n 15
  fi
  say "  run $i/$RUNS: $took s ($note)  [load $(loadavg | cut -d' ' -f1)]"
done
UP_MED=$(median <<<"${ups[*]}")
say "  median: $UP_MED s"
say ""

# --- 3. the smoke lab: kgrade against the shell baseline -----------------------------
SCEN=$(grep -cE '^[[:space:]]*Scenario( Outline)?:' labs/$LAB/features/*.feature || true)
LOAD_SMOKE=$(loadavg)
say "3. labs/$LAB ($SCEN scenarios): kgrade grade vs bench/$LAB.sh (load average $LOAD_SMOKE)"

# run_kgrade OUTDIR: TOOK, OK (1 when the reference got full marks, completely), CORE
# (seconds inside gradeSubmission, results.json durationMs); OUTDIR.tsv holds, per
# scenario, "name<TAB>seconds<TAB>seconds outside its steps (hooks: namespace deletion)".
run_kgrade() {
  local out=$1 t0 rc=0
  guard
  KGRADE_SINCE=$(date -u +%FT%TZ)
  t0=$EPOCHREALTIME
  node bin/kgrade.js grade "labs/$LAB" --submission "labs/$LAB/reference" --out "$out" >"$out.log" 2>&1 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  TOOK=$(secs "$t0" "$EPOCHREALTIME")
  KGRADE_SINCE=
  OK=0 CORE=-
  if [[ $rc == 0 && -f $out/results.json ]]; then
    read -r OK CORE < <(node -e '
      const r = require(process.argv[1]);
      console.log(r.complete && r.score === r.maxScore && r.counts.failed === 0 ? 1 : 0, (r.durationMs / 1000).toFixed(2));
    ' "$out/results.json")
    node -e '
      const r = require(process.argv[1]);
      for (const s of r.scenarios) {
        const steps = s.steps.reduce((a, x) => a + (x.durationMs || 0), 0);
        console.log(`${s.name}\t${(s.durationMs / 1000).toFixed(2)}\t${((s.durationMs - steps) / 1000).toFixed(2)}`);
      }' "$out/results.json" >"$out.tsv"
  fi
  if [[ $OK != 1 ]]; then
    say "  !! kgrade did not grade labs/$LAB/reference as fully correct (exit $rc):"
    sed 's/^/     /' "$out.log" | tail -n 25
  fi
  grep -q 'reusing healthy cluster' "$out.log" || say "  !! kgrade did not reuse the cluster in this run"
}

# run_shell SUBMISSION LOG: TOOK, RC; LOG.tsv holds "name<TAB>seconds" per scenario.
run_shell() {
  local sub=$1 log=$2 t0
  RC=0
  t0=$EPOCHREALTIME
  bash "bench/$LAB.sh" "$sub" >"$log" 2>&1 &
  CHILD=$!
  wait "$CHILD" || RC=$?
  CHILD=
  TOOK=$(secs "$t0" "$EPOCHREALTIME")
  sed -nE 's/^  (ok|FAIL|ERROR) +(.*) ([0-9.]+)s$/\2\t\3/p' "$log" >"$log.tsv"
}

INVALID=$UP_INVALID
ks=() ss=() kc=() kf=()
for i in $(seq "$RUNS"); do
  order=(kgrade shell)
  (( i % 2 == 0 )) && order=(shell kgrade)
  for tool in "${order[@]}"; do
    if [[ $tool == kgrade ]]; then
      run_kgrade "$WORK/kgrade-$i"
      [[ $OK == 1 ]] || INVALID=1
      ks+=("$TOOK"); kt=$TOOK kcore=$CORE
      if [[ $CORE != - ]]; then kc+=("$CORE"); kf+=("$(awk -v a="$TOOK" -v b="$CORE" 'BEGIN { printf "%.2f", a - b }')"); fi
    else
      run_shell "labs/$LAB/reference" "$WORK/shell-$i.log"
      if [[ $RC != 0 ]]; then
        INVALID=1
        say "  !! bench/$LAB.sh failed on labs/$LAB/reference (exit $RC):"
        sed 's/^/     /' "$WORK/shell-$i.log" | tail -n 25
      fi
      ss+=("$TOOK"); st=$TOOK
    fi
  done
  say "  run $i/$RUNS (${order[0]} first): kgrade $kt s (grading $kcore s), shell $st s  [load $(loadavg | cut -d' ' -f1)]"
done
KMED=$(median <<<"${ks[*]}")
SMED=$(median <<<"${ss[*]}")
KCORE=$(median <<<"${kc[*]}")
KFIX=$(median <<<"${kf[*]}")
RATIO=$(awk -v k="$KMED" -v s="$SMED" 'BEGIN { if (s > 0) printf "%.2f", k / s; else print "-" }')
say ""

# per-scenario medians
say "  per scenario, median s          kgrade (of it after the steps: namespace deletion)   shell"
while IFS= read -r name; do
  kmed=$(cat "$WORK"/kgrade-*.tsv 2>/dev/null | awk -F'\t' -v n="$name" '$1 == n { printf "%s ", $2 }' | median)
  khook=$(cat "$WORK"/kgrade-*.tsv 2>/dev/null | awk -F'\t' -v n="$name" '$1 == n { printf "%s ", $3 }' | median)
  smed=$(cat "$WORK"/shell-*.log.tsv 2>/dev/null | awk -F'\t' -v n="$name" '$1 == n { printf "%s ", $2 }' | median)
  printf '  %-70s %6s (%5s) %7s\n' "$name" "$kmed" "$khook" "$smed"
done < <(sed -nE 's/^[[:space:]]*Scenario( Outline)?: *(.*[^[:space:]])[[:space:]]*$/\2/p' labs/$LAB/features/*.feature)
say ""

# --- the baseline really checks: wrong/tag-typo must fail ------------------------------
WRONG_NOTE="skipped (--no-wrong)"
if [[ $WRONG == 1 ]]; then
  say "  bench/$LAB.sh on labs/$LAB/wrong/tag-typo (image busybox:1.36x; must fail; two 60 s waits):"
  run_shell "labs/$LAB/wrong/tag-typo" "$WORK/shell-wrong.log"
  sed 's/^/    /' "$WORK/shell-wrong.log" | cut -c1-220
  if [[ $RC == 1 ]] && grep -qE '^  FAIL +the busybox pod runs ' "$WORK/shell-wrong.log"; then
    WRONG_NOTE="fails as it must (exit 1, \"the busybox pod runs\" failed) in $TOOK s"
  else
    WRONG_NOTE="did NOT fail as it must (exit $RC)"; INVALID=1
  fi
  say "  -> $WRONG_NOTE"
  say ""
fi

# --- 4. every cluster lab: scenarios one at a time and in parallel --------------------
# per_lab LAB JOBS OUT: TOOK, OK, CORE for one grade of LAB's reference with --jobs JOBS.
per_lab() {
  local lab=$1 jobs=$2 out=$3 t0 rc=0
  guard
  t0=$EPOCHREALTIME
  node bin/kgrade.js grade "labs/$lab" --submission "labs/$lab/reference" --jobs "$jobs" --out "$out" >"$out.log" 2>&1 &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=
  TOOK=$(secs "$t0" "$EPOCHREALTIME")
  OK=0 CORE=-
  if [[ $rc == 0 && -f $out/results.json ]]; then
    read -r OK CORE < <(node -e '
      const r = require(process.argv[1]);
      console.log(r.complete && r.score === r.maxScore ? 1 : 0, (r.durationMs / 1000).toFixed(2));
    ' "$out/results.json")
  fi
  [[ $OK == 1 ]] || { say "  !! labs/$lab/reference with --jobs $jobs was not graded fully correct (exit $rc)"; sed 's/^/     /' "$out.log" | tail -n 15; }
}
CLUSTER_LABS=()
for f in labs/*/lab.yaml; do grep -q '^environment: *cluster' "$f" && CLUSTER_LABS+=("$(basename "$(dirname "$f")")"); done
PAR=$(nproc)
say "4. Every cluster lab's reference: kgrade --jobs 1 and kgrade --jobs $PAR (scenarios in parallel; @serial"
say "   ones alone), in turns"
declare -A L1 LP LO
for lab in "${CLUSTER_LABS[@]}"; do
  a=() b=() o=()
  for i in $(seq "$RUNS"); do
    order=(j1 jp)
    (( i % 2 == 0 )) && order=(jp j1)
    line=""
    for what in "${order[@]}"; do
      case $what in
        j1) per_lab "$lab" 1 "$WORK/$lab-j1-$i"; [[ $OK == 1 ]] || INVALID=1; a+=("$TOOK"); line+=" jobs 1 $TOOK s;" ;;
        jp) per_lab "$lab" "$PAR" "$WORK/$lab-jp-$i"; [[ $OK == 1 ]] || INVALID=1; b+=("$TOOK")
            [[ $CORE == - ]] || o+=("$(awk -v a="$TOOK" -v c="$CORE" 'BEGIN { printf "%.2f", a - c }')")
            line+=" jobs $PAR $TOOK s (outside the scenarios ${o[-1]:--} s);" ;;
      esac
    done
    say "  $lab run $i/$RUNS:$line  [load $(loadavg | cut -d' ' -f1)]"
  done
  L1[$lab]=$(median <<<"${a[*]}"); LP[$lab]=$(median <<<"${b[*]}"); LO[$lab]=$(median <<<"${o[*]}")
done
say ""

# --- the table ---------------------------------------------------------------------
LOAD_END=$(loadavg)
say "Summary ($RUNS run(s) each, wall clock, median)"
printf '  %-58s %10s\n' "what" "median s"
printf '  %-58s %10s\n' "warm kgrade cluster up (reused)" "$UP_MED"
printf '  %-58s %10s\n' "kgrade grade labs/$LAB, reference (whole command)" "$KMED"
printf '  %-58s %10s\n' "  of it inside gradeSubmission (results.json)" "$KCORE"
printf '  %-58s %10s\n' "  of it before and after: node, cluster up, reports" "$KFIX"
printf '  %-58s %10s\n' "bench/$LAB.sh, reference (kubectl + docker in bash)" "$SMED"
printf '  %-58s %10s\n' "ratio kgrade / shell" "$RATIO"
say ""
printf '  %-22s %9s %11s %8s %10s\n' lab "jobs 1 s" "jobs $PAR s" "speed-up" "outside s"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a + 0 > 0) printf "%.2f", a / b; else print "-" }'; }
for lab in "${CLUSTER_LABS[@]}"; do
  printf '  %-22s %9s %11s %8s %10s\n' "$lab" "${L1[$lab]}" "${LP[$lab]}" "$(ratio "${L1[$lab]}" "${LP[$lab]}")" "${LO[$lab]}"
done
say "  speed-up: jobs 1 / jobs $PAR."
say "  outside s: wall clock of the parallel grade minus the time inside gradeSubmission (node start,"
say "  warm cluster up, reports)."
say ""
say "machine: nproc $(nproc); load average (1/5/15 min) $LOAD_START at start, $LOAD_SMOKE before the smoke runs, $LOAD_END at end"
say "shell baseline on wrong/tag-typo: $WRONG_NOTE"
# a namespace whose deletion was accepted (Terminating) is on its way out, as kgrade leaves its own
left=$(k get ns -l kgrade.bench="$BENCH_RUN" -o jsonpath='{range .items[?(@.status.phase=="Active")]}{.metadata.name} {end}' 2>/dev/null | xargs || true)
say "namespaces of the shell runs left (not being deleted): ${left:-none}"
if [[ $INVALID == 1 ]]; then
  say ""
  say "bench-cluster: at least one run was not what it should be (see !! above): the figures are not comparable"
  exit 1
fi
