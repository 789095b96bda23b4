"""The wire contract between gateway and cloud, and the gateway's uplink client.

This package is the only thing the gateway and the cloud share: the batch
format (:mod:`edgeward.sync.batch`) and the client that sends batches
(:mod:`edgeward.sync.client`). It imports neither side.
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
    SyncError,
    UplinkError,
    UplinkRejected,
    UplinkUnavailable,
)

__all__ = [
    "BATCH_FORMAT",
    "BATCH_VERSION",
    "MAX_READINGS_PER_BATCH",
    "Batch",
    "BatchAck",
    "BatchFormatError",
    "SyncError",
    "UplinkError",
    "UplinkRejected",
    "UplinkUnavailable",
    "WireReading",
    "decode_ack",
    "decode_batch",
    "encode_ack",
    "encode_batch",
]
