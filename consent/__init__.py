"""Participants (pseudonyms), the consent ledger, the review step and the publication gate."""
