"""What the running gateway tells the outside: status.json, Prometheus metrics, systemd.

It reads the runtime only through :mod:`.status`, the narrow interface the
runtime fills, never the runtime's internals. :mod:`.status_table` renders
``edgeward gateway status`` from status.json.
"""
