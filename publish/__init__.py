"""Anonymisation and redaction, episode assembly, loudness, encoding, tags and the feed."""
