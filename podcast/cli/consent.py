"""podcast consent review|give|refuse|withdraw|status|verify|repair|receipt"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import soundfile as sf
import typer
from rich.panel import Panel
from rich.table import Table

from consent import checkpoints, decisions, gate, participants, protection, receipt, review, sensitive
from consent.decisions import ExtractStatus
from consent.participants import Participant
from consent.review import Answer, ExtractView, ReviewStopped
from podcast import sound
from podcast.cli.common import PodcastGroup, SessionArg, console, err_console, escape, progress_bar, state
from podcast.errors import InvalidInputError
from podcast.fsutil import atomic_write_text
from podcast.models import default_data_dir
from podcast.phrases import phrases
from podcast.workspace import Workspace
from sessions import extracts

if TYPE_CHECKING:
    from publish.anonymise import Rendering

app = typer.Typer(
    cls=PodcastGroup,
    no_args_is_help=True,
    help="The group consent step, the tamper-evident ledger, withdrawals.",
)

MethodOption = Annotated[str, typer.Option(help="How the question was put: in_room, phone or paper.")]
LanguageOption = Annotated[str | None, typer.Option(help="Language the question was put in (fr, en, ...).")]
WitnessOption = Annotated[str | None, typer.Option(help="Witness pseudonym (default: the facilitator).")]
DetailOption = Annotated[bool, typer.Option("--detail", help="Show who said what (facilitator only).")]

_ANSWERS = {
    "y": Answer.YES,
    "yes": Answer.YES,
    "oui": Answer.YES,
    "o": Answer.YES,
    "n": Answer.NO,
    "no": Answer.NO,
    "non": Answer.NO,
    "l": Answer.LATER,
    "later": Answer.LATER,
    "plus tard": Answer.LATER,
    "p": Answer.LATER,
}


class RichPrompter:
    """The review in the terminal: the protected audio and its published words for the room,
    then each participant alone: her own screen in her language, her answer never echoed,
    and the same "thank you" whatever she answered."""

    def __init__(self, ws: Workspace, *, play: bool, renderings: dict[int, Rendering]) -> None:
        self.ws = ws
        self.play = play
        self.renderings = renderings
        self.out = console()

    def show(self, view: ExtractView, number: int, total: int) -> None:
        self.out.clear()
        rendering = self.renderings[view.extract_id]
        # The words as they would be published: pseudonyms, hidden names as […].
        lines = "\n".join(
            f"[bold]{escape(line.speaker)}[/]: {escape(' '.join(w.text for w in line.words))}"
            for line in rendering.lines
        )
        warning = ""
        if view.disguised:
            names = ", ".join(escape(name) for name in view.disguised)
            warning += f"\n\n[yellow]Disguised, not revoiced: {names}.[/] {protection.DISGUISE_WARNING}"
        self.out.print(
            Panel(
                f"{lines}{warning}",
                title=f"[bold]Extract {number} of {total}: {escape(self._title(view))}[/]",
                subtitle=f"{rendering.duration_s:.0f} seconds",
                padding=(1, 2),
            )
        )
        if self.play:
            samples, rate = sf.read(str(rendering.path), dtype="float32")
            self.out.print("[cyan]♪ Listening…[/]")
            sound.play(samples, rate)

    def _title(self, view: ExtractView) -> str:
        from publish import redaction

        session_id = extracts.get(self.ws, view.extract_id).session_id
        return redaction.redact_text(view.title, [p.phrase for p in sensitive.list_for(self.ws, session_id)])

    def ask(self, person: Participant, view: ExtractView) -> Answer:
        t = phrases(participants.language_of(self.ws, person))
        self.out.clear()
        self.out.print(
            Panel(
                f"{escape(t['pass_to'])} [bold reverse] {escape(person.pseudonym)} [/]\n\n"
                f"{escape(t['private'])}\n\n[bold]{escape(t['question'])}[/]\n{escape(t['keys'])}",
                padding=(1, 2),
            )
        )
        while True:
            try:
                reply = _read_hidden().strip().casefold()
            except EOFError:
                raise ReviewStopped(
                    "The review stopped: no more answers could be read.",
                    hint="Answers given so far are saved. Run the review again to continue.",
                ) from None
            if reply in _ANSWERS:
                break
            self.out.print(escape(t["keys_again"]))
        # The same screen whatever she answered.
        self.out.clear()
        self.out.print(Panel(f"{escape(t['thanks'])}\n{escape(t['give_back'])}", padding=(1, 2)))
        return _ANSWERS[reply]


def _read_hidden() -> str:
    """A line from the keyboard, not shown on screen (a plain read when input is not a terminal)."""
    if not sys.stdin.isatty():
        return input()
    import termios

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    quiet = list(saved)
    quiet[3] &= ~termios.ECHO
    try:
        termios.tcsetattr(fd, termios.TCSADRAIN, quiet)
        return input("> ")
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        print()


def consent_table(items: list[ExtractStatus], names: dict[str, str], detail: bool) -> Table:
    table = Table("Extract", "Title", "Consent", "Protected", "Publishable")
    people: list[str] = []
    if detail:
        people = sorted({p.id for item in items for p in item.people}, key=lambda i: names.get(i, i))
        for person in people:
            table.add_column(escape(names.get(person, person)))
    for item in items:
        if item.cleared:
            consent = "[green]cleared[/]"
        elif item.decision.ledger_problems:
            consent = "[red]blocked: ledger does not verify[/]"
        elif item.refused:
            consent = "[red]blocked[/]"  # who refused stays private in the group view
        else:
            consent = f"{item.answers_missing} answer(s) to get"
        row = [
            str(item.extract.id),
            escape(item.extract.title),
            consent,
            "yes" if item.protected else "no",
            "yes" if item.publishable else "no",
        ]
        row += [item.states.get(person, "-") for person in people]
        table.add_row(*row)
    return table


@app.command("review")
def review_(
    ctx: typer.Context,
    session_id: SessionArg,
    method: MethodOption = "in_room",
    language: LanguageOption = None,
    witness: WitnessOption = None,
    detail: DetailOption = False,
    play: Annotated[bool, typer.Option("--play/--no-play", help="Play each extract to the room.")] = True,
    extract: Annotated[list[int] | None, typer.Option("--extract", help="Only these extracts.")] = None,
) -> None:
    """Guide the group through each extract; every participant answers yes, no or not yet."""
    from publish import anonymise  # heavy (audio, DSP): only when needed
    from publish.voices import VoiceStore

    app_state = state(ctx)
    ws = app_state.workspace()
    lead = decisions.resolve_witness(ws, session_id, witness)
    # The room hears what would be published: every extract is protected before any question.
    with progress_bar(ctx, "Protecting the voices") as on_progress:
        renderings = {
            r.extract_id: r
            for r in anonymise.render_session(
                ws,
                session_id,
                voices=VoiceStore(default_data_dir()),
                models=app_state.model_store(),
                extract_ids=extract,
                on_progress=on_progress,
            )
        }
    result = review.run(
        ws,
        session_id,
        RichPrompter(ws, play=play, renderings=renderings),
        witness=lead,
        method=method,
        language=language,
        extract_ids=extract,
    )
    names = {p.id: p.pseudonym for p in participants.list_all(ws, include_retired=True)}
    console().print(consent_table(list(result.statuses), names, detail))
    console().print(
        f"{result.answers_recorded} answer(s) recorded; ledger checkpoint signed "
        f"({result.checkpoint_count} entries)."
    )


def _decide(
    ctx: typer.Context,
    session_id: int,
    extract_id: int,
    who: str,
    event: Answer,
    method: str,
    language: str | None,
    witness: str | None,
) -> None:
    ws = state(ctx).workspace()
    if extracts.get(ws, extract_id).session_id != session_id:
        raise InvalidInputError(
            f"Extract {extract_id} is not in session {session_id}.",
            hint="See 'podcast extract list'.",
        )
    person = participants.get(ws, who)
    lead = decisions.resolve_witness(ws, session_id, witness)
    decisions.record(
        ws,
        extract_id,
        person,
        event.value,
        witness=lead,
        method=method,
        language=language or decisions.default_language(ws, session_id),
    )
    console().print(
        f"Recorded: {escape(person.pseudonym)} — {'yes' if event is Answer.YES else 'no'} "
        f"to extract {extract_id} ({method})."
    )


ParticipantOption = Annotated[str, typer.Option("--participant", help="Her pseudonym.")]
ExtractArgument = Annotated[int, typer.Argument(help="Extract ID.", min=1)]


def _decision_command(answer: Answer, help_text: str) -> Callable[..., None]:
    """One command per kind of later answer (give, refuse), declared once."""

    def command(
        ctx: typer.Context,
        session_id: SessionArg,
        extract_id: ExtractArgument,
        participant: ParticipantOption,
        method: MethodOption = "phone",
        language: LanguageOption = None,
        witness: WitnessOption = None,
    ) -> None:
        _decide(ctx, session_id, extract_id, participant, answer, method, language, witness)

    command.__doc__ = help_text
    return command


app.command("give")(
    _decision_command(Answer.YES, "Record a yes given later (e.g. by phone) by an absent participant.")
)
app.command("refuse")(_decision_command(Answer.NO, "Record a no given later (e.g. by phone)."))


@app.command("withdraw")
def withdraw(
    ctx: typer.Context,
    participant: ParticipantOption,
    extract_id: Annotated[int | None, typer.Option("--extract", help="One extract.")] = None,
    session_id: Annotated[int | None, typer.Option("--session", help="Every extract of a session.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Everything she agreed to.")] = False,
    method: MethodOption = "in_room",
    language: Annotated[
        str | None, typer.Option(help="Language the request was made in (one of the show's).")
    ] = None,
) -> None:
    """Withdraw a participant's consent; the next publish re-cuts the episodes."""
    ws = state(ctx).workspace()
    person = participants.get(ws, participant)
    entries = decisions.withdraw(
        ws,
        person,
        extract_id=extract_id,
        session_id=session_id,
        everything=all_,
        method=method,
        language=language,
    )
    if not entries:
        console().print(
            f"{escape(person.pseudonym)} had not agreed to any of these extracts: nothing to withdraw."
        )
        return
    console().print(
        f"Withdrawn: {escape(person.pseudonym)} from {len(entries)} extract(s) "
        f"({', '.join(str(e.extract) for e in entries)}). It takes effect at the next publish."
    )
    console().print("Copies already downloaded by listeners cannot be recalled.")


@app.command("status")
def status(
    ctx: typer.Context,
    session_id: Annotated[int | None, typer.Argument(help="Only this session.")] = None,
    detail: DetailOption = False,
) -> None:
    """Which extracts are cleared; with --detail, who answered what."""
    ws = state(ctx).workspace()
    found = checkpoints.evidence(ws)
    items = decisions.statuses(ws, extracts.list_all(ws, session_id), found)
    if not items:
        console().print("No extracts yet.")
        return
    names = {p.id: p.pseudonym for p in participants.list_all(ws, include_retired=True)}
    console().print(consent_table(items, names, detail))
    ledger_warning(found)


def ledger_warning(found: gate.Evidence) -> None:
    """One red line when the ledger cannot be trusted: then nothing is cleared."""
    if not found.trusted:
        err_console().print(
            f"[bold red]The consent ledger does not verify[/]: {escape(found.problems[0])}. "
            "Nothing can be published."
        )
        err_console().print(f"[yellow]Hint:[/] {escape(found.hint)}")


@app.command("verify")
def verify(
    ctx: typer.Context,
    receipt_head: Annotated[
        str | None,
        typer.Option("--receipt", help="Also check against a paper receipt's head hash (64 hex digits)."),
    ] = None,
) -> None:
    """Check the ledger: every byte, the chain, the signed checkpoints and the pinned key."""
    ws = state(ctx).workspace()
    report = checkpoints.examine(ws)
    verdict, checkpoint = report.verdict, report.last
    out = console()
    if verdict.status == "torn_tail":
        out.print(
            f"[yellow]Torn tail[/]: {verdict.entries} complete entries, then an incomplete one "
            f"({verdict.torn_bytes} bytes), e.g. after a power cut. Not tampering."
        )
        out.print("Run 'podcast consent repair' to set it aside and keep every complete entry.")
        raise typer.Exit(1)
    if verdict.status != "intact":
        out.print(f"[bold red]Ledger TAMPERED[/] ({verdict.entries} entries): nothing can be published.")
        for problem in verdict.problems:
            out.print(f"  • {escape(problem)}")
        out.print("Restore consent/ and keys/ from a backup, and compare with the paper receipts.")
        raise typer.Exit(1)
    signed = f"; last signed checkpoint covers {checkpoint.count}" if checkpoint else ""
    out.print(f"[green]Ledger intact[/]: {verdict.entries} entries{signed}.")
    unconfirmed = report.evidence.unconfirmed_grants()
    if unconfirmed:
        lines = ", ".join(str(n) for n in unconfirmed)
        out.print(
            f"[bold red]{len(unconfirmed)} 'yes' without a signed checkpoint[/] (entries {lines}): "
            "they do not count. Forged, or written during a crash: ask those people again."
        )
        raise typer.Exit(1)
    if receipt_head:
        proof = checkpoints.check_receipt(ws, receipt_head)
        out.print(f"[green]Receipt matches[/]: entry {proof.count}, signed {proof.time}.")


@app.command("repair")
def repair(ctx: typer.Context) -> None:
    """Set aside a torn last entry (never a complete one); refuses on a tampered ledger."""
    ws = state(ctx).workspace()
    removed = checkpoints.repair(ws)
    console().print(
        f"Set aside {removed} byte(s) of an incomplete entry (kept beside the ledger)."
        if removed
        else "Nothing to repair."
    )


@app.command("receipt")
def receipt_(
    ctx: typer.Context,
    session_id: SessionArg,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a printable HTML page.")] = None,
) -> None:
    """Print a receipt of the session's decisions with the signed ledger checkpoint."""
    ws = state(ctx).workspace()
    item = receipt.build(ws, session_id)
    typer.echo(item.text, nl=False)
    if html:
        atomic_write_text(html, item.html)
        console().print(f"Printable receipt: {escape(str(html))}")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="consent")
