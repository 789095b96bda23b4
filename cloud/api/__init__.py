"""The HTTP API: one module per route family, one authorization dependency."""

from edgeward.cloud.api.app import create_app

__all__ = ["create_app"]
