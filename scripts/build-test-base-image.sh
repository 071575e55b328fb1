#!/usr/bin/env bash
# The container-image tests build homeport's Dockerfile on a test dockerd, which cannot pull from a
# registry here. This makes the base they pass as BASE_IMAGE instead of python:3.11-slim-bookworm:
# a `debootstrap --variant=minbase bookworm` root with Debian's python3.11 (+ python3-venv, whose
# bundled pip wheel the Dockerfile's builder stage uses), packed as a tarball for `docker import`.
# It is made as slim as the official image's Debian part (debian:bookworm-slim's minimizing config:
# no docs, man pages, info or locales, and apt keeps no package caches, also for what the Dockerfile
# installs later), so image sizes measured on it are comparable. Cached outside the repo; idempotent
# (a no-op when the tarball exists). The image trusts this machine's CA bundle.
# Prints the tarball's path as its last line on stdout (everything else goes to stderr).
set -euo pipefail

# v2: slim (v1, bookworm-python3.11.tar, had pip, curl, docs and locales: 195 MB).
out="${HOMEPORT_TEST_CACHE:-/var/cache/homeport-test}/bookworm-slim-python3.11-v2.tar"
if [ -s "$out" ]; then
    echo "$out"
    exit 0
fi

_as_root=()
[ "$(id -u)" -eq 0 ] || _as_root=(sudo)
command -v debootstrap >/dev/null || "${_as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends debootstrap >&2

mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/\?$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
mirror=${mirror:-http://deb.debian.org/debian}
root=$(mktemp -d)
trap '"${_as_root[@]}" rm -rf "$root"' EXIT
"${_as_root[@]}" debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$mirror" >&2
# debian:bookworm-slim's minimizing config (debuerreotype): what dpkg and apt leave out from now on.
"${_as_root[@]}" tee "$root/etc/dpkg/dpkg.cfg.d/docker" >/dev/null <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
EOF
"${_as_root[@]}" tee "$root/etc/apt/apt.conf.d/docker-clean" >/dev/null <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
echo 'Acquire::Languages "none";' | "${_as_root[@]}" tee "$root/etc/apt/apt.conf.d/docker-no-languages" >/dev/null
# ... and what debootstrap already installed: the same paths removed once.
"${_as_root[@]}" find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
"${_as_root[@]}" find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
"${_as_root[@]}" rm -rf "$root"/usr/share/man/* "$root"/usr/share/groff/* "$root"/usr/share/info/* \
    "$root"/usr/share/lintian/* "$root"/usr/share/linda/* "$root"/usr/share/locale/*
"${_as_root[@]}" chroot "$root" apt-get clean
# The build inside the image reaches PyPI through the same TLS path as this machine: trust what it trusts.
"${_as_root[@]}" cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
"${_as_root[@]}" rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
    "$root"/var/log/*.log "$root"/var/log/apt/* "$root"/var/cache/ldconfig/aux-cache
mkdir -p "$(dirname "$out")"
"${_as_root[@]}" tar -C "$root" -cf "$out.part" .
mv "$out.part" "$out"
echo "test base image tarball: $out ($(du -h "$out" | cut -f1))" >&2
echo "$out"
