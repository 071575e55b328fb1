#!/bin/sh
# Creates deploy/secrets/ for compose.yaml: a random PostgreSQL password and the database URL built from it.
# The directory is 0700 (only you read it on the host); the files are bind-mounted read-only into the
# containers, which run as other users. Never commit deploy/secrets/ (it is in .gitignore).
set -eu
dir="$(cd "$(dirname "$0")" && pwd)/secrets"
umask 077
mkdir -p "$dir"
if [ -s "$dir/postgres_password" ]; then
    echo "$dir/postgres_password exists; not replacing it"
else
    password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
    printf '%s' "$password" > "$dir/postgres_password"
    printf 'postgresql+psycopg://homeport:%s@postgres:5432/homeport' "$password" > "$dir/database_url"
fi
chmod 0700 "$dir"
chmod 0644 "$dir/postgres_password" "$dir/database_url"
echo "secrets in $dir"
