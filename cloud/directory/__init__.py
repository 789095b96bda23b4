"""Enterprise directory (LDAP) sign-in: per-account settings, the bind, the grants.

- :mod:`.settings`: what an account configures (server, TLS, bind method,
  groups and their mapping to roles or grants), validated before it is kept.
- :mod:`.ldap`: the LDAP work itself (RFC 4511 operations, RFC 4513 binds and
  StartTLS, RFC 4515 filters and RFC 4514 DNs with user input escaped).
- :mod:`.gate`: a bounded number of directory connections per account.
- :mod:`.store`: the settings in storage (service password sealed), and what
  changing or removing them does to directory users.
- :mod:`.signin`: a sign-in from user name and password to an expiring token.
- :mod:`.sync`: every directory user looked up now; the gone lose their tokens.
"""
