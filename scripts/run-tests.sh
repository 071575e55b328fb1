#!/usr/bin/env bash
# Run the test suite with the project's venv; arguments go to pytest (default: every testpath).
# A run in which no test ran (pytest exit code 5: nothing collected, all deselected or all skipped)
# is a failure, so a broken collection can never pass CI.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/pytest ]; then
    echo "run-tests: .venv/bin/pytest not found; run \`make test\` (it creates .venv) or \`make venv\`" >&2
    exit 1
fi

status=0
.venv/bin/pytest "$@" || status=$?
if [ "$status" -eq 5 ]; then
    echo "run-tests: FAILED: pytest ran no test (exit code 5); check collection, -k/-m filters and skips" >&2
    exit 1
fi
exit "$status"
