#!/bin/sh
# The image's entrypoint. `daemon` (the default) starts the reconciler on the lab the environment names:
#   HOMEPORT_REPO_URL  the lab's Git URL (forge over HTTPS/SSH, or a path such as /lab mounted read-only);
#                      mirrored into the state volume and fetched on change
#   HOMEPORT_LAB       or: a lab checkout mounted writable (state in <lab>/.homeport)
#   HOMEPORT_DATABASE_URL  PostgreSQL (or HOMEPORT_DATABASE_URL_FILE; else SQLite in the state volume)
# Any other command runs as given: `docker run IMAGE homeport status --lab /lab`, `... homeport-mcp`.
set -eu
# Compose/Kubernetes secrets arrive as files: HOMEPORT_DATABASE_URL_FILE names the file holding the URL.
if [ -z "${HOMEPORT_DATABASE_URL:-}" ] && [ -n "${HOMEPORT_DATABASE_URL_FILE:-}" ]; then
    HOMEPORT_DATABASE_URL=$(cat "$HOMEPORT_DATABASE_URL_FILE")
    export HOMEPORT_DATABASE_URL
fi
if [ "${1:-daemon}" = "daemon" ]; then
    [ "$#" -gt 0 ] && shift
    if [ -n "${HOMEPORT_REPO_URL:-}" ]; then
        set -- --repo "$HOMEPORT_REPO_URL" "$@"
    elif [ -n "${HOMEPORT_LAB:-}" ]; then
        set -- --lab "$HOMEPORT_LAB" "$@"
    else
        echo "homeport: set HOMEPORT_REPO_URL (the lab's Git URL or a mounted path) or HOMEPORT_LAB" >&2
        exit 64
    fi
    exec homeport daemon --state-dir "${HOMEPORT_STATE_DIR:-/var/lib/homeport}" \
        --host "${HOMEPORT_HOST:-0.0.0.0}" --port "${HOMEPORT_PORT:-9469}" "$@"
fi
exec "$@"
