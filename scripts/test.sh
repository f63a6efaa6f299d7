#!/usr/bin/env bash
# scripts/test.sh — the project's single test command (npm test):
#   1. npm run build, then npm run lint (shellcheck and Biome: scripts/lint.sh)
#   2. unit tests (node:test, dist/test/unit), then the class report rendered in
#      headless Chromium (dist/test/report)
#   3. scripts/ensure-images.sh, then the integration tests (dist/test/integration:
#      real sandboxes of both runtimes, userns and privileged, and the hostile
#      submissions that try to reach the host from them), then kgrade batch
#      (dist/test/batch: unpacking attacks, resume after SIGKILL, retries, shards)
#   4. kgrade validate and kgrade verify --isolation userns for every lab under
#      labs/ whose lab.yaml says environment: sandbox (one process per lab)
#   4b. the other Node.js lines of package.json's engines (20, 22, 24; scripts/with-node.sh
#      installs them from the npm registry): the unit tests on each, and labs/ch01-isolation
#      verified on Node 24 when the node on PATH is not 24 already
#   4c. images/vm/build.sh; after stage 5, the VM sandbox tests (dist/test/vm: boots qemu
#      VMs; cgroup-v2.test.js runs kgrade inside a cgroup v2 VM with userns, about 10 to
#      15 minutes under TCG on this machine, plus a minute to make its disk once; hostile-vm.test.js:
#      the hostile routes against one VM), then the bad-input tests that press on the VM itself
#      (fork bomb, kill -9 -1, ...) with KGRADE_ISOLATION=vm, then every sandbox lab's reference
#      verified with --isolation vm, run in the background beside
#      stage 6 (from when the kind binaries are built), their output printed after it (KGRADE_SKIP_VM=1 skips;
#      KGRADE_VM_LABS=1 verifies every case of those labs with --isolation vm, which takes
#      about 5 minutes under TCG here)
#   5. dockerd stopped in the middle of a grade (dist/test/dockerd): stops and
#      restarts the machine's dockerd, so it runs alone, before the cluster
#   6. the cluster: kgrade cluster up (builds the offline kind images on first
#      use, cached under ~/.cache/kgrade; later runs reuse them; the Go compiles
#      among them, images/kind/build-binaries.sh, start in the background right
#      after the build, at nice 19, so that a cold run overlaps them with the
#      stages before), the cluster
#      tests (dist/test/cluster), validate and verify of every cluster lab, then
#      kgrade cluster down and a test that nothing is left behind.
#      KGRADE_SKIP_CLUSTER=1 skips this stage (say so in the output).
# Every stage runs even when an earlier one failed (except after a failed build);
# the exit status is non-zero when anything failed. The last line is
# "N passed, N failed" over the node:test results.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
T0=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-test-run-XXXXXX")
# a background build still running when the suite ends (or is stopped) goes with it
# and so does the VM stage's (its test runner first, which ends its VMs)
trap '[[ -n ${kind_binaries:-} ]] && kill -- "-$kind_binaries" 2>/dev/null; [[ -n ${vm_pid:-} ]] && { pkill -TERM -P "$vm_pid"; kill "$vm_pid"; } 2>/dev/null; rm -rf "$WORK"' EXIT

status=0
pass=0
fail=0
todo=0
declare -a problems=()

# A stage's header, with the time into the run it starts at: the stages' costs read off the log.
say() { printf '\n== %s  [%d s]\n' "$*" "$((SECONDS - T0))"; }

# Adds the "# pass N" / "# fail N" / "# todo N" totals of a TAP file to the counters.
count_tap() {
  local file=$1 p f t
  p=$(sed -n 's/^# pass \([0-9][0-9]*\)$/\1/p' "$file" | tail -n 1)
  f=$(sed -n 's/^# fail \([0-9][0-9]*\)$/\1/p' "$file" | tail -n 1)
  t=$(sed -n 's/^# todo \([0-9][0-9]*\)$/\1/p' "$file" | tail -n 1)
  pass=$((pass + ${p:-0}))
  fail=$((fail + ${f:-0}))
  todo=$((todo + ${t:-0}))
}

# The command that runs node: the one on PATH, or with WITH_NODE=MAJOR scripts/with-node.sh's.
node_cmd() {
  if [[ -n ${WITH_NODE:-} ]]; then bash scripts/with-node.sh "$WITH_NODE" node "$@"; else node "$@"; fi
}

# run_node_tests NAME DIR [extra node --test flags...]: every DIR/*.test.js (Node 22 and later
# take a folder argument for a file name), or DIR itself when it is one .test.js file.
run_node_tests() {
  local name=$1 dir=$2
  shift 2
  local tap="$WORK/$name.tap" files=("${dir%/}"/*.test.js)
  [[ $dir == *.test.js ]] && files=("$dir")
  say "$name tests ($dir)"
  node_cmd --test "$@" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    "${files[@]}"
  local rc=$?
  if [[ -s $tap ]]; then
    count_tap "$tap"
  fi
  if ((rc != 0)); then
    status=1
    # a file that crashed before reporting counts as a failure even without a "# fail" line
    if ! grep -q '^# fail [1-9]' "$tap" 2>/dev/null; then
      fail=$((fail + 1))
    fi
    problems+=("$name tests failed (node --test exited $rc)")
  fi
}

say "build"
if ! npm run --silent build; then
  echo "test.sh: the build failed; nothing was tested" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

# On a cold machine the kind build's Go compiles take most of half an hour; they need no
# Docker, so they run meanwhile, at nice 19, and cluster up finds them cached.
kind_binaries=''
if [[ ${KGRADE_SKIP_CLUSTER:-0} != 1 ]]; then
  setsid bash images/kind/build-binaries.sh >"$WORK/kind-binaries.log" 2>&1 &
  kind_binaries=$!
fi

say "lint (npm run lint)"
if bash scripts/lint.sh; then
  pass=$((pass + 1))
else
  status=1
  fail=$((fail + 1))
  problems+=("npm run lint found problems")
fi

run_node_tests unit dist/test/unit/
run_node_tests report dist/test/report/

say "images (scripts/ensure-images.sh)"
images_ok=0
if bash scripts/ensure-images.sh >/dev/null; then
  images_ok=1
  # one file at a time: the integration tests start sandboxes and time them
  run_node_tests integration dist/test/integration/ --test-concurrency=1
  run_node_tests batch dist/test/batch/ --test-concurrency=1
else
  status=1
  fail=$((fail + 1))
  problems+=("scripts/ensure-images.sh failed: integration tests and lab verification not run")
fi

# Labs whose lab.yaml says environment: $1.
labs_of() {
  ENVIRONMENT=$1 node --input-type=module -e '
    import { readdirSync, readFileSync, existsSync } from "node:fs";
    import yaml from "js-yaml";
    for (const d of readdirSync("labs", { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
      const f = `labs/${d}/lab.yaml`;
      if (!existsSync(f)) continue;
      let env;
      try { env = yaml.load(readFileSync(f, "utf8"))?.environment; } catch { env = "sandbox"; }
      if (env === process.env.ENVIRONMENT) console.log(`labs/${d}`);
    }'
}

labs_ok=0
labs_bad=0
# verify_lab LABDIR [extra kgrade verify flags...]: validate, then verify; counts the result.
verify_lab() {
  local lab=$1
  shift
  local on=${WITH_NODE:+ on Node $WITH_NODE}
  say "lab $lab: validate and verify$on"
  local verdicts="$WORK/verdicts-$RANDOM"
  if node_cmd bin/kgrade.js validate "$lab" &&
    node_cmd bin/kgrade.js verify "$lab" "$@" --out "$WORK/verify/$(basename "$lab")${WITH_NODE:+-node$WITH_NODE}" | tee "$verdicts"; then
    labs_ok=$((labs_ok + 1))
  else
    labs_bad=$((labs_bad + 1))
    status=1
    # the id is read only now, quietly: a lab.yaml validate refused has said why already
    problems+=("$lab: kgrade validate or verify failed$on$(verdict_lines "$(lab_id "$lab" 2>/dev/null)" "$verdicts" 2>/dev/null)")
  fi
}
# lab_id LABDIR: the id its lab.yaml gives it (the name verify's verdict lines use).
lab_id() { node -p 'require("js-yaml").load(require("fs").readFileSync(process.argv[1], "utf8")).id' "$1/lab.yaml"; }
# verdict_lines ID FILE: the MISMATCH and ERROR lines kgrade verify printed for lab ID (with the
# errors under them), each on a line of its own, indented: a failed lab's cause is in the run's
# last lines, which is all of a CI log some readers get.
verdict_lines() {
  awk -v id="$1" '($1 == "MISMATCH" || $1 == "ERROR") && $2 == id { p = 1; printf "\n    %s", $0; next }
    p && /^ +error in / { printf "\n    %s", $0; next } { p = 0 }' "$2"
}
# verify_labs LABDIR... -- [extra kgrade verify flags...]: validate each, then verify them all in
# one kgrade verify, side by side on its --jobs slots (a disruptive lab alone, after the others);
# counts each lab by the lines verify prints for its cases.
verify_labs() {
  local -a these=() flags=()
  while (($#)) && [[ $1 != -- ]]; do these+=("$1"); shift; done
  (($#)) && shift
  flags=("$@")
  local -a valid=()
  local lab
  for lab in "${these[@]}"; do
    if node_cmd bin/kgrade.js validate "$lab"; then valid+=("$lab"); else
      labs_bad=$((labs_bad + 1))
      status=1
      problems+=("$lab: kgrade validate failed")
    fi
  done
  ((${#valid[@]})) || return 0
  say "labs ${valid[*]}: verify side by side"
  local verdicts="$WORK/verdicts-$RANDOM"
  node_cmd bin/kgrade.js verify "${valid[@]}" "${flags[@]}" --out "$WORK/verify/$RANDOM" | tee "$verdicts"
  local rc=${PIPESTATUS[0]} id
  for lab in "${valid[@]}"; do
    id=$(lab_id "$lab")
    if grep -qE "^ok +$id " "$verdicts" && ! grep -qE "^(MISMATCH|ERROR) +$id " "$verdicts"; then
      labs_ok=$((labs_ok + 1))
    else
      labs_bad=$((labs_bad + 1))
      status=1
      problems+=("$lab: kgrade verify failed$(verdict_lines "$id" "$verdicts")")
    fi
  done
  if ((rc != 0)); then
    status=1
    grep -qE '^(MISMATCH|ERROR) ' "$verdicts" || problems+=("kgrade verify ${valid[*]} exited $rc")
  fi
}
if ((images_ok)); then
  mapfile -t labs < <(labs_of sandbox)
  verify_labs "${labs[@]}" -- --no-build --isolation userns
  echo
  echo "labs: ${labs_ok} verified, ${labs_bad} failed (${#labs[@]} sandbox labs)"
fi

# The Node.js lines package.json's engines names, besides the one that ran everything above: the
# unit tests on each, and one sandbox lab on the newest.
current=$(node -p 'process.versions.node.split(".")[0]')
for major in 24 22 20; do
  ((major == current)) || WITH_NODE=$major run_node_tests "unit-node$major" dist/test/unit/
done
if ((images_ok && current != 24)); then
  WITH_NODE=24 verify_lab labs/ch01-isolation --no-build --isolation userns
fi

# VM sandboxes: images/vm/build.sh (cached under ~/.cache/kgrade/vm) here, while dockerd runs;
# the VM tests and the sandbox labs' references under vm (KGRADE_VM_LABS=1: every case) after the dockerd
# stage, in the background beside the cluster stage: a VM under TCG keeps a core busy, the
# cluster stage mostly waits on the cluster. Their output is printed when the cluster stage ends.
# KGRADE_SKIP_VM=1 skips this stage (say so in the output).
vm_ok=0
if [[ ${KGRADE_SKIP_VM:-0} == 1 ]]; then
  say "vm stage SKIPPED (KGRADE_SKIP_VM=1)"
elif ((images_ok)); then
  say "vm images (images/vm/build.sh)"
  if bash images/vm/build.sh >/dev/null; then
    vm_ok=1
  else
    status=1
    fail=$((fail + 1))
    problems+=("images/vm/build.sh failed: VM tests and labs under --isolation vm not run")
  fi
fi

# Stops and restarts the machine's dockerd: alone, before the cluster exists.
if ((images_ok)); then
  run_node_tests dockerd-stop dist/test/dockerd/
fi

# The VM stage, in a subshell of its own: what it counts comes back through $WORK/vm-stage.*.
vm_stage() {
  pass=0 fail=0 todo=0 status=0 labs_ok=0 labs_bad=0
  problems=()
  run_node_tests vm dist/test/vm/ --test-concurrency=1
  # the bad inputs that press on the VM itself (its processes, PID 1, the agent): one VM boot each
  KGRADE_ISOLATION=vm run_node_tests vm-bad-input dist/test/integration/bad-input.test.js --test-concurrency=1 \
    --test-name-pattern='fork bomb|kill -9 -1|rm -rf|killed by SIGKILL|hangs \(sleep 1000\)|no sandbox of this process'
  # every sandbox lab's reference under vm, side by side (about a minute under TCG here); all
  # their cases (about 5 minutes, more beside the cluster stage) by request or on a KVM host
  if [[ ${KGRADE_VM_LABS:-0} == 1 ]]; then
    verify_labs "${labs[@]}" -- --no-build --isolation vm
  else
    verify_labs "${labs[@]}" -- --no-build --isolation vm --case reference
  fi
  printf '%s\n' "$pass $fail $todo $status $labs_ok $labs_bad" >"$WORK/vm-stage.counts"
  printf '%s\n' "${problems[@]}" >"$WORK/vm-stage.problems"
}
# Started once the kind binaries are built (below): on a cold machine their Go compiles are the
# longest road to the end of the run, and a VM under TCG would take a core from them.
vm_pid=''
start_vm_stage() {
  ((vm_ok)) || return 0
  say "vm tests (dist/test/vm) started in the background; their output follows the cluster stage"
  vm_stage >"$WORK/vm-stage.log" 2>&1 &
  vm_pid=$!
}

if [[ ${KGRADE_SKIP_CLUSTER:-0} == 1 ]]; then
  say "cluster stage SKIPPED (KGRADE_SKIP_CLUSTER=1)"
  start_vm_stage
elif ((images_ok)); then
  if [[ -n $kind_binaries ]]; then
    say "cluster: the kind binaries built in the background (images/kind/build-binaries.sh)"
    if wait "$kind_binaries"; then
      tail -n 1 "$WORK/kind-binaries.log"
    else
      echo "test.sh: the background build failed; cluster up builds what is missing again. Its log's end:"
      tail -n 20 "$WORK/kind-binaries.log"
    fi
    kind_binaries=''
  fi
  start_vm_stage
  say "cluster: kgrade cluster up"
  if node bin/kgrade.js cluster up; then
    run_node_tests cluster dist/test/cluster/ --test-concurrency=1
    mapfile -t clabs < <(labs_of cluster)
    # A cluster scenario mostly waits (pods starting, a wrong case's deadlines): four at a time
    # verify busybox-debugging in 613 s against 1154 s one case at a time with two (bench note),
    # and the labs share those four slots side by side (ch03-pods-on-kind, disruptive, after them).
    verify_labs "${clabs[@]}" -- --jobs 4
  else
    status=1
    fail=$((fail + 1))
    problems+=("kgrade cluster up failed: cluster tests and cluster labs not run")
  fi
  say "cluster: kgrade cluster down"
  run_node_tests cluster-down dist/test/cluster-down/
fi

if [[ -n $vm_pid ]]; then
  say "vm stage (ran beside the cluster stage)"
  wait "$vm_pid"
  cat "$WORK/vm-stage.log"
  if read -r vp vf vt vs vlo vlb <"$WORK/vm-stage.counts" 2>/dev/null; then
    pass=$((pass + vp))
    fail=$((fail + vf))
    todo=$((todo + vt))
    labs_ok=$((labs_ok + vlo))
    labs_bad=$((labs_bad + vlb))
    ((vs == 0)) || status=1
    while IFS= read -r p; do [[ -n $p ]] && problems+=("$p"); done <"$WORK/vm-stage.problems"
  else
    status=1
    fail=$((fail + 1))
    problems+=("the vm stage ended without its counts (see its output above)")
  fi
fi

echo
for p in "${problems[@]}"; do echo "FAILED: $p"; done
echo "node:test: ${todo} todo (known bugs, not counted); took $((SECONDS - T0)) s"
echo "${pass} passed, ${fail} failed"
exit "$status"
