"""Where drivers run: the coordinators that poll or listen and know each device's availability."""
