"""The edge runtime: config, admission, the durable outbox and its uplink, devices, health.

A room per concern (see each subpackage's docstring); the gateway imports
only drivers and sync, never the cloud.
"""
