"""``edgeward demo``: the whole path on one machine, and the simulated site it runs."""
