"""Admission: only readings of registered, active sources get in, proven and decoded.

Owns the verified registry pull (:mod:`.registry_pull`), the policy that
decides each reading (:mod:`.policy`), the decoders built from data-source
types (:mod:`.decoders`), the gate between drivers and the outbox queue
(:mod:`.gate`) and what admission remembers across restarts (:mod:`.store`).
"""
