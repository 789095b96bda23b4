"""The running gateway: the pipeline built from config, supervised, restarted on new settings.

:mod:`.pipeline` assembles and stops the pipeline in order, :mod:`.supervisor`
restarts a crashed task with backoff, :mod:`.remote_settings` pulls the
cloud's signed settings and :mod:`.service` restarts the pipeline in-process
when they change; it also owns each runtime's one client to the cloud
(:class:`~edgeward.sync.client.CloudClient`).
"""
