#!/bin/sh
# Runs inside the rootfs (chroot) during `make image`: install Edgeward VERSION
# from /tmp/wheelhouse, create its user, set modes, enable the units.
set -eu
version=$1

# The gateway role only: edgeward without extras, as the wheelhouse holds.
# The same code path as every later update: a venv at /opt/edgeward/$version,
# `current` switched to it, `edgeward --version` checked (not provisioned yet,
# so no service restart).
/usr/bin/python3 /usr/local/sbin/edgeward-update install --version "$version" /tmp/wheelhouse
ln -sfn /opt/edgeward/current/bin/edgeward /usr/local/bin/edgeward

systemd-sysusers
systemd-tmpfiles --create edgeward.conf
chmod 0755 /usr/local/sbin/edgeward-firstboot /usr/local/sbin/edgeward-update

# Empty until the installer adds device users: nobody gets in, anonymous or not.
install -m 0640 -o mosquitto -g mosquitto /dev/null /etc/mosquitto/edgeward.passwd

systemctl enable edgeward-gateway.service edgeward-firstboot.service \
    edgeward-tunnel.service systemd-networkd.service systemd-networkd-wait-online.service \
    systemd-timesyncd.service systemd-time-wait-sync.service mosquitto.service \
    bluetooth.service
# No stale identity in an image: each box makes its own at first boot.
: >/etc/machine-id
rm -f /var/lib/dbus/machine-id
