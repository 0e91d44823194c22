"""The transcription benchmark's statistics: errors charged per sentence, paired bootstrap."""

from __future__ import annotations

import jiwer
import numpy as np

from benchmarks.transcribe import sentence_errors, wer_difference


def test_errors_per_sentence_add_up_to_jiwers_count() -> None:
    reference = "the cat sat on the mat we laughed about it"
    hypothesis = "the cat sad on mat and we left about it too"
    errors = sentence_errors([6, 4], reference, hypothesis)
    out = jiwer.process_words(reference, hypothesis)
    assert errors.sum() == out.substitutions + out.deletions + out.insertions
    # "sad" and the missing "the" are in the first sentence; "and" is inserted at its end
    # or the second's start; "left" and "too" belong to the second.
    assert errors[0] >= 2 and errors[1] >= 2


def test_identical_tools_differ_by_nothing_and_a_worse_one_by_a_positive_interval() -> None:
    words = np.full(200, 10)
    peer = np.zeros(200)
    peer[::10] = 1  # 20 errors in 2000 words
    assert wer_difference(words, peer, peer) == (0.0, 0.0, 0.0)
    worse = peer.copy()
    worse[1::4] += 1  # 50 more errors
    diff, low, high = wer_difference(words, worse, peer)
    assert diff == 50 / 2000
    assert 0 < low < diff < high
