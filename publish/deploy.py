"""Deploy: send the audited publish folder to the show's host with rsync (over SSH, or to a
folder such as a mounted share or a USB disk), in an order that never leaves the live feed
pointing at a missing file.

1. new and changed audio, transcripts, chapters and cover (never deleting anything);
2. the feed and the index page;
3. deletions of what the new state no longer lists: withdrawn audio first, then the rest.
Only files an earlier deploy sent (the manifest) are ever deleted: anything else on the host
is left alone. Every run ends with a check through the same tool (rsync's checksums and a
listing); a run cut anywhere leaves the previous feed valid, and the next run completes it.

This is the only part of the toolkit that opens a network connection, and only to the
configured host, through the system's ssh (the offline guard watches this process's own
sockets; ssh and rsync are separate programs started for this command alone).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from podcast.clock import now_iso
from podcast.errors import InvalidInputError, PodcastError, ToolMissingError
from podcast.fsutil import atomic_write_text
from podcast.settings import ShowSettings
from podcast.workspace import Workspace
from publish import site
from publish import state as publish_state
from publish.live import FRONT, MANIFEST, LiveFile, Manifest, load_manifest, plan

KNOWN_HOSTS = "deploy_known_hosts"
_SSH_TARGET = re.compile(
    r"^(?:ssh://)?(?P<user>[A-Za-z0-9._-]+)@(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>\d+))?[:/](?P<path>/?[^\s]*)$"
)


class DeployError(PodcastError):
    """Sending the published folder failed; the live feed is still the previous one."""


@dataclass(frozen=True)
class Target:
    kind: str  # "folder" or "ssh"
    path: str
    user: str = ""
    host: str = ""
    port: int = 22

    def destination(self) -> str:
        folder = self.path.rstrip("/") + "/"
        return folder if self.kind == "folder" else f"{self.user}@{self.host}:{folder}"

    def __str__(self) -> str:
        return self.path if self.kind == "folder" else f"{self.user}@{self.host}:{self.port}{self.path}"


def parse_target(text: str) -> Target:
    """A folder (an absolute path) or an SSH destination (user@host:/path, ssh://user@host:port/path)."""
    text = text.strip()
    if text.startswith("/"):
        return Target("folder", text)
    match = _SSH_TARGET.match(text)
    if not match:
        raise InvalidInputError(
            f"{text!r} is not a folder or an SSH destination.",
            hint="Use /media/usb/podcast, or user@host:/var/www/podcast (ssh://user@host:2222/var/www/podcast).",
        )
    path = match["path"] if match["path"].startswith("/") else "/" + match["path"]
    return Target("ssh", path, match["user"], match["host"], int(match["port"] or 22))


@dataclass(frozen=True)
class DeployResult:
    target: str
    sent: tuple[str, ...]
    deleted: tuple[str, ...]
    live_files: int


def _rsync_binary() -> str:
    binary = shutil.which("rsync")
    if binary is None:
        raise ToolMissingError(
            "rsync is not installed.", hint="Install it: apt-get install rsync openssh-client"
        )
    return binary


def _ssh_command(ws: Workspace, target: Target, key: str, *, accept_new: bool) -> str:
    known = ws.keys_dir / KNOWN_HOSTS
    options = [
        "ssh",
        "-p",
        str(target.port),
        "-o",
        "BatchMode=yes",
        "-o",
        f"StrictHostKeyChecking={'accept-new' if accept_new else 'yes'}",
        "-o",
        f"UserKnownHostsFile={known}",
        "-o",
        "ConnectTimeout=10",
        "-o",
        "IdentitiesOnly=yes",
    ]
    if key:
        options += ["-i", key]
    return " ".join(_quote(o) for o in options)


def _quote(value: str) -> str:
    return value if re.fullmatch(r"[A-Za-z0-9=_./:@-]+", value) else "'" + value.replace("'", "'\\''") + "'"


class Rsync:
    """Every transfer goes through the system rsync (over ssh for a host)."""

    def __init__(self, ws: Workspace, show: ShowSettings, *, accept_new: bool = False) -> None:
        if not show.deploy_target:
            raise InvalidInputError(
                "No deploy target is set.",
                hint="Run 'podcast publish setup' (a folder, or user@host:/path with an SSH key).",
            )
        self.ws = ws
        self.target = parse_target(show.deploy_target)
        self.key = show.deploy_key
        self.binary = _rsync_binary()
        self.accept_new = accept_new

    def run(self, args: list[str], *, what: str) -> str:
        command = [self.binary, "--protect-args"]
        if self.target.kind == "ssh":
            command += ["-e", _ssh_command(self.ws, self.target, self.key, accept_new=self.accept_new)]
        command += args
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=3600, check=False)
        except subprocess.TimeoutExpired:
            raise DeployError(
                f"{what} took over an hour and was stopped.", hint="Check the connection."
            ) from None
        if done.returncode != 0:
            raise _explain(done.stderr, done.returncode, what, self.target)
        return done.stdout

    def send(self, source: Path, names: list[str], *, what: str) -> None:
        if not names:
            return
        with tempfile.NamedTemporaryFile("w", dir=self.ws.tmp_dir, suffix=".list", delete=False) as listing:
            listing.write("\n".join(names) + "\n")
        try:
            # --ignore-times: these files are known to differ (by sha256 against the manifest);
            # rsync's quick check (same size, same second) could skip a same-sized new one.
            self.run(
                [
                    "-rt",
                    "--ignore-times",
                    "--chmod=D755,F644",
                    f"--files-from={listing.name}",
                    f"{source}/",
                    self.target.destination(),
                ],
                what=what,
            )
        finally:
            os.unlink(listing.name)

    def delete(self, names: list[str], *, what: str) -> None:
        """Delete exactly these files on the host: an empty source, --delete, and a filter
        that lets rsync see only those names."""
        if not names:
            return
        with tempfile.TemporaryDirectory(dir=self.ws.tmp_dir) as empty:
            filters = [f"--include=/{name}" for name in names] + ["--exclude=*"]
            self.run(["-r", "--delete", *filters, f"{empty}/", self.target.destination()], what=what)

    def listing(self) -> dict[str, int]:
        """File names and sizes on the host (top level of the folder)."""
        out = self.run(["--list-only", self.target.destination()], what="Listing the host's folder")
        files = {}
        for line in out.splitlines():
            parts = line.split(None, 4)
            if len(parts) == 5 and parts[0].startswith("-"):
                files[parts[4]] = int(parts[1].replace(",", "").replace(".", ""))
        return files

    def differing(self, source: Path, names: list[str]) -> list[str]:
        """Which of these files differ on the host, by rsync's own checksums (a dry run)."""
        with tempfile.NamedTemporaryFile("w", dir=self.ws.tmp_dir, suffix=".list", delete=False) as listing:
            listing.write("\n".join(names) + "\n")
        try:
            out = self.run(
                [
                    "-rn",
                    "--checksum",
                    "--itemize-changes",
                    f"--files-from={listing.name}",
                    f"{source}/",
                    self.target.destination(),
                ],
                what="Checking what was sent",
            )
        finally:
            os.unlink(listing.name)
        # Itemized lines: "<" or ">" (sent) or "c" (created) then "f" for a regular file.
        return [line.split(None, 1)[1] for line in out.splitlines() if line[:1] in "<>c" and line[1:2] == "f"]


def _explain(stderr: str, code: int, what: str, target: Target) -> DeployError:
    # sshd's note about a login without a home folder is noise, not the cause.
    text = [line for line in stderr.strip().splitlines() if not line.startswith("Could not chdir to home")]
    last = text[-1] if text else f"rsync exit code {code}"
    lowered = stderr.lower()
    if "remote host identification has changed" in lowered or "host key verification failed" in lowered:
        return DeployError(
            f"{what}: the host's key is not the one seen at setup (host key changed).",
            hint="Ask the host whether its key changed; if so run 'podcast publish setup' again. "
            "Nothing was deleted.",
        )
    if "permission denied" in lowered:
        return DeployError(
            f"{what}: the host refused the SSH key ({last}).",
            hint="Check deploy_key in podcast.toml and that its public half is on the host. "
            "Nothing was deleted.",
        )
    if "no space left" in lowered or "disk quota" in lowered:
        return DeployError(
            f"{what}: the host's disk is full.",
            hint="Free space on the host, then run 'podcast deploy' again. The live feed is unchanged.",
        )
    if any(
        w in lowered
        for w in ("connection refused", "could not resolve", "timed out", "no route", "unreachable")
    ):
        return DeployError(
            f"{what}: cannot reach {target.host}:{target.port} ({last}).",
            hint="Check the network and the address in podcast.toml (deploy_target). Nothing was changed.",
        )
    if code in (11, 12, 23) and "sending" in what.lower():
        # rsync's "file I/O error" / "protocol stream" / "partial transfer" while storing: the
        # receiving side failed to write (its own message about the disk can get lost).
        return DeployError(
            f"{what}: the host could not store the files (is its disk full? {last}).",
            hint="Check free space on the host, then run 'podcast deploy' again. The live feed is unchanged.",
        )
    return DeployError(f"{what} failed: {last}", hint="See the message above; nothing was deleted.")


def check_setup(ws: Workspace, show: ShowSettings) -> int:
    """Connect once (recording the host's key the first time) and list the target folder.
    Returns how many files are there."""
    tool = Rsync(ws, show, accept_new=True)
    ws.keys_dir.mkdir(mode=0o700, exist_ok=True)
    if tool.target.kind == "folder":
        Path(tool.target.path).mkdir(parents=True, exist_ok=True)
    return len(tool.listing())


def deploy(
    ws: Workspace, *, on_step: Callable[[str], None] | None = None, stop_after: str | None = None
) -> DeployResult:
    """Send the audited publish folder to the configured host (see the module's docstring).

    Raises DeployError if the folder fails its audit or a transfer fails (the live feed is
    then still valid). *stop_after* ("media", "feed", "audio-deletions") stops there, as a
    cut connection would; used by tests of resuming.
    """
    step = on_step or (lambda _m: None)
    with ws.exclusive("publish", "podcast publish or deploy"):
        problems = site.check(ws)
        if problems:
            raise DeployError(
                "The published folder fails its check, so it is not sent: " + problems[0],
                hint="Run 'podcast publish', then 'podcast deploy' again.",
            )
        show = ws.settings()
        tool = Rsync(ws, show)
        manifest = load_manifest(ws)
        if manifest and manifest.target != str(tool.target):
            manifest = None  # a new host: everything is sent, nothing deleted there
        todo = plan(ws, manifest)
        state = publish_state.load(ws)
        source = ws.publish_dir
        media = [n for n in todo.send if n not in FRONT]
        front = [n for n in todo.send if n in FRONT]
        step(f"Sending {len(media)} new or changed file(s)")
        tool.send(source, media, what="Sending audio and transcripts")
        if stop_after == "media":
            raise DeployError("Stopped after the media.", hint="Run 'podcast deploy' again.")
        step("Sending the feed")
        tool.send(source, front, what="Sending the feed")
        if stop_after == "feed":
            raise DeployError("Stopped after the feed.", hint="Run 'podcast deploy' again.")
        audio = [n for n in todo.delete if n.endswith(".mp3")]
        rest = [n for n in todo.delete if not n.endswith(".mp3")]
        step(f"Deleting {len(todo.delete)} file(s) no longer published (withdrawn audio first)")
        tool.delete(audio, what="Deleting withdrawn audio")
        if stop_after == "audio-deletions":
            raise DeployError("Stopped after deleting the audio.", hint="Run 'podcast deploy' again.")
        tool.delete(rest, what="Deleting old transcripts and chapters")
        step("Checking what is live")
        listed = tool.listing()
        wrong = [n for n in state.files if listed.get(n) != (source / n).stat().st_size]
        wrong += tool.differing(source, sorted(state.files))
        wrong += [n for n in todo.delete if n in listed]
        if wrong:
            raise DeployError(
                f"The host does not hold what was sent: {', '.join(sorted(set(wrong))[:5])}.",
                hint="Run 'podcast deploy' again; if it repeats, check the host's disk.",
            )
        sent_at = now_iso()
        previous = manifest.files if manifest else {}
        files = {
            name: previous[name]
            if name in previous and previous[name].sha256 == digest and name not in todo.send
            else LiveFile((source / name).stat().st_size, digest, sent_at)
            for name, digest in state.files.items()
        }
        episodes = {guid: [x for x, _fp in ep.extracts] for guid, ep in state.episodes.items()}
        atomic_write_text(ws.root / MANIFEST, Manifest(str(tool.target), files, episodes, sent_at).to_json())
    return DeployResult(str(tool.target), todo.send, todo.delete, len(files))
