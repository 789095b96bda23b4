"""The Edgeward cloud API service.

FastAPI over SQLAlchemy Core. It speaks to gateways only through the wire
contract in :mod:`edgeward.sync` and never imports the gateway.
"""
