"""Encryption to the association's key: age (X25519), streamed, never half-written.

The association makes one key pair once (`podcast keys new`). The private half is shown once,
as text and as a QR code, to be kept on paper or a USB stick; it is never stored in the
workspace. The public half (an `age1…` recipient) is in the show's settings: anything can be
sealed to it on the laptop, and only the paper key can open it again.

Sealing streams (memory stays small whatever the file's size), writes beside the target,
fsyncs, and checks the result before it replaces anything: the age header names an X25519
recipient, and the file's length is exactly what age's STREAM format gives for the source
length (64 KiB chunks, each with a 16-byte tag), so a truncated or interrupted file is never
taken for a sealed copy.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pyrage

from podcast.errors import InvalidInputError, WorkspaceError
from podcast.fsutil import fsync_dir, write_error

HEADER_START = b"age-encryption.org/v1\n"
_CHUNK = 64 * 1024
_TAG = 16
_NONCE = 16


def new_identity() -> tuple[str, str]:
    """A new key pair: (secret 'AGE-SECRET-KEY-1…', public 'age1…')."""
    identity = pyrage.x25519.Identity.generate()
    return str(identity), str(identity.to_public())


def check_recipient(text: str) -> str:
    """An age X25519 public key, or InvalidInputError."""
    try:
        pyrage.x25519.Recipient.from_str(text.strip())
    except (pyrage.RecipientError, ValueError):
        raise InvalidInputError(
            "The archive key in the settings is not an age public key.",
            hint="Make one with: podcast keys new",
        ) from None
    return text.strip()


def load_identity(path: Path) -> pyrage.x25519.Identity:
    """The secret key in a file (the line starting AGE-SECRET-KEY-), or InvalidInputError."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise InvalidInputError(
            f"The key file {path.name} cannot be read ({exc.strerror}).",
            hint="Give the file that 'podcast keys new' wrote, or type the key from paper into a file.",
        ) from None
    for line in text.splitlines():
        if line.strip().upper().startswith("AGE-SECRET-KEY-1"):
            try:
                return pyrage.x25519.Identity.from_str(line.strip().upper())
            except (pyrage.IdentityError, ValueError):
                break
    raise InvalidInputError(
        f"{path.name} holds no valid secret key.",
        hint="The key starts with AGE-SECRET-KEY-1; check the letters copied from paper.",
    )


def sealed_size(header_len: int, plain: int) -> int:
    """The length of an age file with a header of *header_len* bytes for *plain* bytes."""
    chunks = max(1, -(-plain // _CHUNK))
    return header_len + _NONCE + plain + chunks * _TAG


def header_length(path: Path) -> int:
    """The length of an age file's header (up to and including its MAC line); 0 if none."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head.startswith(HEADER_START):
        return 0
    mac = head.find(b"\n--- ")
    if mac < 0 or b"\n-> X25519 " not in head[:mac]:
        return 0
    end = head.find(b"\n", mac + 1)
    return 0 if end < 0 else end + 1


def check_sealed(path: Path, plain_size: int) -> bool:
    """Whether *path* is a complete age file (X25519) of a *plain_size*-byte source."""
    try:
        header = header_length(path)
        return header > 0 and path.stat().st_size == sealed_size(header, plain_size)
    except OSError:
        return False


@contextlib.contextmanager
def _beside(target: Path) -> Iterator[tuple[Path, BinaryIO]]:
    """A private temporary file next to *target*, removed unless the block renames it."""
    temp = target.with_name(f".{target.name}.{os.getpid()}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield temp, handle
    finally:
        temp.unlink(missing_ok=True)


def seal(source: BinaryIO, target: Path, recipient: str, *, plain_size: int | None = None) -> None:
    """Encrypt a stream into *target* (streamed, fsynced, checked, then renamed into place).

    With *plain_size*, the result's length is checked against it. Raises WorkspaceError (or
    DiskFullError) and leaves *target* as it was.
    """
    key = pyrage.x25519.Recipient.from_str(check_recipient(recipient))
    try:
        with _beside(target) as (temp, handle):
            pyrage.encrypt_io(source, handle, [key])
            handle.flush()
            os.fsync(handle.fileno())
            if plain_size is not None and not check_sealed(temp, plain_size):
                raise WorkspaceError(
                    f"The sealed copy {target.name} did not come out complete; nothing was removed.",
                    hint="Check the disk, then run the command again.",
                )
            os.replace(temp, target)
    except OSError as exc:
        raise write_error(exc, target, plain_size) from None
    fsync_dir(target.parent)


def seal_file(source: Path, target: Path, recipient: str) -> None:
    """Seal a file to the recipient; the clear file is left as it is (the caller removes it)."""
    with source.open("rb") as handle:
        seal(handle, target, recipient, plain_size=source.stat().st_size)


def unseal(source: Path, target: Path, identity: pyrage.x25519.Identity) -> None:
    """Decrypt an age file into *target* (beside it first, fsynced, then renamed).

    Raises InvalidInputError for a wrong key or a damaged (e.g. truncated) file.
    """
    try:
        with source.open("rb") as reader, _beside(target) as (temp, handle):
            pyrage.decrypt_io(reader, handle, [identity])
            handle.flush()
            os.fsync(handle.fileno())
            os.replace(temp, target)
    except pyrage.DecryptError as exc:
        raise InvalidInputError(
            f"{source.name} cannot be opened with this key ({_reason(exc)}).",
            hint="Use the association's key (AGE-SECRET-KEY-…) that sealed it; a damaged copy cannot open.",
        ) from None
    fsync_dir(target.parent)


def _reason(exc: Exception) -> str:
    text = str(exc).lower()
    if "no matching" in text or "identity" in text:
        return "it was sealed to another key"
    if "truncat" in text or "eof" in text or "short" in text:
        return "the file is cut short"
    return "the file is damaged or sealed to another key"


@contextlib.contextmanager
def decrypted(source: BinaryIO, identity: pyrage.x25519.Identity) -> Iterator[BinaryIO]:
    """A readable stream of *source* decrypted on the fly (a pipe fed by a thread), so an
    archive is restored without a clear copy of it on disk. Raises InvalidInputError at the
    end for a wrong key or a damaged file."""
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []

    def pump() -> None:
        try:
            with os.fdopen(write_end, "wb") as writer:
                pyrage.decrypt_io(source, writer, [identity])
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=pump, name="decrypt", daemon=True)
    thread.start()
    reader = os.fdopen(read_end, "rb")
    inner: BaseException | None = None
    try:
        yield reader
        reader.read()  # drain, so the pump finishes and reports any damage
    except BaseException as exc:
        inner = exc
    finally:
        reader.close()  # unblocks the pump if the reader stopped early
        thread.join()
    pumped = failure[0] if failure and not isinstance(failure[0], BrokenPipeError) else None
    if isinstance(pumped, pyrage.DecryptError):
        raise InvalidInputError(
            f"The archive cannot be opened with this key ({_reason(pumped)}).",
            hint="Use the association's key that made the backup; a damaged copy cannot be restored.",
        ) from None
    if inner is not None:
        raise inner
    if pumped is not None:
        raise pumped


@contextlib.contextmanager
def encrypting(target: Path, recipient: str) -> Iterator[BinaryIO]:
    """A writable stream sealed on the fly into *target* (beside it first, fsynced, renamed
    into place only if the block ends without error)."""
    key = pyrage.x25519.Recipient.from_str(check_recipient(recipient))
    read_end, write_end = os.pipe()
    failure: list[BaseException] = []
    with _beside(target) as (temp, handle):

        def pump() -> None:
            try:
                with os.fdopen(read_end, "rb") as reader:
                    pyrage.encrypt_io(reader, handle, [key])
            except BaseException as exc:
                failure.append(exc)

        thread = threading.Thread(target=pump, name="encrypt", daemon=True)
        thread.start()
        writer = os.fdopen(write_end, "wb")
        try:
            yield writer
        finally:
            writer.close()
            thread.join()
        if failure:
            raise failure[0]
        handle.flush()
        os.fsync(handle.fileno())
        if header_length(temp) == 0:
            raise WorkspaceError(
                f"{target.name} did not come out complete.", hint="Check the disk and try again."
            )
        os.replace(temp, target)
    fsync_dir(target.parent)
