#!/usr/bin/env bash
# Re-render every example-lab resource with every chart that supports it into tests/golden/.
# Review the diff (git diff tests/golden) like code before committing it.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
exec "${VENV:-$here/.venv}/bin/python" -m tests.render.golden "$@"
