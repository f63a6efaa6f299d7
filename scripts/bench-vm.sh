#!/usr/bin/env bash
# scripts/bench-vm.sh — what --isolation vm costs here, printed, never asserted:
#   cold image build   images/vm/build.sh --force into a fresh cache folder
#                      (skipped with --no-build-time)
#   VM ready           start of a VM sandbox to its agent's first answer and the
#                      node's network set up (KVM where it boots a VM, else TCG):
#                      booted (KGRADE_VM_SNAPSHOT=off), and started from the saved
#                      booted node (the default)
#   per command        `true` through the guest agent, median of 20
#   lab wall time      kgrade grade LAB --jobs 1 of LAB's reference, with
#                      --isolation vm (vm-booted: KGRADE_VM_SNAPSHOT=off), userns
#                      and privileged
# The machine's load average is printed with the figures: they are wall clock.
#
#   scripts/bench-vm.sh [--lab LAB] [--no-build-time] [--runs N]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LAB=labs/ch03-pod-from-scratch
RUNS=1
BUILD_TIME=1
while (($#)); do
  case $1 in
    --lab) LAB=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --no-build-time) BUILD_TIME=0; shift ;;
    *) echo "usage: scripts/bench-vm.sh [--lab LAB] [--no-build-time] [--runs N]" >&2; exit 2 ;;
  esac
done

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", b-a}'; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "bench-vm: $(nproc) cores, load $(load)"
if ((BUILD_TIME)); then
  cache=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-bench-vm-XXXXXX")
  mkdir -p "$cache/node"
  t=$(now)
  KGRADE_CACHE=$cache bash images/vm/build.sh --force >/dev/null
  echo "cold image build: $(secs "$t" "$(now)") s"
  rm -rf "$cache"
fi
bash images/vm/build.sh >/dev/null 2>&1

# shellcheck disable=SC2016 # JavaScript, not shell
node --input-type=module -e '
  const { startSandbox } = await import("./dist/src/env/sandbox/index.js");
  const { nodeImageRef } = await import("./dist/src/env/images.js");
  const start = async () => {
    const t0 = performance.now();
    const sb = await startSandbox("vm", { image: nodeImageRef(), runId: `bench-${process.pid}`, purpose: "bench-vm" });
    return { sb, s: ((performance.now() - t0) / 1000).toFixed(1) };
  };
  process.env.KGRADE_VM_SNAPSHOT = "off";
  const booted = await start();
  await booted.sb.destroy();
  process.env.KGRADE_VM_SNAPSHOT = "on";
  const first = await start();
  await first.sb.destroy();
  const { sb, s } = await start();
  const times = [];
  try {
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await sb.exec(["true"]);
      times.push(performance.now() - t);
    }
  } finally {
    await sb.destroy();
  }
  times.sort((a, b) => a - b);
  console.log(`VM ready, booted: ${booted.s} s (kernel ${sb.kernel}, cgroup ${sb.cgroup})`);
  console.log(`VM ready, first start from the saved node: ${first.s} s (with saving it, unless it was saved before)`);
  console.log(`VM ready, started from the saved node: ${s} s`);
  console.log(`per command (true), median of 20: ${times[10].toFixed(0)} ms (min ${times[0].toFixed(0)}, max ${times[19].toFixed(0)})`);
'

for mode in vm vm-booted userns privileged; do
  isolation=${mode%-booted}
  snapshot=on
  [[ $mode == vm-booted ]] && snapshot=off
  for ((i = 1; i <= RUNS; i++)); do
    out=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-bench-vm-out-XXXXXX")
    t=$(now)
    if KGRADE_VM_SNAPSHOT=$snapshot node bin/kgrade.js grade "$LAB" --submission "$LAB/reference" --isolation "$isolation" --jobs 1 --no-build --out "$out" >"$out/summary.txt" 2>"$out/log.txt"; then
      # shellcheck disable=SC2016 # JavaScript, not shell
      score=$(node -e 'const r=require(process.argv[1]);console.log(`${r.score}/${r.maxScore}`)' "$out/results.json")
      echo "$(basename "$LAB") --jobs 1 --isolation $mode: $(secs "$t" "$(now)") s (score $score, load $(load))"
    else
      echo "$(basename "$LAB") --jobs 1 --isolation $mode: did not grade (exit $?): $(tail -n 3 "$out/log.txt")"
    fi
    rm -rf "$out"
  done
done
