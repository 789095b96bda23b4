"""Outbound HTTP from the cloud (webhooks, proxy): the one SSRF guard every request passes."""
