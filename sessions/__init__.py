"""Devices, recording, import, recovery, transcription, transcripts and extracts."""
