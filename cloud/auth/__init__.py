"""Authentication of callers and authorization per API and HTTP verb."""
