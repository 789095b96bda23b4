"""The BLE peers: a BlueZ stand-in on a private dbus-daemon, driving a bumble
central, and bumble GATT peripherals on the same in-memory link. Unmodified
bleak reaches them through ``DBUS_SYSTEM_BUS_ADDRESS``; see :mod:`.world`."""
