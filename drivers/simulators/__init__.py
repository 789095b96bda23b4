"""Device simulators for the demo and the tests, shipped with Edgeward."""
