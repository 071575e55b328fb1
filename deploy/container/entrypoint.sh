#!/bin/sh
# The image's entrypoint. `daemon` (the default) starts the reconciler on the lab the environment names:
#   HOMEPORT_REPO_URL  the lab's Git URL (forge over HTTPS/SSH, or a path such as /lab mounted read-only);
#                      mirrored into the state volume and fetched on change
#   HOMEPORT_LAB       or: a lab checkout mounted writable (locks and work files in <lab>/.homeport)
#   HOMEPORT_DATABASE_URL  the image sets SQLite in the state volume; set it to "" and
#                      HOMEPORT_DATABASE_URL_FILE to a secret file holding a PostgreSQL URL (compose.yaml)
#   HOMEPORT_ALLOWED_HOSTS  comma-separated extra Host names the UI/API/MCP answer (e.g. homeport.lan:9469)
# Any other command runs as given: `docker compose exec homeport homeport status --lab /var/lib/homeport/mirror.git`.
set -eu
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
    hosts="${HOMEPORT_ALLOWED_HOSTS:-}"
    while [ -n "$hosts" ]; do
        host="${hosts%%,*}"
        [ -n "$host" ] && set -- "$@" --allowed-host "$host"
        [ "$hosts" = "${hosts#*,}" ] && break
        hosts="${hosts#*,}"
    done
    exec homeport daemon --state-dir "${HOMEPORT_STATE_DIR:-/var/lib/homeport}" \
        --host "${HOMEPORT_HOST:-0.0.0.0}" --port "${HOMEPORT_PORT:-9469}" "$@"
fi
exec "$@"
