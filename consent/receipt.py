"""Consent receipts for the association's paper file: decisions by pseudonym, and the
signed checkpoint that lets anyone later check the ledger was not rewritten."""

from __future__ import annotations

import html
from dataclasses import dataclass

from consent import checkpoints, decisions, participants
from podcast.clock import now_iso
from podcast.errors import LedgerNotVerified
from podcast.workspace import Workspace
from sessions import extracts, sessions

_LABELS = {
    "yes": "YES",
    "no": "NO",
    "later": "not yet",
    "withdrawn": "WITHDRAWN",
    "missing": "no answer",
    "outdated": "must hear the new version",
    "unconfirmed": "not confirmed: ask again",
}


@dataclass(frozen=True)
class Receipt:
    text: str
    html: str


def build(ws: Workspace, session_id: int) -> Receipt:
    """A plain-text and a printable HTML receipt for one session."""
    session = sessions.get(ws, session_id)
    report = checkpoints.examine(ws)
    verdict, checkpoint = report.verdict, report.last
    if verdict.status == "tampered":
        raise LedgerNotVerified(
            "The consent ledger does not verify; no receipt can be issued.",
            hint="Run 'podcast consent verify' to see why.",
        )
    names = {p.id: p.pseudonym for p in participants.list_all(ws, include_retired=True)}
    statuses = decisions.statuses(ws, extracts.list_all(ws, session_id), report.evidence)
    text = [f"CONSENT RECEIPT - session {session.id}: {session.title}", f"Issued {now_iso()}", ""]
    rows_html = []
    for item in statuses:
        verdict_word = "CLEARED" if item.cleared else "BLOCKED"
        text.append(f"Extract {item.extract.id}: {item.extract.title} [{verdict_word}]")
        text.append(f"  fingerprint {item.fingerprint}")
        cells = []
        for person in item.people:
            label = _LABELS[item.states[person.id]]
            text.append(f"  {person.pseudonym:<24} {label}")
            cells.append(
                f"<li><b>{html.escape(names.get(person.id, person.id))}</b>: {html.escape(label)}</li>"
            )
        text.append("")
        rows_html.append(
            f"<section><h2>Extract {item.extract.id}: {html.escape(item.extract.title)} "
            f"<span class='{verdict_word.lower()}'>{verdict_word}</span></h2>"
            f"<ul>{''.join(cells)}</ul><p class='small'>fingerprint {item.fingerprint}</p></section>"
        )
    if checkpoint:
        proof = [
            f"Ledger checkpoint: {checkpoint.count} entries, head {checkpoint.head}",
            f"signed {checkpoint.time} by key {checkpoint.key}",
            f"signature {checkpoint.sig}",
        ]
    else:
        proof = ["No decision recorded yet."]
    text += proof
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Consent receipt</title>"
        "<style>body{font-family:sans-serif;font-size:20pt;margin:2em}h1{font-size:28pt}"
        ".cleared{color:#070}.blocked{color:#a00}.small{font-size:9pt;word-break:break-all}"
        "li{margin:.3em 0}</style></head><body>"
        f"<h1>Consent receipt — session {session.id}: {html.escape(session.title)}</h1>"
        f"<p class='small'>Issued {now_iso()}</p>{''.join(rows_html)}"
        f"<footer class='small'>{'<br>'.join(html.escape(line) for line in proof)}</footer></body></html>\n"
    )
    return Receipt("\n".join(text) + "\n", page)
