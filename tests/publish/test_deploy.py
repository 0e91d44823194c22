"""Deploy with real parts: Debian's OpenSSH server started by the test on 127.0.0.1 (its own
host key, an authorized key, a random port, no root login, no password), the system rsync,
and a real HTTP server on 127.0.0.1 serving what was deployed, read back by feed parsers.

Starting sshd and creating its unprivileged login need root, as CI has.
"""

from __future__ import annotations

import functools
import http.server
import io
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import feedparser
import podcastparser
import pytest
from typer.testing import CliRunner

from consent import decisions, participants
from podcast.cli import app
from podcast.workspace import Workspace
from publish import deploy, episodes

USER = "podcast-deploy-test"
pytestmark = [
    pytest.mark.enable_socket,
    pytest.mark.allow_hosts(["127.0.0.1"]),
    pytest.mark.skipif(
        os.geteuid() != 0, reason="starting sshd and its test login need root (CI runs as root)"
    ),
    pytest.mark.skipif(
        shutil.which("rsync") is None or not Path("/usr/sbin/sshd").exists(),
        reason="make test installs openssh-server and rsync",
    ),
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Host:
    root: Path
    www: Path
    port: int
    key: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def target(self) -> str:
        return f"ssh://{USER}@127.0.0.1:{self.port}{self.www}"

    def start(self, host_key: Path) -> None:
        config = self.root / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {self.root}/sshd.pid\n"
            f"AuthorizedKeysFile {self.root}/authorized_keys\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nPermitRootLogin no\nStrictModes no\nUsePAM no\n"
            f"AllowUsers {USER}\n"
        )
        Path("/run/sshd").mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)], stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("sshd did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def _keygen(path: Path) -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.fixture
def host() -> Iterator[Host]:
    try:
        pwd.getpwnam(USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/bin/sh", USER], check=True)
    # Not locked (sshd without PAM refuses a locked account), yet no password can log in.
    subprocess.run(["usermod", "--password", "*", USER], check=True)
    # Outside pytest's 0700 temporary folders, so that the login can reach its folder.
    root = Path(tempfile.mkdtemp(prefix="podcast-host-"))
    root.chmod(0o755)
    www = root / "www"
    www.mkdir()
    shutil.chown(www, USER, USER)
    client = _keygen(root / "client")
    (root / "authorized_keys").write_text((root / "client.pub").read_text())
    server = Host(root, www, _free_port(), client)
    server.start(_keygen(root / "host_key"))
    try:
        yield server
    finally:
        server.stop()
        subprocess.run(["umount", "-l", str(www)], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def web(host: Host) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the host's folder: what listeners would fetch."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(host.www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def run(runner: CliRunner, ws: Workspace, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["-w", str(ws.root), *args])


def _fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def _served_feed_is_whole(base: str) -> feedparser.FeedParserDict:
    """The feed as a listener's app gets it, every file it names fetched with its exact length."""
    status, data = _fetch(base + "feed.xml")
    assert status == 200
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.bozo_exception
    assert podcastparser.parse(base + "feed.xml", io.BytesIO(data))["episodes"] is not None
    for entry in parsed.entries:
        for enclosure in entry.enclosures:
            code, body = _fetch(enclosure.href)
            assert code == 200 and len(body) == int(enclosure.length), enclosure.href
        for link in ("podcast_chapters",):
            if link in entry:
                assert _fetch(entry[link]["url"])[0] == 200
    for url in [
        u for u in data.decode().split('"') if u.startswith(base) and u.endswith((".vtt", ".srt", ".json"))
    ]:
        assert _fetch(url)[0] == 200, url
    return parsed


@pytest.fixture
def deployed(runner: CliRunner, ws: Workspace, cleared: list[int], host: Host, web: str) -> str:
    episodes.create(ws, "Arrivals", cleared)
    setup = run(
        runner, ws, "publish", "setup", "--base-url", web, "--target", host.target, "--key", str(host.key)
    )
    assert setup.exit_code == 0, setup.output
    published = run(runner, ws, "publish", "--deploy")
    assert published.exit_code == 0, published.output
    return web


def test_deploy_then_a_withdrawal_reaches_the_listeners(
    runner: CliRunner, ws: Workspace, cleared: list[int], host: Host, deployed: str
) -> None:
    before = _served_feed_is_whole(deployed)
    (entry,) = before.entries
    old_audio = entry.enclosures[0].href
    assert "Live at" in run(runner, ws, "status").output
    decisions.withdraw(ws, participants.get(ws, "Amara"), extract_id=cleared[1])
    warned = run(runner, ws, "status").output
    assert "live feed still carries extract(s) 2" in warned and "podcast publish" in warned
    assert run(runner, ws, "publish").exit_code == 0  # the public address was kept by setup
    assert "run 'podcast deploy' now" in run(runner, ws, "status").output
    result = run(runner, ws, "deploy")
    assert result.exit_code == 0, result.output
    assert "removed ep-" in result.output
    after = _served_feed_is_whole(deployed)
    assert [e.id for e in after.entries] == [entry.id], "same guid"
    assert after.entries[0].enclosures[0].href != old_audio
    assert _fetch(old_audio)[0] == 404, "the withdrawn audio is gone from the server"
    assert "no longer cleared" not in run(runner, ws, "status").output


@pytest.mark.parametrize("cut", ["media", "feed", "audio-deletions"])
def test_a_deploy_cut_anywhere_leaves_a_valid_feed_and_the_next_completes(
    runner: CliRunner, ws: Workspace, cleared: list[int], host: Host, deployed: str, cut: str
) -> None:
    old_audio = _served_feed_is_whole(deployed).entries[0].enclosures[0].href
    decisions.withdraw(ws, participants.get(ws, "Amara"), extract_id=cleared[1])
    assert run(runner, ws, "publish").exit_code == 0
    with pytest.raises(deploy.DeployError):
        deploy.deploy(ws, stop_after=cut)
    _served_feed_is_whole(deployed)  # valid at that point, every file it names is there
    assert run(runner, ws, "deploy").exit_code == 0
    _served_feed_is_whole(deployed)
    assert _fetch(old_audio)[0] == 404


def test_a_wrong_key_an_unreachable_host_or_a_changed_host_key_delete_nothing(
    runner: CliRunner, ws: Workspace, cleared: list[int], host: Host, deployed: str
) -> None:
    live = sorted(p.name for p in host.www.iterdir())
    decisions.withdraw(ws, participants.get(ws, "Amara"), extract_id=cleared[1])
    assert run(runner, ws, "publish").exit_code == 0
    show = ws.settings()
    other = _keygen(host.root / "stranger")
    ws.settings_path.write_text(ws.settings_path.read_text().replace(str(host.key), str(other)))
    wrong_key = run(runner, ws, "deploy")
    assert (
        wrong_key.exit_code == 1 and "refused the SSH key" in wrong_key.output and "Hint:" in wrong_key.output
    )
    ws.settings_path.write_text(
        ws.settings_path.read_text().replace(str(other), str(host.key)).replace(f":{host.port}/", ":9/")
    )
    unreachable = run(runner, ws, "deploy")
    assert unreachable.exit_code == 1 and "cannot reach" in unreachable.output
    ws.settings_path.write_text(ws.settings_path.read_text().replace(":9/", f":{host.port}/"))
    host.stop()
    host.start(_keygen(host.root / "new_host_key"))
    changed = run(runner, ws, "deploy")
    assert changed.exit_code == 1 and "host key changed" in changed.output
    assert sorted(p.name for p in host.www.iterdir()) == live, "nothing was deleted or sent"
    assert ws.settings().deploy_target == show.deploy_target


def test_a_full_remote_disk_says_so_and_keeps_the_live_feed(
    runner: CliRunner, ws: Workspace, cleared: list[int], host: Host, web: str
) -> None:
    episodes.create(ws, "Arrivals", cleared)
    setup = ["publish", "setup", "--base-url", web, "--target", host.target, "--key", str(host.key)]
    assert run(runner, ws, *setup).exit_code == 0
    assert run(runner, ws, "publish").exit_code == 0
    # A host disk with room for half of what is to be sent.
    half_kib = sum(p.stat().st_size for p in ws.publish_dir.iterdir()) // 2048
    uid = pwd.getpwnam(USER).pw_uid
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={half_kib}k,uid={uid},mode=755", "tmpfs", str(host.www)],
        check=True,
    )
    result = run(runner, ws, "deploy")
    assert result.exit_code == 1 and "Hint:" in result.output
    assert "disk is full" in result.output or "is its disk full?" in result.output
    assert not (host.www / "feed.xml").exists(), "the feed is never sent before every file it names"
    assert not (ws.root / "deploy-manifest.json").exists()


def test_deploy_refuses_a_folder_that_fails_its_check(
    runner: CliRunner, ws: Workspace, cleared: list[int], host: Host, deployed: str
) -> None:
    (ws.publish_dir / "extra.mp3").write_bytes(b"not what was published")
    result = run(runner, ws, "deploy")
    assert result.exit_code == 1 and "fails its check" in result.output
    assert not (host.www / "extra.mp3").exists()
