"""The proxy: an application's call forwarded to a third party, keychain values substituted."""
