"""`session recover` on a take a crash left past WAV's 4 GiB (from before takes rolled over
by size): a sparse file, so the test needs little disk."""

from __future__ import annotations

import os

import numpy as np
import soundfile as sf

from podcast.workspace import Workspace
from sessions import recovery, sessions


def test_a_take_killed_at_4_5_gib_is_split_into_two_valid_takes_losing_nothing(
    ws: Workspace, session_id: int
) -> None:
    folder = ws.session_dir(session_id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "take-001.wav"
    rate, channels = 48_000, 4
    head = (np.arange(rate * channels, dtype=np.int32).reshape(rate, channels) % 1000) << 16
    sf.write(str(path), head, rate, subtype="PCM_24")  # the header says one second ...
    header = path.stat().st_size - rate * channels * 3
    size = header + (int(4.5 * 2**30) // (channels * 3)) * channels * 3  # whole frames, 4.5 GiB
    tail_marker = np.full((10, channels), 123 << 16, dtype=np.int32)
    marker_bytes = bytes(
        b for v in tail_marker.flatten() for b in int(v >> 8).to_bytes(3, "little", signed=True)
    )
    with path.open("r+b") as handle:  # ... the file holds 4.5 GiB (zeros, sparse) and a marker
        handle.truncate(size - len(marker_bytes))
        handle.seek(0, os.SEEK_END)
        handle.write(marker_bytes)
    ws.conn.execute(
        "INSERT INTO takes (session_id, position, origin, relpath, channels, sample_rate_hz, frames, state, "
        "created_at) VALUES (?, 1, 'recording', ?, 4, ?, 0, 'recording', 'now')",
        (session_id, ws.relative(path), rate),
    )
    items = recovery.recover_session(ws, session_id)
    assert len(items) == 2
    first, second = sessions.get(ws, session_id).takes
    assert first.state == second.state == "complete" and (first.position, second.position) == (1, 2)
    block = channels * 3
    assert path.stat().st_size < 2**32 and first.frames == sf.info(str(path)).frames
    assert first.frames + second.frames == (size - header) // block, "not a frame lost"
    start, _ = sf.read(str(path), frames=rate, dtype="int32")
    assert np.array_equal(start, head), "the beginning is intact"
    rest = ws.absolute(second.relpath)
    assert sf.info(str(rest)).frames == second.frames
    end, _ = sf.read(str(rest), start=second.frames - 10, dtype="int32")
    assert np.array_equal(end, tail_marker), "the very last frames are in the second take"
    rest.unlink()  # 0.5 GiB
