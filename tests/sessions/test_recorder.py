"""Recording through a real virtual sound server (PulseAudio null sinks, PortAudio, ALSA)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from podcast.errors import InvalidInputError
from podcast.sound import DeviceError
from podcast.workspace import Workspace
from sessions import recovery, sessions
from sessions.recorder import Recorder, RecordingStatus, RecordOptions

RATE = 48_000
ROOT = Path(__file__).resolve().parents[2]


def _signal(path: Path, seconds: float, channels: int = 4, seed: int = 3) -> np.ndarray:
    """Distinct noise per channel, between 0.2 s of silence (PulseAudio drops a few ms of a
    stream's very start)."""
    rng = np.random.default_rng(seed)
    body = rng.integers(-12000, 12000, (int(seconds * RATE), channels)).astype(np.int16)
    pad = np.zeros((int(0.2 * RATE), channels), dtype=np.int16)
    sf.write(str(path), np.concatenate([pad, body, pad]), RATE, subtype="PCM_16")
    return body


def _play(path: Path, sink: str = "podcast_quad") -> subprocess.Popen[bytes]:
    channel_map = "front-left,front-right,rear-left,rear-right"
    return subprocess.Popen(["paplay", f"--device={sink}", f"--channel-map={channel_map}", str(path)])


def _locate(recorded: np.ndarray, body: np.ndarray, channel: int = 0) -> int:
    probe = body[RATE // 10 : RATE // 10 + 2400, channel].astype(np.float64)
    scores = np.correlate(recorded[:, channel].astype(np.float64), probe, mode="valid")
    return int(np.argmax(scores)) - RATE // 10


def _ncc(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def _read_takes(ws: Workspace, session_id: int, take_ids: tuple[int, ...] | None = None) -> np.ndarray:
    parts = []
    for take in sessions.get(ws, session_id).takes:
        if take.origin == "recording" and (take_ids is None or take.id in take_ids):
            data, _ = sf.read(str(ws.absolute(take.relpath)), dtype="int16", always_2d=True)
            parts.append(data)
    return np.concatenate(parts)


def _wait_for_audio(recorder: Recorder, seconds: float = 0.3) -> None:
    deadline = time.monotonic() + 10
    while recorder.status().elapsed_s < seconds:
        assert time.monotonic() < deadline, "no audio arrived from the device"
        time.sleep(0.05)


pytestmark = pytest.mark.audio_server


def test_four_channels_come_back_sample_exact(
    ws: Workspace, session_id: int, audio_server: dict[str, str], tmp_path: Path
) -> None:
    body = _signal(tmp_path / "sig.wav", 2.0)
    options = RecordOptions(
        device="podcast_quad_in", inputs=(1, 2, 3, 4), channel_map={1: "Amara", 2: "Blessing", 3: "Chidinma"}
    )
    recorder = Recorder(ws, session_id, options)
    recorder.start()
    _wait_for_audio(recorder)
    _play(tmp_path / "sig.wav").wait()
    time.sleep(0.3)
    recorder.stop()
    result = recorder.wait()
    assert result.stop_reason == "stopped" and result.dropouts == ()
    recorded = _read_takes(ws, session_id)
    offsets = {_locate(recorded, body, ch) for ch in range(4)}
    assert len(offsets) == 1, f"channels are not aligned: {offsets}"
    start = offsets.pop()
    got = recorded[start : start + len(body)]
    for ch in range(4):
        assert _ncc(got[:, ch], body[:, ch]) > 0.999
        for other in range(4):
            if other != ch:
                assert abs(_ncc(got[:, ch], body[:, other])) < 0.05, "crosstalk"
    assert np.array_equal(got, body), "not bit-exact"
    take = sessions.get(ws, session_id).takes[-1]
    assert take.state == "complete" and take.channels == 4
    assert [o.participant.pseudonym if o.participant else None for o in take.owners] == [
        "Amara",
        "Blessing",
        "Chidinma",
        None,
    ]


def test_segments_roll_over_without_gaps(
    ws: Workspace, session_id: int, audio_server: dict[str, str], tmp_path: Path
) -> None:
    body = _signal(tmp_path / "sig.wav", 3.0)
    recorder = Recorder(
        ws, session_id, RecordOptions(device="podcast_quad_in", inputs=(1, 2, 3, 4), segment_s=1.0)
    )
    recorder.start()
    _wait_for_audio(recorder)
    _play(tmp_path / "sig.wav").wait()
    time.sleep(0.3)
    recorder.stop()
    result = recorder.wait()
    assert len(result.take_ids) >= 4
    takes = [t for t in sessions.get(ws, session_id).takes if t.id in result.take_ids]
    assert all(t.frames == RATE for t in takes[:-1]), "each full segment holds exactly 1 s"
    recorded = _read_takes(ws, session_id, result.take_ids)
    start = _locate(recorded, body)
    assert np.array_equal(recorded[start : start + len(body)], body), "a gap or overlap at a boundary"


def test_unknown_device_is_a_clear_error(
    ws: Workspace, session_id: int, audio_server: dict[str, str]
) -> None:
    with pytest.raises(DeviceError, match="No audio input device is called") as info:
        Recorder(ws, session_id, RecordOptions(device="Focusrite 18i8")).start()
    assert "podcast devices" in (info.value.hint or "")
    assert sessions.get(ws, session_id).takes == ()


def test_too_many_inputs_is_a_clear_error(
    ws: Workspace, session_id: int, audio_server: dict[str, str]
) -> None:
    with pytest.raises(InvalidInputError, match="does not exist"):
        Recorder(ws, session_id, RecordOptions(device="podcast_quad_in", inputs=(1, 99))).start()
    assert sessions.get(ws, session_id).takes == ()


def _cli(ws: Workspace, *args: str) -> list[str]:
    return [sys.executable, "-m", "podcast", "-q", "-w", str(ws.root), *args]


def _wait_file(ws: Workspace, session_id: int, seconds: float) -> Path:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        files = sorted(ws.session_dir(session_id).glob("take-*.wav"))
        if files and files[-1].stat().st_size > 44 + seconds * RATE * 4 * 3:
            return files[-1]
        time.sleep(0.05)
    raise AssertionError("the recorder wrote nothing")


def test_sigkill_loses_at_most_a_second_and_recover_repairs(
    ws: Workspace, session_id: int, audio_server: dict[str, str], tmp_path: Path
) -> None:
    body = _signal(tmp_path / "sig.wav", 4.0)
    ws.close()
    process = subprocess.Popen(
        _cli(
            ws, "session", "record", str(session_id), "--device", "podcast_quad_in", "--channels", "1,2,3,4"
        ),
        cwd=ROOT,
    )
    _wait_file(ws, session_id, 0.3)
    player = _play(tmp_path / "sig.wav")
    time.sleep(0.2 + 2.5)
    killed_at_s = 2.5  # seconds of the signal that had been played when the recorder died
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    player.wait()
    assert sessions.get(ws, session_id).takes[-1].state == "recording"
    items = recovery.recover_session(ws, session_id)
    assert len(items) == 1
    take = sessions.get(ws, session_id).takes[-1]
    assert take.state == "complete"
    path = ws.absolute(take.relpath)
    with wave.open(str(path)) as reader:  # any WAV reader can open it
        assert reader.getnframes() == take.frames
    recorded = _read_takes(ws, session_id)
    start = _locate(recorded, body)
    kept = len(recorded) - start
    assert kept >= (killed_at_s - 1.0) * RATE, f"lost more than a second: kept {kept / RATE:.2f} s"
    n = min(kept, len(body))
    assert np.array_equal(recorded[start : start + n], body[:n]), "what was kept is not bit-exact"


def test_sigint_stops_cleanly_with_a_complete_file(
    ws: Workspace, session_id: int, audio_server: dict[str, str]
) -> None:
    ws.close()
    process = subprocess.Popen(
        _cli(ws, "session", "record", str(session_id), "--device", "podcast_quad_in", "--channels", "1,2"),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    _wait_file(ws, session_id, 0.0)
    time.sleep(1.0)
    process.send_signal(signal.SIGINT)
    out, _ = process.communicate(timeout=20)
    assert process.returncode == 0 and "Stopped." in out
    take = sessions.get(ws, session_id).takes[-1]
    assert take.state == "complete" and take.frames > RATE // 2
    with wave.open(str(ws.absolute(take.relpath))) as reader:
        assert reader.getnframes() == take.frames and reader.getnchannels() == 2
    assert recovery.recover_session(ws, session_id) == []


# --- situations a virtual server cannot produce: a stream stand-in (documented edge) -------


class FakeStream:
    """Stands in for PortAudio where the virtual server cannot help: input overflows and a
    device unplugged mid-take."""

    def __init__(
        self,
        callback: Any,
        finished: Any,
        blocks: int,
        overflow_at: set[int],
        unplug: bool,
        value: Any = lambda index: index * 1000,
        pace_s: float = 0.002,
    ) -> None:
        self.callback, self.finished = callback, finished
        self.blocks, self.overflow_at, self.unplug = blocks, overflow_at, unplug
        self.value, self.pace_s = value, pace_s
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.stopped = threading.Event()

    def run(self) -> None:
        for index in range(self.blocks):
            if self.stopped.is_set():
                return
            status = type("Status", (), {"input_overflow": index in self.overflow_at})()
            block = np.full((480, 2), self.value(index), dtype=np.int32)
            self.callback(block, 480, None, status)
            time.sleep(self.pace_s)
        if self.unplug:
            self.finished()

    def start(self) -> None:
        self.thread.start()

    def abort(self) -> None:
        self.stopped.set()

    def close(self) -> None:
        self.stopped.set()


def _fake(blocks: int, overflow_at: frozenset[int] = frozenset(), unplug: bool = False) -> Any:
    def factory(device: Any, channels: int, rate: int, callback: Any, finished: Any) -> FakeStream:
        return FakeStream(callback, finished, blocks, set(overflow_at), unplug)

    return factory


def test_dropouts_are_counted_and_logged_with_their_time(
    ws: Workspace, session_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(
        ws,
        session_id,
        RecordOptions(inputs=(1, 2), max_duration_s=1.0),
        stream_factory=_fake(200, overflow_at=frozenset({10, 50})),
    )
    recorder.start()
    with caplog.at_level("WARNING"):
        result = recorder.wait()
    assert result.dropouts == pytest.approx((0.1, 0.5))
    assert "dropout" in caplog.text
    assert result.stop_reason == "duration"


def _until(recorder: Recorder, check: Any, seconds: float = 10.0) -> RecordingStatus:
    deadline = time.monotonic() + seconds
    while not check(status := recorder.status()):
        assert time.monotonic() < deadline, status
        time.sleep(0.02)
    return status


def test_a_device_that_stops_raises_the_alarm_and_recording_resumes_in_a_new_take(
    ws: Workspace, session_id: int
) -> None:
    recorder = Recorder(ws, session_id, RecordOptions(inputs=(1, 2)), stream_factory=_fake(50, unplug=True))
    recorder.start()
    lost = _until(recorder, lambda s: s.signal_lost)
    assert lost.running and "NO SIGNAL" in (lost.warning or "")
    first = sessions.get(ws, session_id).takes[-1]
    assert first.state == "complete" and first.frames == 50 * 480, "the take was closed cleanly"
    # The recorder opens the device again (here: a new fake stream) and goes on in a new take.
    back = _until(recorder, lambda s: not s.signal_lost and s.takes == 2)
    assert "Signal back" in (back.warning or "")
    recorder.stop()
    result = recorder.wait()
    assert result.stop_reason == "stopped" and len(result.take_ids) >= 2
    second = sessions.get(ws, session_id).takes[1]
    marker = ws.conn.execute("SELECT time_s, label FROM markers WHERE take_id = ?", (second.id,)).fetchone()
    assert marker["time_s"] == 0 and marker["label"].startswith("gap:")


def test_digital_silence_on_every_input_is_a_pulled_cable(ws: Workspace, session_id: int) -> None:
    """Blocks keep coming but hold exact zeros (what a sound server gives once the interface
    is gone): after 2 s, the alarm; nothing more is written until a real signal is back."""

    def factory(device: Any, channels: int, rate: int, callback: Any, finished: Any) -> Any:
        def value(index: int) -> int:
            return 0 if 100 <= index < 400 else 5000 + index  # 3 s of zeros after 1 s

        return FakeStream(callback, finished, 700, set(), False, value=value, pace_s=0.01)

    recorder = Recorder(ws, session_id, RecordOptions(inputs=(1, 2)), stream_factory=factory)
    recorder.start()
    _until(recorder, lambda s: s.signal_lost)
    _until(recorder, lambda s: not s.signal_lost and s.takes == 2)
    recorder.stop()
    recorder.wait()
    first, second = sessions.get(ws, session_id).takes[:2]
    assert first.frames == pytest.approx(300 * 480, abs=2 * 480), "1 s of signal, then 2 s of silence"
    data, _ = sf.read(str(ws.absolute(second.relpath)), dtype="int32", always_2d=True)
    assert data[0, 0] != 0, "the new take starts with the signal, not with the gap"


def test_takes_roll_over_before_wav_s_4_gib_whatever_the_setting(ws: Workspace, session_id: int) -> None:
    twelve = Recorder(ws, session_id, RecordOptions(inputs=tuple(range(1, 13))), stream_factory=_fake(1))
    assert twelve.segment_frames * 12 * 3 < 2**32
    assert twelve.segment_frames / RATE / 60 == pytest.approx(39.4, abs=0.1), "39 min, not 45"
    four = Recorder(ws, session_id, RecordOptions(inputs=(1, 2, 3, 4)), stream_factory=_fake(1))
    assert four.segment_frames == 45 * 60 * RATE


def test_disk_almost_full_warns_then_stops_keeping_everything(ws: Workspace, session_id: int) -> None:
    per_second = RATE * 2 * 3
    space = {"bytes": 9 * 60 * per_second}
    seen: list[RecordingStatus] = []
    recorder = Recorder(
        ws,
        session_id,
        RecordOptions(inputs=(1, 2)),
        stream_factory=_fake(10_000),
        free_space=lambda _path: space["bytes"],
    )
    recorder.start()

    def poll(status: RecordingStatus) -> None:
        seen.append(status)
        if status.warning and "minutes" in status.warning:
            space["bytes"] = 30 * per_second

    result = recorder.wait(poll)
    assert any(s.warning and "9 minutes" in s.warning for s in seen)
    assert result.stop_reason == "disk_full"
    take = sessions.get(ws, session_id).takes[-1]
    assert take.state == "complete" and take.frames > 0


def test_cli_devices_play_and_recover(
    ws: Workspace, session_id: int, audio_server: dict[str, str], tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from podcast.cli import app
    from sessions import importer

    runner = CliRunner(env={"COLUMNS": "200"})
    listed = runner.invoke(app, ["devices"])
    assert listed.exit_code == 0 and "podcast_quad_in" in listed.output
    source = tmp_path / "short.wav"
    sf.write(str(source), np.zeros((RATE // 2, 3), dtype=np.float32) + 0.01, RATE)
    importer.import_files(ws, session_id, [source])
    played = runner.invoke(app, ["-w", str(ws.root), "play", str(session_id), "--device", "podcast_mono_out"])
    assert played.exit_code == 0, played.output
    nothing = runner.invoke(app, ["-w", str(ws.root), "session", "recover", str(session_id)])
    assert "no take needs recovery" in nothing.output
    missing = runner.invoke(
        app, ["-w", str(ws.root), "session", "record", str(session_id), "--device", "nope"]
    )
    assert missing.exit_code == 1 and "Hint:" in missing.output


def _pactl(*args: str) -> str:
    return subprocess.run(["pactl", *args], capture_output=True, text=True, check=True).stdout


def test_a_pulled_cable_on_the_sound_server_raises_the_alarm_and_recording_resumes(
    ws: Workspace, session_id: int, audio_server: dict[str, str], tmp_path: Path
) -> None:
    """The 4-channel device's module is unloaded while noise plays (the interface and its
    microphones are gone), then loaded again and played into: two takes, a marked gap."""
    channel_map = "front-left,front-right,rear-left,rear-right"
    noise = ["pacat", "-p", "--device=podcast_quad", f"--channel-map={channel_map}", "--channels=4"]
    noise += ["--format=s16le", "--rate=48000", "--latency-msec=100", "/dev/urandom"]
    sink = ["sink_name=podcast_quad", "channels=4", "rate=48000", f"channel_map={channel_map}"]
    player = subprocess.Popen(noise)
    recorder = Recorder(ws, session_id, RecordOptions(device="podcast_quad_in", inputs=(1, 2, 3, 4)))
    recorder.start()
    unloaded = False

    def plug_back() -> None:
        """Load the device again, kept clocked as the server script does (its stop ends it)."""
        _pactl("load-module", "module-null-sink", *sink)
        keepalive = subprocess.Popen(
            ["pacat", "-p", "--device=podcast_quad", "--latency-msec=200", "/dev/zero"]
        )
        with open(Path(audio_server["PULSE_RUNTIME_PATH"]).parent / "keepalive.pids", "a") as pids:
            pids.write(f"{keepalive.pid}\n")

    try:
        _wait_for_audio(recorder, 1.0)
        lines = _pactl("list", "short", "modules").splitlines()
        module = next(line.split()[0] for line in lines if "podcast_quad" in line)
        _pactl("unload-module", module)  # the cable is pulled: the device and its signal are gone
        unloaded = True
        player.kill()
        lost = _until(recorder, lambda s: s.signal_lost, seconds=15)
        assert "NO SIGNAL" in (lost.warning or "") and lost.running
        first = sessions.get(ws, session_id).takes[-1]
        assert first.state == "complete", "the take in progress is closed cleanly"
        time.sleep(1.0)
        plug_back()
        unloaded = False
        player = subprocess.Popen(noise)
        _until(recorder, lambda s: not s.signal_lost and s.takes == 2, seconds=20)
        time.sleep(1.0)
    finally:
        recorder.stop()
        result = recorder.wait()
        player.kill()
        if unloaded:  # never leave the shared sound server without its 4-channel device
            plug_back()
    first, second = sessions.get(ws, session_id).takes[:2]
    data, _ = sf.read(str(ws.absolute(first.relpath)), dtype="int16", always_2d=True)
    assert np.abs(data[: RATE // 2]).max() > 1000, "the noise before the cable was pulled is there"
    again, _ = sf.read(str(ws.absolute(second.relpath)), dtype="int16", always_2d=True)
    assert np.abs(again).max() > 1000 and len(again) >= RATE // 2, (
        "recording went on after the device came back"
    )
    marker = ws.conn.execute("SELECT label FROM markers WHERE take_id = ?", (second.id,)).fetchone()
    assert marker is not None and marker["label"].startswith("gap:")
    assert result.stop_reason == "stopped"
