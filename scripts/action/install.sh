#!/usr/bin/env bash
# Step 1 of action.yml: homeport and its validators into a venv in the runner's temp folder, from the
# action's own checkout and its uv.lock (homeport itself is not on a package index).
set -euo pipefail
src="${GITHUB_ACTION_PATH:?run by action.yml}"
venv="${HOMEPORT_ACTION_VENV:-$RUNNER_TEMP/homeport-venv}"
uv_version=$(sed -n 's/^UV_VERSION := //p' "$src/Makefile")
python3 -m pip install --quiet --disable-pip-version-check "uv==${uv_version}"
UV_PROJECT_ENVIRONMENT="$venv" python3 -m uv sync --project "$src" --frozen --all-extras --no-editable --quiet
echo "$venv/bin" >> "$GITHUB_PATH"
echo "HOMEPORT_ACTION_PYTHON=$venv/bin/python" >> "$GITHUB_ENV"
"$venv/bin/homeport" version
