"""The process is offline by construction."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

import podcast  # noqa: F401 - importing it is what installs the guards
from podcast.offline import NetworkBlockedError, is_loopback


def test_environment_switches_are_set_on_import() -> None:
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["ORT_DISABLE_TELEMETRY"] == "1"


def test_switches_are_set_before_any_heavy_import_in_a_fresh_process() -> None:
    code = (
        "import sys, podcast, os;"
        "assert 'onnxruntime' not in sys.modules and 'faster_whisper' not in sys.modules;"
        "print(os.environ['ORT_DISABLE_TELEMETRY'], os.environ['HF_HUB_OFFLINE'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["1", "1"]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("10.0.0.1", False),
        ("192.168.1.1", False),
        ("example.org", False),
        ("8.8.8.8", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


@pytest.mark.enable_socket
def test_audit_hook_refuses_a_remote_connection_before_any_packet() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(NetworkBlockedError):
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: never routed
    finally:
        sock.close()


@pytest.mark.enable_socket
def test_audit_hook_refuses_name_lookups_of_remote_hosts() -> None:
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("example.org", 443)


@pytest.mark.enable_socket
def test_audit_hook_refuses_udp_datagrams_to_remote_hosts() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        with pytest.raises(NetworkBlockedError):
            sock.sendto(b"x", ("192.0.2.1", 53))
    finally:
        sock.close()


@pytest.mark.enable_socket
def test_loopback_connections_still_work() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        client.connect(server.getsockname())
        peer, _ = server.accept()
        peer.close()
    finally:
        client.close()
        server.close()
