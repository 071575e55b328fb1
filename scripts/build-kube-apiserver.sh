#!/usr/bin/env bash
# Build a real kube-apiserver for the Kubernetes provider tests from Debian bookworm's
# `kubernetes` source package (1.20.x), offline: the vendored modern-go/reflect2 is swapped for
# Debian's (the vendored one crashes with Go >= 1.18), GOPROXY=off, CGO_ENABLED=0.
# The binary is cached outside the repo; a second run is a no-op.
# Usage: scripts/build-kube-apiserver.sh [output-path]   (prints the binary's path)
# Env: HOMEPORT_KUBE_APISERVER_BIN overrides the output path.
set -euo pipefail

out="${1:-${HOMEPORT_KUBE_APISERVER_BIN:-/var/cache/homeport-test/kube-apiserver}}"
if [ -x "$out" ]; then
    echo "$out"
    exit 0
fi

_as_root=()
[ "$(id -u)" -eq 0 ] || _as_root=(sudo)

cache="$(dirname "$out")"
"${_as_root[@]}" mkdir -p "$cache"
[ -w "$cache" ] || "${_as_root[@]}" chown "$(id -u):$(id -g)" "$cache"
work="$cache/kube-apiserver-build"
mkdir -p "$work"

# One build at a time (parallel test workers share the cache); re-check once we hold the lock.
exec 9>"$cache/.kube-apiserver.lock"
flock 9
if [ -x "$out" ]; then
    echo "$out"
    exit 0
fi

# Build tools and the replacement reflect2 sources.
need=()
for pkg in golang-go golang-github-modern-go-reflect2-dev dpkg-dev make rsync; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
# Source index for bookworm (deb-src), added once.
src_list=/etc/apt/sources.list.d/homeport-deb-src.sources
updated=""
if [ ! -f "$src_list" ]; then
    "${_as_root[@]}" tee "$src_list" >/dev/null <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    "${_as_root[@]}" apt-get -o DPkg::Lock::Timeout=900 update >&2
    updated=1
fi
if [ "${#need[@]}" -gt 0 ]; then
    [ -n "$updated" ] || "${_as_root[@]}" apt-get -o DPkg::Lock::Timeout=900 update >&2
    "${_as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${need[@]}" >&2
fi

# Fetch and unpack the source package (kept in the cache: a failed build resumes here).
cd "$work"
if ! ls -d kubernetes-*/ >/dev/null 2>&1; then
    ls kubernetes_*.dsc >/dev/null 2>&1 || apt-get source --download-only kubernetes >&2
    dsc="$(ls kubernetes_*.dsc | head -1)"
    dpkg-source --no-check -x "$dsc" >&2
fi
srcdir="$(ls -d "$work"/kubernetes-*/ | head -1)"
srcdir="${srcdir%/}"
# Debian's version may read "1.20.5+really1.20.2": the source is the part after "really".
version="$(basename "$srcdir" | sed 's/^kubernetes-//; s/^.*really//; s/[+~-].*$//')"

# Swap the vendored reflect2 for Debian's (Go 1.18+ compatible).
reflect2_src=/usr/share/gocode/src/github.com/modern-go/reflect2
[ -d "$reflect2_src" ] || { echo "missing $reflect2_src (golang-github-modern-go-reflect2-dev)" >&2; exit 1; }
rsync -a --delete --exclude go.mod --exclude go.sum "$reflect2_src/" "$srcdir/vendor/github.com/modern-go/reflect2/" >&2

cd "$srcdir"
export GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 GO111MODULE=on
export GOCACHE="${GOCACHE:-$cache/gocache}"
export KUBE_GIT_VERSION="v${version}" KUBE_GIT_TREE_STATE=clean KUBE_GIT_COMMIT=debian-source
export KUBE_GIT_MAJOR="$(echo "$version" | cut -d. -f1)" KUBE_GIT_MINOR="$(echo "$version" | cut -d. -f2)"
make WHAT=cmd/kube-apiserver >&2
built="$srcdir/_output/local/bin/linux/$(go env GOARCH)/kube-apiserver"
[ -x "$built" ] || built="$(find "$srcdir/_output" -type f -name kube-apiserver | head -1)"
cp "$built" "$out.tmp.$$"
mv "$out.tmp.$$" "$out"
# The unpacked tree and its build output take ~1.8 GB; the downloaded source stays for a rebuild.
rm -rf "$srcdir"
echo "$out"
