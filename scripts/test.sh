#!/usr/bin/env bash
# scripts/test.sh — the project's single test command (npm test):
#   1. npm run build
#   2. unit tests (node:test, dist/test/unit), then the class report rendered in
#      headless Chromium (dist/test/report)
#   3. scripts/ensure-images.sh, then the integration tests (dist/test/integration:
#      real sandboxes of both runtimes, userns and privileged, and the hostile
#      submissions that try to reach the host from them), then kgrade batch
#      (dist/test/batch: unpacking attacks, resume after SIGKILL, retries, shards)
#   4. kgrade validate and kgrade verify --isolation userns for every lab under
#      labs/ whose lab.yaml says environment: sandbox (one process per lab)
#   4b. images/vm/build.sh, the VM sandbox tests (dist/test/vm: boots qemu VMs)
#      and kgrade verify --isolation vm of every sandbox lab (KGRADE_SKIP_VM=1 skips)
#   5. dockerd stopped in the middle of a grade (dist/test/dockerd): stops and
#      restarts the machine's dockerd, so it runs alone, before the cluster
#   6. the cluster: kgrade cluster up (builds the offline kind images on first
#      use, cached under ~/.cache/kgrade; later runs reuse them), the cluster
#      tests (dist/test/cluster), validate and verify of every cluster lab, then
#      kgrade cluster down and a test that nothing is left behind.
#      KGRADE_SKIP_CLUSTER=1 skips this stage (say so in the output).
# Every stage runs even when an earlier one failed (except after a failed build);
# the exit status is non-zero when anything failed. The last line is
# "N passed, N failed" over the node:test results.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
T0=$SECONDS
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-test-run-XXXXXX")
trap 'rm -rf "$WORK"' EXIT

status=0
pass=0
fail=0
todo=0
declare -a problems=()

say() { printf '\n== %s\n' "$*"; }

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

# run_node_tests NAME DIR [extra node --test flags...]
run_node_tests() {
  local name=$1 dir=$2
  shift 2
  local tap="$WORK/$name.tap"
  say "$name tests ($dir)"
  node --test "$@" \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap" \
    "$dir"
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
  say "lab $lab: validate and verify"
  if node bin/kgrade.js validate "$lab" && node bin/kgrade.js verify "$lab" "$@" --out "$WORK/verify/$(basename "$lab")"; then
    labs_ok=$((labs_ok + 1))
  else
    labs_bad=$((labs_bad + 1))
    status=1
    problems+=("$lab: kgrade validate or verify failed")
  fi
}
if ((images_ok)); then
  mapfile -t labs < <(labs_of sandbox)
  for lab in "${labs[@]}"; do verify_lab "$lab" --no-build --isolation userns; done
  echo
  echo "labs: ${labs_ok} verified, ${labs_bad} failed (${#labs[@]} sandbox labs)"
fi

# VM sandboxes: images/vm/build.sh (cached under ~/.cache/kgrade/vm), the VM tests, then every
# sandbox lab verified with --isolation vm. KGRADE_SKIP_VM=1 skips this stage (say so in the output).
if [[ ${KGRADE_SKIP_VM:-0} == 1 ]]; then
  say "vm stage SKIPPED (KGRADE_SKIP_VM=1)"
elif ((images_ok)); then
  say "vm images (images/vm/build.sh)"
  if bash images/vm/build.sh >/dev/null; then
    run_node_tests vm dist/test/vm/ --test-concurrency=1
    for lab in "${labs[@]}"; do verify_lab "$lab" --no-build --isolation vm; done
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

if [[ ${KGRADE_SKIP_CLUSTER:-0} == 1 ]]; then
  say "cluster stage SKIPPED (KGRADE_SKIP_CLUSTER=1)"
elif ((images_ok)); then
  say "cluster: kgrade cluster up"
  if node bin/kgrade.js cluster up; then
    run_node_tests cluster dist/test/cluster/ --test-concurrency=1
    mapfile -t clabs < <(labs_of cluster)
    for lab in "${clabs[@]}"; do verify_lab "$lab"; done
  else
    status=1
    fail=$((fail + 1))
    problems+=("kgrade cluster up failed: cluster tests and cluster labs not run")
  fi
  say "cluster: kgrade cluster down"
  run_node_tests cluster-down dist/test/cluster-down/
fi

echo
for p in "${problems[@]}"; do echo "FAILED: $p"; done
echo "node:test: ${todo} todo (known bugs, not counted); took $((SECONDS - T0)) s"
echo "${pass} passed, ${fail} failed"
exit "$status"
