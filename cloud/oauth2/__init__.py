"""The OAuth 2 authorization server (authlib does the protocol work).

Modules are named after the RFC they implement:

- :mod:`.rfc6749`: the server, the bridge between FastAPI and authlib, token issue
- :mod:`.rfc6749_grants`: authorization code, client credentials, refresh (rotated)
- :mod:`.rfc7636`: PKCE, S256 only, required of public clients
- :mod:`.rfc7009`: token revocation
- :mod:`.rfc7662`: token introspection
- :mod:`.rfc8414`: server metadata
- :mod:`.clients`: client registration (per account), :mod:`.scopes`: scopes as grants,
  :mod:`.consent`: the consent page

Access tokens are rows of ``tokens`` like any other, so the one Authenticator
enforces them, granted per API and per HTTP verb.
"""
