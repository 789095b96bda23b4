"""gateway.toml: read and validated whole before anything starts, and written back.

:mod:`.loader` owns the file and its top-level tables; each device transport
has its own parser (:mod:`.modbus`, :mod:`.serial`, :mod:`.mqtt`, :mod:`.ble`),
the store-and-forward tables theirs (:mod:`.pipeline`); :mod:`.section` lets
every error name its key. :mod:`.toml_writer` writes what they read.
:mod:`.settings_state` reads which cloud settings version is in force.
"""
