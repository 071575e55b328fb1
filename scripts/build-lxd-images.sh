#!/usr/bin/env bash
# Offline LXD test images for tests/providers/lxd (no image server is reachable from CI or here):
#   busybox.tar.gz  a busybox-static root filesystem (starts in ~0.2 s; bench and lifecycle tests)
#   debian.tar.gz   Debian bookworm from `debootstrap --variant=minbase` with sshd, python3 and iproute2,
#                   so the Ansible configure step runs over SSH against a real container
# Both are LXD "unified" tarballs (metadata.yaml + rootfs/), imported with `lxc image import`.
# Their init is a small script (no systemd): it applies the instance's cloud-init.network-config
# addresses (read from /dev/lxd), starts sshd (debian) and waits for LXD's stop signal.
# Built once into HOMEPORT_LXD_IMAGES (default /var/cache/homeport-test/lxd-images); a no-op when present.
set -euo pipefail

OUT="${HOMEPORT_LXD_IMAGES:-/var/cache/homeport-test/lxd-images}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
VERSION=3  # bump when the images' contents change, so cached copies are rebuilt

[ "$(id -u)" -eq 0 ] || { echo "build-lxd-images.sh must run as root (debootstrap, file ownership)" >&2; exit 1; }
mkdir -p "$OUT"
work="$(mktemp -d "${TMPDIR:-/tmp}/hp-lxd-images.XXXXXX")"
trap 'rm -rf "$work"' EXIT

metadata() {  # $1 = os, $2 = release, $3 = description
    cat <<EOF
architecture: x86_64
creation_date: $(date +%s)
properties:
  os: $1
  release: "$2"
  description: "$3"
  homeport.test-image-version: "$VERSION"
templates: {}
EOF
}

fresh() {  # is $OUT/$1 built at this VERSION?
    [ -f "$OUT/$1" ] && [ "$(cat "$OUT/$1.version" 2>/dev/null)" = "$VERSION" ]
}

if ! fresh busybox.tar.gz; then
    root="$work/busybox/rootfs"
    mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,root,run,var/log}
    cp /bin/busybox "$root/bin/busybox"
    for applet in $("$root/bin/busybox" --list); do
        [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
    done
    printf 'root:x:0:0:root:/root:/bin/sh\n' > "$root/etc/passwd"
    printf 'root:x:0:\n' > "$root/etc/group"
    cat > "$root/sbin/init" <<'EOF'
#!/bin/sh
# homeport test image init: LXD stops an instance with SIGPWR (clean) or SIGKILL (forced).
trap 'exit 0' PWR TERM INT
while :; do sleep 3600 & wait $!; done
EOF
    chmod 0755 "$root/sbin/init"
    metadata busybox 1.35 "homeport test image: busybox-static" > "$work/busybox/metadata.yaml"
    tar -C "$work/busybox" --numeric-owner -czf "$OUT/busybox.tar.gz.part" metadata.yaml rootfs
    mv "$OUT/busybox.tar.gz.part" "$OUT/busybox.tar.gz"
    echo "$VERSION" > "$OUT/busybox.tar.gz.version"
    echo "built $OUT/busybox.tar.gz"
fi

if ! fresh debian.tar.gz; then
    command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 1; }
    root="$work/debian/rootfs"
    mkdir -p "$work/debian"
    debootstrap --variant=minbase --include=openssh-server,python3,python3-yaml,iproute2 \
        "$SUITE" "$root" "$MIRROR" > "$work/debootstrap.log" 2>&1 || { tail -30 "$work/debootstrap.log" >&2; exit 1; }
    # Every container makes its own host keys at first boot; the image ships none.
    rm -f "$root"/etc/ssh/ssh_host_*
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    mkdir -p "$root/run/sshd" "$root/root/.ssh"
    chmod 0700 "$root/root/.ssh"
    cat > "$root/usr/local/sbin/homeport-net" <<'EOF'
#!/usr/bin/python3
"""Apply the instance's cloud-init.network-config (version 2) addresses and routes, read from /dev/lxd."""
import http.client, socket, subprocess, yaml

class DevLxd(http.client.HTTPConnection):
    def __init__(self):
        super().__init__("lxd")
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect("/dev/lxd/sock")

def key(name):
    conn = DevLxd()
    conn.request("GET", "/1.0/config/" + name)
    answer = conn.getresponse()
    body = answer.read().decode()
    return body if answer.status == 200 else ""

text = key("cloud-init.network-config") or key("user.network-config")
config = yaml.safe_load(text) if text else {}
config = config.get("network", config) if isinstance(config, dict) else {}
subprocess.run(["ip", "link", "set", "lo", "up"], check=False)
for dev, spec in (config.get("ethernets") or {}).items():
    subprocess.run(["ip", "link", "set", dev, "up"], check=False)
    for address in spec.get("addresses") or []:
        subprocess.run(["ip", "addr", "add", str(address), "dev", dev], check=False)
    for route in spec.get("routes") or []:
        subprocess.run(["ip", "route", "add", str(route.get("to", "default")), "via", str(route["via"])], check=False)
EOF
    chmod 0755 "$root/usr/local/sbin/homeport-net"
    cat > "$root/sbin/init" <<'EOF'
#!/bin/sh
# homeport test image init (no systemd): network from the instance config, sshd, then wait for LXD's stop signal.
PATH=/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mkdir -p /run/sshd
ssh-keygen -A >/dev/null 2>&1
/usr/local/sbin/homeport-net > /var/log/homeport-net.log 2>&1
/usr/sbin/sshd -E /var/log/sshd.log
trap 'kill $(cat /run/sshd.pid 2>/dev/null) 2>/dev/null; exit 0' PWR TERM INT
while :; do sleep 3600 & wait $!; done
EOF
    chmod 0755 "$root/sbin/init"
    metadata debian 12 "homeport test image: Debian bookworm minbase with sshd and python3" > "$work/debian/metadata.yaml"
    tar -C "$work/debian" --numeric-owner -czf "$OUT/debian.tar.gz.part" metadata.yaml rootfs
    mv "$OUT/debian.tar.gz.part" "$OUT/debian.tar.gz"
    echo "$VERSION" > "$OUT/debian.tar.gz.version"
    echo "built $OUT/debian.tar.gz"
fi
