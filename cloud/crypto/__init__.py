"""Cryptography the cloud keeps at rest, built on pyca/cryptography primitives only."""
