"""The keychain: per-account named secrets that applications reference as ``[~name]``."""
