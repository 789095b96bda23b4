#!/bin/sh
# Installs the Debian packages whose programs the tests start as real peers,
# only those missing. Package scripts are kept from starting system-wide
# daemons (slapd, mosquitto): every test starts its own on a free port.
#
# With "demo", only the demo's (its serial and MQTT sensors, its WireGuard
# tunnel), and never an error: the demo runs without them, saying what it left out.
set -eu

for_demo=""
if [ "${1:-}" = "demo" ]; then for_demo=yes; fi

missing=""
need() {  # need <program> <package>
    if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$1" ] && [ ! -x "/sbin/$1" ]; then
        missing="$missing $2"
    fi
}
need mosquitto mosquitto
need socat socat
need wg wireguard-tools
need wireguard-go wireguard-go
need ip iproute2
if [ -z "$for_demo" ]; then
    need dbus-daemon dbus-daemon
    need slapd slapd
    need ldapadd ldap-utils
    need mmdebstrap mmdebstrap  # builds the gateway image (tests/image)
    need systemd-nspawn systemd-container  # boots it (tests/image/test_boot.py)
fi

if [ -z "$missing" ]; then
    echo "peers: every Debian package needed is installed"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    if [ -n "$for_demo" ]; then
        echo "peers: not root; the demo leaves out what needs:$missing"
        exit 0
    fi
    echo "peers: not root; run: sudo apt-get install$missing" >&2
    exit 1
fi
echo "peers: installing$missing"

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
