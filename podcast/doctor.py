"""`podcast doctor`: what is unsafe about this laptop's copy of the show, in plain words.

Each check gives ok, warning or error, a sentence, and the command that fixes it. Nothing
here changes anything.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from consent import checkpoints
from podcast import backup, offline
from podcast.clock import now_iso
from podcast.errors import PodcastError
from podcast.fsutil import free_bytes, sha256_file
from podcast.models import ModelStore
from podcast.workspace import Workspace
from publish.voices import VoiceStore
from sessions import retention, sessions

OK, WARNING, ERROR = "ok", "warning", "error"
BACKUP_DAYS = 7


@dataclass(frozen=True)
class Finding:
    check: str
    level: str
    message: str
    fix: str = ""


def _run(*command: str) -> str:
    if shutil.which(command[0]) is None:
        return ""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def encrypted_volume(path: Path) -> bool | None:
    """Whether *path* is on dm-crypt/LUKS (or an fscrypt-encrypted folder); None if unknown."""
    source = _run("findmnt", "-n", "-o", "SOURCE", "--target", str(path)).strip()
    if source.startswith("/dev/"):
        types = _run("lsblk", "-n", "-s", "-o", "TYPE", source).split()
        if "crypt" in types:
            return True
        if types:
            flags = _run("lsattr", "-d", str(path))
            return "E" in flags.split(" ")[0] if flags else False
    return None


def check_disk(ws: Workspace) -> Finding:
    state = encrypted_volume(ws.root)
    if state:
        return Finding("encrypted disk", OK, "The workspace is on an encrypted disk.")
    what = (
        "is not on an encrypted disk" if state is False else "is on a disk whose encryption cannot be checked"
    )
    return Finding(
        "encrypted disk",
        WARNING,
        f"The workspace {what}: a stolen laptop gives away the raw voices.",
        "Seal closed sessions (podcast session close N) and see docs/privacy.md on full-disk encryption.",
    )


def check_modes(ws: Workspace) -> Finding:
    wide = ws.private_paths_too_wide()
    if not wide:
        return Finding("file modes", OK, "Only you can read the workspace's private files.")
    return Finding(
        "file modes",
        ERROR,
        f"{len(wide)} private file(s) can be read by other users of this computer.",
        f"chmod -R go-rwx {ws.root}",
    )


def check_space(ws: Workspace) -> Finding:
    longest = 0
    for session in sessions.list_all(ws):
        size = sum(
            ws.absolute(t.relpath).stat().st_size for t in session.takes if ws.absolute(t.relpath).exists()
        )
        longest = max(longest, size)
    need = int(longest * 1.5) + (1 << 30)  # a session like the longest, its renderings, and room
    free = free_bytes(ws.root)
    if free >= need:
        return Finding("disk space", OK, f"{free / 1e9:.1f} GB free: enough for a session like the longest.")
    return Finding(
        "disk space",
        WARNING,
        f"Only {free / 1e9:.1f} GB free; a session like the longest needs about {need / 1e9:.1f} GB.",
        "Close finished sessions (podcast session close N) or free space on this disk.",
    )


def check_models(models: ModelStore) -> Finding:
    try:
        models.ready()
    except PodcastError as exc:
        return Finding("transcription model", ERROR, exc.message, exc.hint or "podcast models repair")
    return Finding("transcription model", OK, "The transcription model is complete (checksums verified).")


def check_voices(voices: VoiceStore) -> Finding:
    """Every synthetic voice's files are there, and added ones are unchanged (sha256)."""
    try:
        listed = voices.list()
    except PodcastError as exc:
        return Finding("voices", ERROR, exc.message, exc.hint or "podcast voices list")
    for voice in listed:
        if not voice.model.is_file() or not voice.config.is_file():
            return Finding(
                "voices", ERROR, f"The files of voice {voice.name!r} are missing.", "podcast voices add"
            )
        expected = voices.recorded_sha256(voice.name)
        if expected and sha256_file(voice.model) != expected:
            return Finding(
                "voices",
                ERROR,
                f"The voice {voice.name!r} is not the file that was added (sha256 differs).",
                "Copy the original .onnx back, or add the voice again under another name.",
            )
    return Finding("voices", OK, f"{len(listed)} synthetic voice(s) complete and unchanged.")


def check_ledger(ws: Workspace) -> Finding:
    try:
        verdict, _ = checkpoints.verify(ws)
    except PodcastError as exc:
        return Finding("consent record", ERROR, exc.message, exc.hint or "podcast consent verify")
    if verdict.ok:
        return Finding(
            "consent record", OK, f"The consent record verifies ({verdict.entries} entries, all signed)."
        )
    if verdict.status == "torn_tail":
        return Finding(
            "consent record",
            WARNING,
            "The consent record ends with a torn line (a power cut).",
            "podcast consent repair",
        )
    return Finding(
        "consent record",
        ERROR,
        "The consent record does not verify: nothing can be published.",
        "podcast consent verify; then restore it from a backup (podcast restore)",
    )


def check_retention(ws: Workspace, now: str) -> Finding:
    due = [item for item in retention.plan(ws, now) if item.due]
    keep = ws.settings().retention == "keep"
    if due:
        names = ", ".join(str(item.session_id) for item in due)
        return Finding(
            "retention",
            WARNING,
            f"Raw recordings are kept past the show's retention in session(s) {names}.",
            f"podcast session close {due[0].session_id}",
        )
    if keep:
        return Finding(
            "retention",
            WARNING,
            'Raw recordings are kept forever (retention = "keep" in podcast.toml).',
            'Set retention = "30d" in podcast.toml, or close sessions when done: podcast session close N',
        )
    return Finding("retention", OK, "No raw recording is kept past the show's retention.")


def check_backup(ws: Workspace, now: datetime) -> Finding:
    if not ws.settings().archive_key:
        return Finding(
            "backup",
            WARNING,
            "No archive key: backups and sealed sessions are not possible yet.",
            "podcast keys new",
        )
    made = backup.last(ws)
    if made is None:
        return Finding("backup", WARNING, "The show has never been backed up.", "podcast backup /media/usb")
    age = now - datetime.fromisoformat(made.replace("Z", "+00:00"))
    if age > timedelta(days=BACKUP_DAYS):
        return Finding(
            "backup", WARNING, f"The last backup is {age.days} days old.", "podcast backup /media/usb"
        )
    return Finding("backup", OK, f"Last backup {made[:10]}.")


def check_offline() -> Finding:
    if offline.is_enforced():
        return Finding("offline", OK, "This program cannot reach the network (only this computer).")
    return Finding("offline", ERROR, "The offline guard is not active.", "Reinstall the toolkit.")


def examine(
    ws: Workspace, models: ModelStore, voices: VoiceStore, clock: Callable[[], str] = now_iso
) -> list[Finding]:
    stamp = clock()
    now = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return [
        check_disk(ws),
        check_modes(ws),
        check_space(ws),
        check_models(models),
        check_voices(voices),
        check_ledger(ws),
        check_retention(ws, stamp),
        check_backup(ws, now),
        check_offline(),
    ]


def exit_code(findings: list[Finding]) -> int:
    levels = {f.level for f in findings}
    return 2 if ERROR in levels else 1 if WARNING in levels else 0


def as_json(findings: list[Finding]) -> str:
    return json.dumps({"exit_code": exit_code(findings), "checks": [asdict(f) for f in findings]}, indent=2)
