#!/usr/bin/env bash
# scripts/lint.sh — npm run lint: shellcheck over every shell script of the repository, then Biome
# (biome.json: its formatter and a small rule set) over the TypeScript and the build scripts, then
# scripts/import-circles.mjs (no new pair of src/ folders that import each other).
# Exit 0 when all are clean. Scripts under labs/*/wrong/ (and the planted class of test/fixtures/similarity-class/) are left out: they are wrong on purpose,
# as a student's submission can be. `npm run format` rewrites the TypeScript to Biome's format.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 2
status=0

# Tracked files ending in .sh, or whose first line runs sh or bash; without git (an unpacked
# tarball), the same test over the folders that hold scripts.
shell_scripts() {
  local f
  { git ls-files 2>/dev/null || find . -path ./node_modules -prune -o -path ./dist -prune -o -type f -print | sed 's|^\./||'; } |
    grep -v '^labs/[^/]*/wrong/' | grep -v '^test/fixtures/similarity-class/' |
    while IFS= read -r f; do
      [[ -f $f ]] || continue
      if [[ $f == *.sh ]] || head -n 1 "$f" 2>/dev/null | grep -qE '^#!.*[/ ](ba)?sh( |$)'; then printf '%s\n' "$f"; fi
    done
}

if ! command -v shellcheck >/dev/null; then
  echo "lint: shellcheck is not installed: apt-get install shellcheck (.ci/run does)" >&2
  status=1
else
  mapfile -t scripts < <(shell_scripts)
  if shellcheck "${scripts[@]}"; then
    echo "lint: shellcheck: ${#scripts[@]} scripts clean"
  else
    status=1
  fi
fi

if npx --no-install biome ci --colors=off --reporter=summary; then
  echo "lint: biome: clean"
else
  echo "lint: biome found problems; formatting alone is fixed by npm run format" >&2
  status=1
fi
node scripts/import-circles.mjs || status=1
exit "$status"
