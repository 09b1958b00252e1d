#!/usr/bin/env bash
# The whole test suite: unit, CLI, fake-server and property tests of every crate, and,
# when run as root, the interop tests against a real Samba AD DC started in a network
# namespace by tests/lab/samba-dc-up.sh (left up afterwards; tests/lab/samba-dc-down.sh stops it).
#
# Environment: PORTQ_LAB=0 skips the lab even as root (it is then reported as not run);
# PORTQ_LAB=1 makes a lab that cannot start a failure.
set -euo pipefail
cd "$(dirname "$0")/.."

lab=${PORTQ_LAB:-auto}
if [ "$lab" != 0 ] && [ "$(id -u)" = 0 ] && [ -x tests/lab/samba-dc-up.sh ]; then
    if bash tests/lab/samba-dc-up.sh; then
        # shellcheck disable=SC1091
        . /tmp/sambadc/dc.env
        export PORTQ_LAB_DC="$SAMBA_DC_IP" PORTQ_LAB_REQUIRED=1
        export PORTQ_LAB_SMBCONF="$SAMBA_DC_CLIENT_SMBCONF"
        [ -n "${SAMBA_DC_NS:-}" ] && export PORTQ_LAB_NETNS="$SAMBA_DC_NS"
        echo "test.sh: Samba DC lab up at $PORTQ_LAB_DC; interop tests will run"
    elif [ "$lab" = 1 ]; then
        echo "test.sh: FAILED: the Samba DC lab could not start (PORTQ_LAB=1)" >&2
        exit 1
    else
        echo "test.sh: NOT RUN: the Samba DC lab could not start; interop tests skipped" >&2
    fi
elif [ "$lab" = 1 ]; then
    echo "test.sh: FAILED: the lab needs root and tests/lab/samba-dc-up.sh (PORTQ_LAB=1)" >&2
    exit 1
else
    echo "test.sh: NOT RUN: interop tests need root (the lab makes a network namespace)" >&2
fi

# Root can also make the namespace hosts of the full-range sweep tests; require them then.
if [ "$(id -u)" = 0 ] && [ "$lab" != 0 ]; then
    export PORTQ_NETNS_REQUIRED=1
fi

cargo test --workspace --all-targets --locked
# The wide-scan benchmark's result checker, on made-up outputs right and wrong (no network).
python3 scripts/bench-wide-verify.py selftest
# The library examples (the check pipeline's among them) are compiled as doctests.
cargo test --workspace --doc --locked
