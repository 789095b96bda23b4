"""Security events at the cloud: reports discarded, counted per source, reason and window."""
