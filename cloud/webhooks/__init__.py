"""Webhooks: security events pushed to an account's automated support, signed and retried."""
