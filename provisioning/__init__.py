"""Installer flows on the gateway: claim, identity keys, WireGuard, device enrollment."""
