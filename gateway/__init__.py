"""The edge runtime: config, decoding, the durable outbox, uplink and supervision."""
