#!/usr/bin/env bash
# Grades a lab's reference submission end to end, on a fresh machine too:
# installs the npm packages, builds kgrade, installs and starts Docker when it
# is missing, builds the offline images (cached under ~/.cache/kgrade), grades,
# and makes the HTML report.
#   scripts/grade-reference.sh [LAB_ID]     (default: ch03-pod-from-scratch)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
lab=${1:-ch03-pod-from-scratch}
[ -f "labs/$lab/lab.yaml" ] || { echo "grade-reference: no lab labs/$lab (see: ls labs)" >&2; exit 2; }

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "grade-reference: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
echo "grade-reference: building kgrade" >&2
npm run --silent build
bash scripts/ensure-images.sh >/dev/null

out="reports/$lab/reference"
node bin/kgrade.js grade "labs/$lab" --submission "labs/$lab/reference" --out "$out" --allure
node bin/kgrade.js report --html "$out" >/dev/null
echo "grade-reference: reports in $out (HTML: $out/allure-report/index.html)" >&2
