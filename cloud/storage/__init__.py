"""Cloud storage: SQLAlchemy Core tables, engines and Alembic migrations."""

from edgeward.cloud.storage.database import Database, normalize_url
from edgeward.cloud.storage.schema import api_tokens, gateways, metadata, readings

__all__ = ["Database", "api_tokens", "gateways", "metadata", "normalize_url", "readings"]
