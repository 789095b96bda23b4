#!/bin/sh
# Installs the Debian packages whose programs the tests start as real peers,
# only those missing. Package scripts are kept from starting system-wide
# daemons (slapd, mosquitto): every test starts its own on a free port.
set -eu

missing=""
need() {  # need <program> <package>
    if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$1" ] && [ ! -x "/sbin/$1" ]; then
        missing="$missing $2"
    fi
}
need mosquitto mosquitto
need socat socat
need dbus-daemon dbus-daemon
need wg wireguard-tools
need wireguard-go wireguard-go
need slapd slapd
need ldapadd ldap-utils
need ip iproute2
need mmdebstrap mmdebstrap  # builds the gateway image (tests/image)
need systemd-nspawn systemd-container  # boots it (tests/image/test_boot.py)

if [ -z "$missing" ]; then
    echo "peers: every Debian package the tests need is installed"
    exit 0
fi
echo "peers: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "peers: not root; run: sudo apt-get install$missing" >&2
    exit 1
fi

policy=/usr/sbin/policy-rc.d
made_policy=""
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod +x "$policy"
    made_policy=yes
fi
cleanup() {
    if [ -n "$made_policy" ]; then rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -qq --no-install-recommends $missing
