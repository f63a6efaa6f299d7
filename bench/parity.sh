#!/usr/bin/env bash
# bench/parity.sh [LAB...] — keeps the hand-written baselines honest: grades the
# reference and every wrong/<case> of each lab with kgrade
# AND with bench/<lab>.sh, and compares the verdict of every scenario (passed / not).
# A baseline that stops asserting (a stub) shows up as a mismatch on the wrong
# cases. Exit 0 when every verdict agrees, 1 otherwise. Not timed; takes a few
# minutes per lab (the wrong cases wait out their deadlines). Needs a built
# dist/ (npm run build) and the node image; cluster labs need the
# kind cluster up (kgrade cluster up). Default: every lab with a bench/<lab>.sh.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
labs=("$@")
if [[ ${#labs[@]} -eq 0 ]]; then
  for f in bench/*.sh; do
    l=$(basename "$f" .sh)
    [[ -f labs/$l/lab.yaml ]] && labs+=("$l")
  done
fi
WORK=$(mktemp -d "${TMPDIR:-/tmp}/kgrade-parity.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export BENCH_RUN="parity$$"
mismatches=0

for lab in "${labs[@]}"; do
  dir=labs/$lab
  [[ -x bench/$lab.sh || -f bench/$lab.sh ]] || { echo "no bench/$lab.sh" >&2; exit 2; }
  for sub in "$dir/reference" "$dir"/wrong/*; do
    [[ -d $sub ]] || continue
    name=${sub#"$dir/"}
    out=$WORK/$lab-${name//\//-}
    node bin/kgrade.js grade "$dir" --submission "$sub" --no-build --out "$out" >"$out.kgrade.log" 2>&1
    krc=$?
    bash "bench/$lab.sh" "$sub" >"$out.shell.log" 2>&1
    src=$?
    # scenario name -> passed|not, from both
    node -e '
      const r = require(process.argv[1]);
      for (const s of r.scenarios) console.log(`${s.outcome === "passed" ? "passed" : "not"}\t${s.name}`);
    ' "$out/results.json" 2>/dev/null | sort -t$'\t' -k2 >"$out.k" || : >"$out.k"
    sed -n 's/^  \(ok\|FAIL\|ERROR\) *\(.*\) [0-9.]*s$/\1\t\2/p' "$out.shell.log" |
      sed 's/ (course)$//; s/^ok\t/passed\t/; s/^FAIL\t/not\t/; s/^ERROR\t/not\t/' | sort -t$'\t' -k2 >"$out.s"
    if [[ ! -s $out.k ]]; then
      printf 'ERROR    %s %s: kgrade gave no results.json (exit %s); see %s\n' "$lab" "$name" "$krc" "$out.kgrade.log"
      mismatches=$((mismatches + 1))
      continue
    fi
    diffs=$(join -t$'\t' -1 2 -2 2 -a 1 -a 2 -e '-' -o 0,1.1,2.1 "$out.k" "$out.s" | awk -F'\t' '$2 != $3')
    nk=$(grep -c . "$out.k"); nfail=$(grep -c '^not' "$out.k")
    if [[ -z $diffs ]]; then
      printf 'agree    %s %s: %d scenarios, %d not passed (kgrade exit %s, shell exit %s)\n' "$lab" "$name" "$nk" "$nfail" "$krc" "$src"
    else
      printf 'MISMATCH %s %s (kgrade / shell):\n' "$lab" "$name"
      awk -F'\t' '{printf "           %-7s / %-7s %s\n", $2, $3, $1}' <<<"$diffs"
      mismatches=$((mismatches + 1))
    fi
    # a failing verdict must come with a failing exit code, and the reverse
    if [[ $nfail -gt 0 && $src -eq 0 ]] || [[ $nfail -eq 0 && $src -ne 0 ]]; then
      printf 'MISMATCH %s %s: shell exit %s with %d failed scenarios\n' "$lab" "$name" "$src" "$nfail"
      mismatches=$((mismatches + 1))
    fi
  done
done
left=$(docker ps -aq --filter "label=kgrade.bench=$BENCH_RUN")
[[ -z $left ]] || { echo "removing containers left behind: $left"; xargs docker rm -f -v <<<"$left" >/dev/null; mismatches=$((mismatches + 1)); }
# the cluster baselines label their namespaces kgrade.bench=$BENCH_RUN and delete them
KCFG=${KGRADE_KUBECONFIG:-$HOME/.kube/kgrade/kind-${KGRADE_CLUSTER:-kgrade}.yaml}
kubectl=
for k in "${KGRADE_CACHE:-$HOME/.cache/kgrade}"/k8s/*/bin/kubectl; do [[ -x $k ]] && { kubectl=$k; break; }; done
if [[ -f $KCFG && -x $kubectl ]]; then
  ns=$("$kubectl" --kubeconfig "$KCFG" get ns -l "kgrade.bench=$BENCH_RUN" -o jsonpath='{range .items[?(@.status.phase=="Active")]}{.metadata.name} {end}' 2>/dev/null || true)
  [[ -z ${ns// /} ]] || { echo "namespaces left behind by a baseline: $ns"; read -ra left_ns <<<"$ns"; "$kubectl" --kubeconfig "$KCFG" delete ns "${left_ns[@]}" --wait=false >/dev/null 2>&1; mismatches=$((mismatches + 1)); }
fi
[[ $mismatches -eq 0 ]] && echo "parity: every verdict agrees" || echo "parity: $mismatches mismatch(es)"
[[ $mismatches -eq 0 ]]
