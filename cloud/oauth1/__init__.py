"""OAuth 1.0a signed requests (RFC 5849) for applications: :mod:`.rfc5849` checks
signatures, timestamps and nonces; :mod:`.credentials` issues consumer/token pairs."""
