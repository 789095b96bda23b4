"""Running Edgeward's own programs on one machine, for the demo, the tests and the benchmarks.

Child processes that are never left behind (:mod:`.processes`), the real
cloud served locally (:mod:`.local_cloud`) and two hosts joined by a
WireGuard tunnel in network namespaces (:mod:`.network_namespaces`).
"""
