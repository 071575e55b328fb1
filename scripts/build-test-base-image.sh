#!/usr/bin/env bash
# The container-image tests build homeport's Dockerfile on a test dockerd, which cannot pull from a
# registry here. This makes the base they pass as BASE_IMAGE instead of python:3.11-slim-bookworm:
# a `debootstrap --variant=minbase bookworm` root with Debian's python3.11 (+ venv and pip, which the
# Dockerfile's builder stage uses), packed as a tarball for `docker import`. Cached outside the repo;
# idempotent (a no-op when the tarball exists). The image trusts this machine's CA bundle.
set -euo pipefail

out="${HOMEPORT_TEST_CACHE:-/var/cache/homeport-test}/bookworm-python3.11.tar"
[ -s "$out" ] && exit 0

_as_root=()
[ "$(id -u)" -eq 0 ] || _as_root=(sudo)
command -v debootstrap >/dev/null || "${_as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap

mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d)
trap '"${_as_root[@]}" rm -rf "$root"' EXIT
"${_as_root[@]}" debootstrap --variant=minbase \
    --include=python3,python3-venv,python3-pip,ca-certificates,curl \
    bookworm "$root" "$mirror"
"${_as_root[@]}" chroot "$root" apt-get clean
# The build inside the image reaches PyPI through the same TLS path as this machine: trust what it trusts.
"${_as_root[@]}" cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
"${_as_root[@]}" rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
mkdir -p "$(dirname "$out")"
"${_as_root[@]}" tar -C "$root" -cf "$out.part" .
mv "$out.part" "$out"
echo "test base image tarball: $out ($(du -h "$out" | cut -f1))"
