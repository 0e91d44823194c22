from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from podcast.errors import AudioError, DiskFullError, InvalidInputError, NotFoundError
from podcast.workspace import Workspace
from sessions import importer, sessions
from tests.conftest import ffmpeg_encode, multichannel_tones


def _nothing_imported(ws: Workspace, session_id: int) -> None:
    assert sessions.get(ws, session_id).takes == ()
    leftovers = [p for p in ws.takes_dir.rglob("*") if p.is_file()]
    assert leftovers == []
    assert [p for p in ws.tmp_dir.iterdir()] == []


def test_wav_is_stored_losslessly_with_channels_mapped_in_order(
    ws: Workspace, session_id: int, wav_file: Path
) -> None:
    (take,) = importer.import_files(ws, session_id, [wav_file])
    assert (take.channels, take.sample_rate_hz, take.frames) == (3, 48_000, 48_000)
    assert take.duration_s == pytest.approx(1.0)
    assert [o.participant.pseudonym for o in take.owners if o.participant] == [
        "Amara",
        "Blessing",
        "Chidinma",
    ]
    stored, rate = sf.read(str(ws.absolute(take.relpath)), dtype="int16")
    original, _ = sf.read(str(wav_file), dtype="int16")
    assert rate == 48_000
    np.testing.assert_array_equal(stored, original)


def test_source_file_name_is_kept_nowhere(ws: Workspace, session_id: int, wav_file: Path) -> None:
    importer.import_files(ws, session_id, [wav_file])
    ws.close()
    for path in ws.root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert b"ZOOM0001" not in data, path
            assert b"real-name" not in data, path
            assert str(wav_file.parent).encode() not in data, path


def test_channel_map_assigns_speakers(ws: Workspace, session_id: int, wav_file: Path) -> None:
    (take,) = importer.import_files(ws, session_id, [wav_file], channel_map={1: "chidinma", 3: "Amara"})
    owners = {o.channel: o.participant.pseudonym if o.participant else None for o in take.owners}
    assert owners == {1: "Chidinma", 2: None, 3: "Amara"}


def test_mismatched_channel_count_leaves_speakers_unknown(
    ws: Workspace, session_id: int, tmp_path: Path
) -> None:
    path = tmp_path / "two.wav"
    sf.write(str(path), multichannel_tones(2), 48_000)
    (take,) = importer.import_files(ws, session_id, [path])
    assert all(o.participant is None for o in take.owners)


@pytest.mark.parametrize(
    ("suffix", "args", "lossless"),
    [
        (".flac", [], True),
        (".ogg", ["-c:a", "libvorbis"], False),
        (".mp3", ["-c:a", "libmp3lame", "-b:a", "128k"], False),
        (".m4a", ["-c:a", "aac", "-b:a", "128k"], False),
    ],
)
def test_other_formats_are_decoded(
    ws: Workspace, session_id: int, tmp_path: Path, suffix: str, args: list[str], lossless: bool
) -> None:
    # Stereo, as lossy recorders write: encoders treat 3 channels as 2.1 and low-pass the third.
    wav = tmp_path / "stereo.wav"
    sf.write(str(wav), multichannel_tones(2), 48_000, subtype="PCM_16")
    source = ffmpeg_encode(wav, tmp_path / f"rec{suffix}", *args, "-metadata", "title=Secret place")
    (take,) = importer.import_files(ws, session_id, [source])
    assert take.channels == 2
    assert take.duration_s == pytest.approx(1.0, abs=0.1)
    stored, _ = sf.read(str(ws.absolute(take.relpath)), dtype="float32")
    original, _ = sf.read(str(wav), dtype="float32")
    if lossless:
        np.testing.assert_allclose(stored, original, atol=1e-4)
    else:
        # Each channel keeps its own tone: the strongest frequency is 220 Hz x channel number.
        for channel in range(2):
            spectrum = np.abs(np.fft.rfft(stored[: 48_000 // 2, channel]))
            peak_hz = np.argmax(spectrum) * 2.0  # bins of 48 kHz / 24,000 samples
            assert peak_hz == pytest.approx(220 * (channel + 1), abs=5)
    assert b"Secret place" not in ws.absolute(take.relpath).read_bytes()


def test_positions_continue_and_file_names_come_from_ids(
    ws: Workspace, session_id: int, tmp_path: Path
) -> None:
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    sf.write(str(first), multichannel_tones(3, 0.5), 48_000)
    sf.write(str(second), multichannel_tones(3, 0.7), 48_000)
    importer.import_files(ws, session_id, [first])
    (take,) = importer.import_files(ws, session_id, [second])
    assert take.position == 2
    assert take.relpath == f"takes/session-{session_id:04d}/take-002.flac"


# --- bad input: each gives one clear error with a hint and imports nothing -------------


def _write_wav_header(path: Path, *, channels: int, data_size: int, payload: bytes) -> Path:
    fmt = struct.pack("<HHIIHH", 1, channels, 48_000, 48_000 * 2 * max(channels, 1), 2 * max(channels, 1), 16)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", data_size)
        + payload
    )
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


def _truncated(tmp_path: Path) -> Path:
    path = tmp_path / "cut.wav"
    sf.write(str(path), multichannel_tones(2), 48_000, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _file(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _folder(path: Path) -> Path:
    path.mkdir()
    return path


BAD_FILES = {
    "empty": (lambda p: _file(p / "empty.wav", b""), "empty"),
    "random": (lambda p: _file(p / "noise.wav", os.urandom(4096)), "ffmpeg"),
    "truncated": (_truncated, "truncated"),
    "zero_channels": (
        lambda p: _write_wav_header(p / "zero.wav", channels=0, data_size=4, payload=b"\0" * 4),
        "zero",
    ),
    "unfinalised": (
        lambda p: _write_wav_header(p / "open.wav", channels=1, data_size=0, payload=b"\0" * 400),
        "finalised",
    ),
    "directory": (lambda p: _folder(p / "x.wav"), "folder"),
    "missing": (lambda p: p / "nope.wav", "does not exist"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_are_refused(ws: Workspace, session_id: int, tmp_path: Path, kind: str) -> None:
    make, fragment = BAD_FILES[kind]
    path = make(tmp_path)
    with pytest.raises(AudioError) as info:
        importer.import_files(ws, session_id, [path])
    assert fragment in info.value.message
    assert info.value.hint
    _nothing_imported(ws, session_id)


def test_a_bad_file_among_good_ones_imports_none(
    ws: Workspace, session_id: int, wav_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(AudioError):
        importer.import_files(ws, session_id, [wav_file, _truncated(tmp_path)])
    _nothing_imported(ws, session_id)


def test_the_same_file_twice_is_refused(ws: Workspace, session_id: int, wav_file: Path) -> None:
    importer.import_files(ws, session_id, [wav_file])
    with pytest.raises(AudioError, match="already imported"):
        importer.import_files(ws, session_id, [wav_file])
    assert len(sessions.get(ws, session_id).takes) == 1


def test_unknown_session(ws: Workspace, wav_file: Path) -> None:
    with pytest.raises(NotFoundError):
        importer.import_files(ws, 99, [wav_file])


@pytest.mark.parametrize(
    ("mapping", "fragment"),
    [({4: "Amara"}, "has 3"), ({1: "Ghost"}, "not in session")],
)
def test_bad_channel_maps(
    ws: Workspace, session_id: int, wav_file: Path, mapping: dict[int, str], fragment: str
) -> None:
    with pytest.raises(InvalidInputError, match=fragment):
        importer.import_files(ws, session_id, [wav_file], channel_map=mapping)
    _nothing_imported(ws, session_id)


@pytest.mark.parametrize("text", ["1=A,1=B", "0=A", "x=A", "", "1:A"])
def test_channel_map_syntax_errors(text: str) -> None:
    with pytest.raises(InvalidInputError):
        importer.parse_channel_map(text)


def test_channel_map_parsing() -> None:
    assert importer.parse_channel_map(" 1=Amara , 2 = Blessing Two ") == {
        1: "Amara",
        2: "Blessing Two",
    }


def test_disk_full_during_import_leaves_nothing(
    ws: Workspace, session_id: int, wav_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = sf.SoundFile.write

    def full_disk(self: sf.SoundFile, data: np.ndarray) -> None:
        real_write(self, data)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sf.SoundFile, "write", full_disk)
    with pytest.raises(DiskFullError, match="Disk full: importing needs about"):
        importer.import_files(ws, session_id, [wav_file])
    monkeypatch.undo()
    _nothing_imported(ws, session_id)


def test_progress_is_reported_in_frames(ws: Workspace, session_id: int, wav_file: Path) -> None:
    seen: list[tuple[int, int]] = []
    importer.import_files(ws, session_id, [wav_file], on_progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1] == (48_000, 48_000)
