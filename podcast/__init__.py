"""Podcast workshop toolkit: record, transcribe, consent, anonymise, publish — offline.

Importing this package first makes the process offline by construction: model hubs are
told not to connect, onnxruntime's telemetry is switched off before it can be imported
(onnxruntime >= 1.29 otherwise sends DNS lookups), and an audit hook refuses every socket
connection that is not loopback or a Unix socket. It also caps glibc's malloc arenas (see
podcast.memory), before any thread starts.
"""

from podcast.memory import limit_arenas
from podcast.offline import enforce_offline

__version__ = "0.1.0"

enforce_offline()
limit_arenas()
