"""gateway.toml: read and validated whole before anything starts, and written back.

:mod:`.loader` owns the file and its top-level tables; each device transport
has its own parser (:mod:`.modbus`, :mod:`.serial`, :mod:`.mqtt`, :mod:`.ble`),
the store-and-forward tables theirs (:mod:`.pipeline`); :mod:`.section` lets
every error name its key. :mod:`.toml_writer` writes a new file whole (an
existing one is edited in place by :mod:`edgeward.provisioning.gateway_toml`).
:mod:`.settings_state` reads which cloud settings version is in force;
:mod:`.places` says where the parsed file binds each source, in the cloud's words.
"""
