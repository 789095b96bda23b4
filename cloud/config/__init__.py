"""The cloud's own settings: where it keeps its state, its pepper, its deployment switches.

Apart from :mod:`edgeward.cloud.service` (which starts the cloud from them) because
the API is built from them too.
"""
