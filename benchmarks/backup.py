"""How long an encrypted backup of a long session takes, how big it is, and its restore.

Generates a 2-hour, 4-microphone, 48 kHz 24-bit session (tones and noise, one microphone per
speaker with bleed), imports it (stored as FLAC, as every import is), then runs
`podcast backup` and `podcast restore` (which checks every file and the consent record) and
prints time, size, throughput and peak memory of each.

Usage: python benchmarks/backup.py [--minutes 120]
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.workbench import make_take  # noqa: E402
from consent import participants  # noqa: E402
from podcast import backup, settings, vault  # noqa: E402
from podcast.settings import ShowSettings  # noqa: E402
from podcast.workspace import Workspace  # noqa: E402
from sessions import importer, sessions  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=120.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    try:
        source = folder / "long.wav"
        make_take(source, args.minutes)
        secret, public = vault.new_identity()
        key = folder / "key.txt"
        key.write_text(secret)
        ws = Workspace.create(folder / "ws", ShowSettings(title="Bench", language="en", archive_key=public))
        for name in ("Amara", "Blessing", "Chidinma", "Dounia"):
            participants.add(ws, name)
        session = sessions.create(ws, "A long workshop", ["Amara", "Blessing", "Chidinma", "Dounia"])
        importer.import_files(ws, session.id, [source])
        source.unlink()
        settings.save(dataclasses.replace(ws.settings(), archive_key=public), ws.settings_path)
        stored = sum(p.stat().st_size for p in ws.root.rglob("*") if p.is_file())
        before = peak_mb()
        began, cpu = time.perf_counter(), time.process_time()
        made = backup.make(ws, folder / "backup.tar.age")
        wall, used = time.perf_counter() - began, time.process_time() - cpu
        memory = peak_mb()
        ws.close()
        began = time.perf_counter()
        restored = backup.restore(made.path, folder / "restored", key)
        restore_wall = time.perf_counter() - began
        size = made.path.stat().st_size
        print(f"Backup benchmark: {args.minutes:.0f}-minute session, 4 microphones, 48 kHz 24-bit (FLAC)")
        print(f"  workspace              {stored / 1e9:8.2f} GB in {made.files} files")
        print(
            f"  backup                 {wall:8.1f} s wall, {used:.1f} s CPU, {stored / wall / 1e6:.0f} MB/s"
        )
        print(f"  archive                {size / 1e9:8.2f} GB ({100 * size / stored:.1f} % of the workspace)")
        print(f"  peak memory            {memory:8.0f} MB (before the backup: {before:.0f} MB)")
        print(
            f"  restore + checks       {restore_wall:8.1f} s ({restored.files} files, every SHA-256 and the "
            "consent record verified)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
