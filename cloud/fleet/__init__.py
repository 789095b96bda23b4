"""The account's gateways: their credentials, the events they report and their remote settings."""
