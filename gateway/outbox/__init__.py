"""Store and forward: readings sealed and durable on disk until the cloud acknowledged them.

:mod:`.writer` commits queued readings in groups into :mod:`.store` (SQLite,
sealed with the data keys of :mod:`.data_keys`); :mod:`.uplink` sends them in
batches and marks what the cloud acknowledged. :mod:`.database_file` and
:mod:`.migrate` open, repair and upgrade the file.
"""
