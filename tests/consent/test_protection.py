"""Disguise parameters: drawn from the public ranges, never close to her own voice."""

from __future__ import annotations

from consent import protection


def test_disguise_draws_change_timbre_and_pitch_together_and_stay_in_range() -> None:
    draws = [protection.draw_disguise_params() for _ in range(500)]
    for params in draws:
        low, high = protection.FORMANT_RANGE
        assert low <= params.formant_ratio <= high
        assert not protection.FORMANT_AVOID[0] <= params.formant_ratio <= protection.FORMANT_AVOID[1]
        low, high = protection.PITCH_RANGE
        assert low <= params.pitch_ratio <= high
        assert not protection.PITCH_AVOID[0] <= params.pitch_ratio <= protection.PITCH_AVOID[1]
        assert protection.ALPHA_RANGE[0] <= params.mcadams_alpha <= protection.ALPHA_RANGE[1]
        assert len(params.salt) == 32
    # Secure and fresh: no two draws alike, both directions used.
    assert len({p.salt for p in draws}) == len(draws)
    assert any(p.formant_ratio < 1 for p in draws) and any(p.formant_ratio > 1 for p in draws)
    assert any(p.pitch_ratio < 1 for p in draws) and any(p.pitch_ratio > 1 for p in draws)
