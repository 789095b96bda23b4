"""Cloud storage: SQLAlchemy Core tables, engines and Alembic migrations."""

from edgeward.cloud.storage.database import Database, normalize_url
from edgeward.cloud.storage.schema import metadata

__all__ = ["Database", "metadata", "normalize_url"]
