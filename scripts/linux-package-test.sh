#!/usr/bin/env bash
# The Linux artefacts as a user meets them (root; run after scripts/release.sh linux):
#
#  1. the .deb installs with dpkg; the installed portq answers `lookup 445`; `man -w portq`
#     finds its page; the packaged exporter config loads; a changed /etc/portq/exporter.yml
#     survives installing the package again; systemd-analyze verifies the unit and rates
#     its exposure (offline: no systemd is running here); purging leaves nothing in
#     /usr/bin, /etc/portq, /etc/default or the unit directory;
#  2. the static binary of the tarball runs with an empty /etc (a tmpfs over /etc in a
#     mount namespace of its own): `lookup 445`, and a check of a listener in a network
#     namespace this script makes (10.201.250.0/24; nothing else is contacted).
#
# Exit: 0 all passed, 1 a check failed, 2 setup error.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "linux-package-test: needs root (dpkg, namespaces)" >&2; exit 2; }
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
dist=$PWD/target/dist
deb=$dist/portq_${version}-1_amd64.deb
tarball=$dist/portq-$version-linux-x86_64.tar.gz
for f in "$deb" "$tarball"; do
    [ -f "$f" ] || { echo "linux-package-test: $f is missing (scripts/release.sh linux)" >&2; exit 2; }
done
fail() { echo "linux-package-test: FAILED: $*" >&2; exit 1; }
ok() { echo "linux-package-test: ok: $*"; }

# Nothing of a portq already on this machine is touched: a package, or files the
# package would take over (and its purge then remove).
if dpkg -s portq >/dev/null 2>&1; then
    echo "linux-package-test: a portq package is already installed; refusing to touch it" >&2
    exit 2
fi
for p in /usr/bin/portq /etc/portq /etc/default/portq-exporter /lib/systemd/system/portq-exporter.service; do
    if [ -e "$p" ]; then
        echo "linux-package-test: $p exists (a portq not from this package?); refusing to touch it" >&2
        exit 2
    fi
done

# 1. The Debian package.
trap 'dpkg --purge portq >/dev/null 2>&1 || true' EXIT
dpkg -i "$deb" >/dev/null
/usr/bin/portq lookup 445 | grep -q 'SMB' || fail "the installed portq does not answer lookup 445"
ok "installed: /usr/bin/portq lookup 445 answers"
/usr/bin/portq version | grep -q "^portq $version" || fail "portq version"
page=$(man -w portq) || fail "man -w portq finds nothing"
ok "man -w portq: $page"
man -w portq-check >/dev/null || fail "man -w portq-check finds nothing"
[ -s /usr/share/bash-completion/completions/portq ] || fail "no bash completion"
# The packaged exporter config loads (the exporter starts with it and says where it is).
log=$(mktemp)
/usr/bin/portq exporter --config /etc/portq/exporter.yml --listen 127.0.0.1:0 2>"$log" &
pid=$!
for _ in $(seq 1 50); do grep -q 'exporter at' "$log" && break; sleep 0.1; done
kill "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
grep -q 'exporter at' "$log" || { cat "$log" >&2; fail "the exporter does not start with /etc/portq/exporter.yml"; }
rm -f "$log"
ok "the exporter starts with the packaged /etc/portq/exporter.yml"
# A conffile the administrator changed is kept when the package is installed again.
echo "# changed by the administrator" >> /etc/portq/exporter.yml
dpkg -i --force-confold "$deb" >/dev/null
grep -q '^# changed by the administrator' /etc/portq/exporter.yml || fail "the changed conffile was replaced"
ok "a changed /etc/portq/exporter.yml survives a reinstall"
unit=/lib/systemd/system/portq-exporter.service
out=$(systemd-analyze verify "$unit" 2>&1) || { echo "$out" >&2; fail "systemd-analyze verify $unit"; }
ok "systemd-analyze verify: ${out:-no complaint}"
exposure=$(systemd-analyze security --offline=true "$unit" 2>&1 | tail -1) || true
echo "linux-package-test: systemd-analyze security --offline=true: ${exposure:-(nothing reported)}"
case "$exposure" in
    *"exposure level"*) ;;
    *) fail "systemd-analyze security rated nothing" ;;
esac
dpkg --purge portq >/dev/null
trap - EXIT
for p in /usr/bin/portq /etc/portq /etc/default/portq-exporter "$unit" \
    /usr/share/man/man1/portq.1.gz /usr/share/bash-completion/completions/portq /usr/share/doc/portq; do
    [ ! -e "$p" ] || fail "$p is left after dpkg --purge"
done
ok "dpkg --purge leaves nothing behind"

# 2. The static binary, with an empty /etc.
scratch=$(mktemp -d)
ns=pqst$(( $$ % 100000 ))
cleanup() {
    [ -n "${listener:-}" ] && kill "$listener" 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    ip link del "${ns}h" 2>/dev/null || true
    rm -rf "$scratch"
}
trap cleanup EXIT
tar -C "$scratch" -xzf "$tarball"
bin=$scratch/portq-$version-linux-x86_64/portq
ip netns add "$ns"
ip link add "${ns}h" type veth peer name "${ns}n" netns "$ns"
ip addr add 10.201.250.1/24 dev "${ns}h"
ip link set "${ns}h" up
ip -n "$ns" addr add 10.201.250.2/24 dev "${ns}n"
ip -n "$ns" link set "${ns}n" up
ip -n "$ns" link set lo up
ip netns exec "$ns" python3 -c '
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.201.250.2", 8389)); s.listen(16)
s.settimeout(0.5)
end = time.time() + 120
while time.time() < end:
    try:
        c, _ = s.accept(); c.close()
    except OSError:
        pass
' &
listener=$!
for _ in $(seq 1 50); do ip netns exec "$ns" ss -Hlnt 'sport = :8389' | grep -q 8389 && break; sleep 0.1; done
out=$(unshare -m sh -c "mount -t tmpfs tmpfs /etc && [ -z \"\$(ls -A /etc)\" ] && '$bin' lookup 445 && '$bin' check 10.201.250.2 -p tcp:8389 --format csv") \
    || { echo "$out" >&2; fail "the static binary with an empty /etc"; }
echo "$out" | grep -q 'SMB' || fail "the static binary with an empty /etc does not answer lookup 445"
echo "$out" | grep -q '8389,tcp,LISTENING' || { echo "$out" >&2; fail "the static binary's check with an empty /etc"; }
ok "the static binary answers lookup 445 and checks 10.201.250.2:8389 (LISTENING) with an empty /etc"
