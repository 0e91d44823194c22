"""The one exception hierarchy. Only the CLI turns these into messages and exit codes."""

from __future__ import annotations


class PodcastError(Exception):
    """A problem the user can act on: a one-line message and a hint saying what to do next."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class WorkspaceError(PodcastError):
    """The workspace is missing, damaged, not writable or already exists."""


class SettingsError(PodcastError):
    """podcast.toml holds an invalid value."""


class NotFoundError(PodcastError):
    """A session, participant, take or other object does not exist."""


class InvalidInputError(PodcastError):
    """A value typed by the user is not acceptable (a name, a channel map, ...)."""


class AudioError(PodcastError):
    """An audio file cannot be read, is damaged, or an audio tool failed."""


class LedgerNotVerified(PodcastError):
    """The consent ledger failed verification, so nothing can rely on it."""


class ToolMissingError(PodcastError):
    """A system program or library (ffmpeg, espeak-ng, PortAudio) is not installed."""


class DiskFullError(PodcastError):
    """The disk filled up (or would): says how much the step needs; nothing is half-written."""


class ConflictError(PodcastError):
    """Someone else changed the same thing first (another browser tab, the command line)."""
