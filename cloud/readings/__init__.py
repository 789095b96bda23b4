"""Readings at the cloud: each gateway batch stored exactly once, and read back by applications."""
