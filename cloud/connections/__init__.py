"""Connections: an account's vendor accounts, authorized through OAuth 2 (RFC 6749)."""
