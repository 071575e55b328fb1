#!/usr/bin/env bash
# Step 2 of action.yml: the pull request's head (the checked-out work tree) committed into a scratch lab
# repository, so homeport reads exactly what the PR proposes; `homeport validate --render` (without
# --render when the input render is false), then
# `homeport plan --output markdown`. Writes $RUNNER_TEMP/homeport-plan.md (the comment body), the job
# summary, and the outputs exit-code (0 none, 2 changes, 1 failed) and has-changes.
set -uo pipefail
workspace="${GITHUB_WORKSPACE:?run by action.yml}"
lab_in="$workspace/${HOMEPORT_ACTION_LAB:-.}"
scratch="$RUNNER_TEMP/homeport-lab"
body="$RUNNER_TEMP/homeport-plan.md"
export NO_COLOR=1
export HOMEPORT_DATABASE_URL="sqlite:///$RUNNER_TEMP/homeport-state.db"

if [ ! -f "$lab_in/homeport.yaml" ] && [ -f "$lab_in/desired-state/homeport.yaml" ]; then
    lab_in="$lab_in/desired-state"   # homeport's own repository: the example lab
fi
if [ ! -f "$lab_in/homeport.yaml" ]; then
    echo "::error::no homeport.yaml in ${HOMEPORT_ACTION_LAB:-.}; set the action's lab input to the lab's folder"
    printf '### homeport plan\n\nNo `homeport.yaml` in `%s`: set the action'"'"'s `lab` input.\n' "${HOMEPORT_ACTION_LAB:-.}" > "$body"
    echo "exit-code=1" >> "$GITHUB_OUTPUT"; echo "has-changes=false" >> "$GITHUB_OUTPUT"
    exit 0
fi
main_branch=$(python3 - "$lab_in/homeport.yaml" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"^\s*main_branch:\s*['\"]?([\w./-]+)", text, re.M)
print(m.group(1) if m else "main")
PY
)
rm -rf "$scratch"; mkdir -p "$scratch"
tar -C "$lab_in" --exclude=.git --exclude=.homeport --exclude=rendered-configs -cf - . | tar -C "$scratch" -xf -
git -C "$scratch" init -q -b "$main_branch"
git -C "$scratch" add -A
git -C "$scratch" -c user.name=homeport-action -c user.email=action@localhost commit -q \
    -m "pull request head ${GITHUB_SHA:-}"

status=0
render=(--render)
[ "${HOMEPORT_ACTION_RENDER:-true}" = "false" ] && render=()
validation=$(homeport validate "${render[@]}" --lab "$scratch" 2>&1) || status=1
if [ "$status" -eq 0 ]; then
    homeport plan --lab "$scratch" --output markdown --detailed-exitcode > "$body" 2> "$RUNNER_TEMP/homeport-plan.err"
    status=$?
    if [ "$status" -ne 0 ] && [ "$status" -ne 2 ]; then
        status=1
        { printf '### homeport plan failed\n\n```\n'; tail -c 20000 "$RUNNER_TEMP/homeport-plan.err"; printf '\n```\n'; } > "$body"
    fi
else
    { printf '<!-- homeport-plan -->\n### ❌ homeport: the lab does not validate\n\n```\n'
      printf '%s' "$validation" | tail -c 20000
      printf '\n```\n'; } > "$body"
fi
printf '%s\n' "$validation"
cat "$body" >> "$GITHUB_STEP_SUMMARY"
echo "exit-code=$status" >> "$GITHUB_OUTPUT"
if [ "$status" -eq 2 ]; then echo "has-changes=true" >> "$GITHUB_OUTPUT"; else echo "has-changes=false" >> "$GITHUB_OUTPUT"; fi
exit 0
