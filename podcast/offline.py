"""Keep the process offline: environment switches and a socket audit hook.

The audit hook sees connections made from Python. Native code (a C library opening its
own socket) is not visible to it, which is why the environment switches are set too and
why the end-to-end test runs inside a network namespace with no network at all.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys
from typing import Any

from podcast.errors import PodcastError

# Set before faster-whisper, huggingface_hub or onnxruntime are imported anywhere.
OFFLINE_ENVIRONMENT = {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "ORT_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
}

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}

_installed = False


class NetworkBlockedError(PodcastError):
    """Raised when code in this process tries to reach the network."""


def is_loopback(host: object) -> bool:
    """True if *host* (name or address, str or bytes) can only mean this machine."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip().lower().rstrip(".")
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _address_allowed(family: int, address: Any) -> bool:
    if family == getattr(socket, "AF_UNIX", object()):
        return True
    if family == getattr(socket, "AF_NETLINK", object()):
        return True
    if isinstance(address, tuple) and address:
        return is_loopback(address[0])
    return False


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
        sock, address = args[0], args[-1]
        if not _address_allowed(getattr(sock, "family", -1), address):
            raise NetworkBlockedError(
                f"Network access blocked: a connection to {address!r} was attempted.",
                hint="This toolkit works offline only; no audio or text may leave the machine.",
            )
    elif event == "socket.getaddrinfo":
        host = args[0]
        if host is not None and not is_loopback(host):
            raise NetworkBlockedError(
                f"Network access blocked: a name lookup for {host!r} was attempted.",
                hint="This toolkit works offline only; no audio or text may leave the machine.",
            )


def enforce_offline() -> None:
    """Set the offline environment and install the socket audit hook (once per process)."""
    global _installed
    os.environ.update(OFFLINE_ENVIRONMENT)
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True


def is_enforced() -> bool:
    """Whether this process runs with the offline switches and the socket guard."""
    return _installed and all(os.environ.get(k) == v for k, v in OFFLINE_ENVIRONMENT.items())
