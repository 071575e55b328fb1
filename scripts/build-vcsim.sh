#!/usr/bin/env bash
# Build the vcsim test launcher (tests/backends/vcsim-launcher/main.go) against Debian's
# govmomi sources in GOPATH mode, offline. The binary is cached: it is rebuilt only
# when main.go is newer than it. Usage: scripts/build-vcsim.sh [output-path]
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-${HOMEPORT_VCSIM_BIN:-$here/.tools/vcsim/vcsim}}"
src="$here/tests/backends/vcsim-launcher/main.go"

if [ -x "$out" ] && [ "$out" -nt "$src" ]; then
    echo "$out"
    exit 0
fi
command -v go >/dev/null || { echo "go not found: run scripts/install-test-deps.sh (golang-go)" >&2; exit 1; }
[ -d /usr/share/gocode/src/github.com/vmware/govmomi/simulator ] || {
    echo "govmomi sources missing: run scripts/install-test-deps.sh (golang-github-vmware-govmomi-dev)" >&2; exit 1; }

cache="$(dirname "$out")"
mkdir -p "$cache"
# One build at a time (parallel test workers share the cache); re-check once we hold the lock.
exec 9>"$cache/.build.lock"
flock 9
if [ -x "$out" ] && [ "$out" -nt "$src" ]; then
    echo "$out"
    exit 0
fi
gopath="$cache/gopath"
pkg="homeport.test/vcsim"
mkdir -p "$gopath/src/$pkg"
cp "$src" "$gopath/src/$pkg/main.go"
GO111MODULE=off GOFLAGS= GOPATH="$gopath:/usr/share/gocode" GOPROXY=off \
    GOCACHE="${GOCACHE:-$cache/gocache}" \
    go build -o "$out.tmp.$$" "$pkg"
mv "$out.tmp.$$" "$out"
echo "$out"
