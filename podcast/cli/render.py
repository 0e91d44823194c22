"""Rendering helpers shared by commands (durations, tables)."""

from __future__ import annotations

from rich.table import Table

from podcast.cli.common import escape
from podcast.overview import Overview


def hms(seconds: float) -> str:
    """Format seconds as H:MM:SS or M:SS."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def overview_table(view: Overview) -> Table:
    table = Table(
        "ID",
        "Session",
        "Participants",
        "Takes",
        "Duration",
        "Transcript",
        "Extracts (cleared)",
        title=escape(view.show_title),
    )
    for item in view.sessions:
        takes = str(item.takes)
        if item.takes_needing_recovery:
            takes += f" ({item.takes_needing_recovery} to recover)"
        table.add_row(
            str(item.id),
            escape(item.title),
            escape(", ".join(item.participants)),
            takes,
            hms(item.duration_s),
            item.transcript,
            f"{item.extracts} ({item.extracts_cleared})",
        )
    return table
