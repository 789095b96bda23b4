"""Data-source types and data sources: which sources an account lets in, and how they prove it."""
