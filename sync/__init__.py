"""The wire contract between gateway and cloud, and the gateway's one client to the cloud.

This package is the only thing the gateway and the cloud share: the batch
format (:mod:`edgeward.sync.batch`), the signed documents, the events and
the other formats both sides read, and the client through which the gateway
makes every call to the cloud (:mod:`edgeward.sync.client`). It imports
neither side.
"""

from edgeward.sync.batch import (
    BATCH_FORMAT,
    BATCH_VERSION,
    MAX_READINGS_PER_BATCH,
    Batch,
    BatchAck,
    WireReading,
    decode_ack,
    decode_batch,
    encode_ack,
    encode_batch,
)
from edgeward.sync.errors import (
    BatchFormatError,
    CloudCallError,
    CloudRejected,
    CloudUnavailable,
    SyncError,
)

__all__ = [
    "BATCH_FORMAT",
    "BATCH_VERSION",
    "MAX_READINGS_PER_BATCH",
    "Batch",
    "BatchAck",
    "BatchFormatError",
    "CloudCallError",
    "CloudRejected",
    "CloudUnavailable",
    "SyncError",
    "WireReading",
    "decode_ack",
    "decode_batch",
    "encode_ack",
    "encode_batch",
]
