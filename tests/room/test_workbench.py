"""The facilitator's workbench in a real browser (Debian's Chromium driven by Playwright).

On the small transcribed session (Amara, Blessing; Fatou facilitates), with an extract both
participants agreed to: correct a word while the take plays, change a speaker, split and
join lines, select lines into an extract, mark a sensitive word, mark lines reviewed, undo.
After each, the database, `transcript export` and the extract's fingerprint say the same,
and the agreement given to the earlier version no longer counts. Two tabs editing one line
lose neither edit silently. Screenshots go to test-output/workbench/.
"""

from __future__ import annotations

import http.client
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from consent import decisions, sensitive
from podcast.room.app import RoomConfig
from podcast.room.security import csrf_value
from podcast.workspace import Workspace
from sessions import extracts, history, sessions, transcripts
from tests.publish.conftest import VOICES
from tests.room.conftest import free_port, serve
from tests.sessions.transcript_data import everyone_agrees

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "workbench"

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]


@dataclass(frozen=True)
class Bench:
    ws: Workspace
    session_id: int
    extract_id: int
    port: int
    token: str

    @property
    def entry(self) -> str:
        return f"http://127.0.0.1:{self.port}/session/{self.session_id}/transcript?token={self.token}"

    def lines(self) -> list[tuple[str, str]]:
        return [(u.speaker, u.text) for u in transcripts.load(self.ws, self.session_id).utterances]

    def agreed(self) -> bool:
        """Whether the extract's earlier agreement still counts."""
        status = decisions.status(self.ws, extracts.get(self.ws, self.extract_id))
        return "yes" in status.states.values()


@pytest.fixture
def bench(ws: Workspace, sid: int) -> Iterator[Bench]:
    first = transcripts.load(ws, sid).utterances
    extract = extracts.add(ws, sid, segments=(first[0].key, first[1].key), title="Arrival")
    everyone_agrees(ws, extract)
    port = free_port()
    token = "bench-token-" + "y" * 20
    with serve(RoomConfig(ws.root, token, port, VOICES, None)):
        yield Bench(ws, sid, extract.id, port, token)


@pytest.fixture
def page(bench: Bench, browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(f"{error} {error.stack}"))
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.goto(bench.entry)
    opened.wait_for_selector("#lines .line")
    yield opened
    context.close()
    assert not errors, errors


def line(page, index: int):  # type: ignore[no-untyped-def]
    return page.locator("#lines .line").nth(index)


def saved(page, act) -> str:  # type: ignore[no-untyped-def]
    """Do something on the page and wait until the server has answered and the page shows the
    stored lines again (the notice comes last)."""
    page.evaluate("document.getElementById('notice').textContent = ''")
    act()
    page.wait_for_function("() => document.getElementById('notice').textContent.length > 0")
    return str(page.locator("#notice").text_content())


def test_correct_a_word_while_it_plays(bench: Bench, page) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    ranges: list[str] = []
    page.on("request", lambda r: ranges.append(r.headers.get("range", "")) if "listen.wav" in r.url else None)
    page.locator("#lines .w", has_text="three").click()
    page.wait_for_function("() => !document.getElementById('player').paused")
    page.wait_for_function("() => document.getElementById('player').currentTime > 4.0")
    assert page.locator("#word-menu").is_visible()
    page.screenshot(path=str(SHOTS / "1-playing-from-a-word.png"), full_page=True)
    assert ranges and all(r.startswith("bytes=") for r in ranges), "the take is fetched by ranges"
    # Correct the line while it plays: its text becomes an editor, Enter saves.
    line(page, 1).locator(".edit").click()
    editor = line(page, 1).locator(".editor")
    assert editor.input_value() == "I arrived in Paris three years ago"
    editor.fill("I arrived in Paris four years ago")
    notice = saved(page, lambda: editor.press("Enter"))
    assert "problem" not in str(page.locator("#notice").get_attribute("class"))
    assert notice
    assert bench.lines()[1] == ("Blessing", "I arrived in Paris four years ago")
    assert "four years ago" in transcripts.export(bench.ws, bench.session_id, "vtt")
    assert not bench.agreed(), "the yes given to the earlier words no longer counts"
    assert line(page, 1).locator(".text").inner_text().strip() == "I arrived in Paris four years ago"
    assert not page.evaluate("document.getElementById('player').paused"), "playback went on"
    page.keyboard.press("Escape")
    assert page.evaluate("document.getElementById('player').paused"), "Esc pauses"
    at = page.evaluate("document.getElementById('player').currentTime")
    page.keyboard.press("F1")
    assert page.evaluate("document.getElementById('player').currentTime") == pytest.approx(
        max(0, at - 3), abs=0.3
    )


def test_her_microphone_alone(bench: Bench, page) -> None:  # type: ignore[no-untyped-def]
    page.locator("#her-mic").check()
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url) if "listen.wav" in r.url else None)
    page.locator("#lines .w", has_text="Blessing").click()
    page.wait_for_function("() => !document.getElementById('player').paused")
    take = sessions.get(bench.ws, bench.session_id).takes[0]
    amara = next(o.channel for o in take.owners if o.participant and o.participant.pseudonym == "Amara")
    assert urls and urls[-1].endswith(f"channel={amara}"), "the last line is Amara's: her microphone"


def test_change_speaker_split_join_and_undo(bench: Bench, page) -> None:  # type: ignore[no-untyped-def]
    line(page, 2).locator("button.speaker").click()
    saved(page, lambda: page.locator("#speaker-menu button", has_text="Fatou (facilitator)").click())
    assert bench.lines()[2] == ("Fatou", "Thank you Blessing")
    # Split Blessing's line before "Paris", then join it back.
    page.locator("#lines .w", has_text="Paris").click()
    saved(page, lambda: page.locator("#word-menu [data-menu=split]").click())
    assert [text for _, text in bench.lines()][1:3] == ["I arrived in", "Paris three years ago"]
    assert not bench.agreed()
    page.screenshot(path=str(SHOTS / "2-split.png"), full_page=True)
    saved(page, lambda: line(page, 1).locator(".join").click())
    assert bench.lines()[1] == ("Blessing", "I arrived in Paris three years ago")
    saved(page, lambda: page.locator("#undo").click())
    assert [text for _, text in bench.lines()][1:3] == ["I arrived in", "Paris three years ago"]
    assert history.last(bench.ws, bench.session_id).action == "split"  # type: ignore[union-attr]
    line(page, 0).locator("button.language").click()
    saved(page, lambda: page.locator("#language-menu [data-language=fr]").click())
    assert line(page, 0).locator("button.language").text_content() == "fr"
    assert transcripts.load(bench.ws, bench.session_id).utterances[0].language == "fr"


def test_select_lines_into_an_extract_and_see_its_state(bench: Bench, page) -> None:  # type: ignore[no-untyped-def]
    line(page, 1).locator(".num").click()
    line(page, 2).locator(".num").click(modifiers=["Shift"])
    assert page.locator("#lines .line.selected").count() == 2
    page.locator("#extract-title").fill("Thanks <b>for</b> coming")
    saved(page, lambda: page.locator("#make-extract").click())
    made = extracts.list_all(bench.ws, bench.session_id)[-1]
    assert made.id != bench.extract_id and made.title == "Thanks <b>for</b> coming"
    inside = extracts.utterances_in(transcripts.load(bench.ws, bench.session_id), made)
    assert [u.speaker for u in inside] == ["Blessing", "Amara"], "exactly the selected lines"
    brackets = page.locator(".bracket")
    assert brackets.count() == 2
    assert brackets.nth(1).locator(".badge").get_attribute("data-state") == "waiting"
    assert brackets.nth(0).locator(".badge").get_attribute("data-state") == "cleared"
    assert page.locator("b", has_text="for").count() == 0, "a title is text, never markup"
    page.screenshot(path=str(SHOTS / "3-extracts.png"), full_page=True)


def test_mark_a_sensitive_word_then_remove_it(bench: Bench, page) -> None:  # type: ignore[no-untyped-def]
    page.locator("#lines .w", has_text="Paris").click()
    saved(page, lambda: page.locator("#word-menu [data-menu=session]").click())
    assert [p.phrase for p in sensitive.list_for(bench.ws, bench.session_id)] == ["Paris"]
    assert page.locator("#lines .w.sensitive").count() == 1
    assert not bench.agreed(), "a new sensitive word in the extract changes what is published"
    page.screenshot(path=str(SHOTS / "4-sensitive-word.png"), full_page=True)
    saved(page, lambda: page.locator(".remove-word").click())
    assert sensitive.list_for(bench.ws, bench.session_id) == []
    assert page.locator("#lines .w.sensitive").count() == 0
    page.locator("#new-word").fill("Blessing")
    page.locator("#new-word-scope").select_option("show")
    saved(page, lambda: page.locator("#add-word button").click())
    assert [(p.phrase, p.session_id) for p in sensitive.list_for(bench.ws)] == [("Blessing", None)]
    assert page.locator("#lines .w.sensitive").count() == 1


def test_review_is_explicit_and_shows_what_is_left(bench: Bench, page) -> None:  # type: ignore[no-untyped-def]
    assert page.locator("#lines .line.unheard").count() == 3
    saved(page, lambda: line(page, 0).locator(".mark").click())
    assert [u.reviewed for u in transcripts.load(bench.ws, bench.session_id).utterances] == [
        True,
        False,
        False,
    ]
    assert page.locator("#lines .line.unheard").count() == 2
    assert "2" in str(page.locator("#left").text_content())
    saved(page, lambda: page.locator("#mark-all").click())
    assert transcripts.load(bench.ws, bench.session_id).reviewed
    assert page.locator("#lines .line.unheard").count() == 0


def test_two_tabs_editing_one_line_lose_nothing_silently(bench: Bench, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    first, second = context.new_page(), context.new_page()
    for tab in (first, second):
        tab.goto(bench.entry)
        tab.wait_for_selector("#lines .line")
    line(first, 0).locator(".edit").click()
    line(first, 0).locator(".editor").fill("Welcome everyone")
    saved(first, lambda: line(first, 0).locator(".editor").press("Enter"))
    line(second, 0).locator(".edit").click()
    line(second, 0).locator(".editor").fill("Welcome all of you")
    notice = saved(second, lambda: line(second, 0).locator(".editor").press("Enter"))
    assert "Welcome everyone" in notice, "the second tab is told what the line says now"
    assert "problem" in str(second.locator("#notice").get_attribute("class"))
    assert bench.lines()[0][1] == "Welcome everyone", "the first edit is kept"
    assert line(second, 0).locator(".text").inner_text().strip() == "Welcome everyone", (
        "it shows the stored line"
    )
    second.screenshot(path=str(SHOTS / "5-conflict.png"), full_page=True)
    context.close()


def _get(bench: Bench, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", bench.port, timeout=10)
    connection.request(
        "GET",
        path,
        headers={"Host": f"127.0.0.1:{bench.port}", "Cookie": f"podcast_room={bench.token}", **headers},
    )
    return connection.getresponse()


def test_the_take_is_served_by_ranges_as_a_mono_wav(bench: Bench) -> None:
    take = sessions.get(bench.ws, bench.session_id).takes[0]
    source, rate = sf.read(str(bench.ws.absolute(take.relpath)), dtype="float32", always_2d=True)
    path = f"/session/{bench.session_id}/take/{take.position}/listen.wav?channel=2"
    whole = _get(bench, path, {})
    assert whole.status == 200 and whole.getheader("accept-ranges") == "bytes"
    data = whole.read()
    assert int(whole.getheader("content-length") or 0) == len(data) == 44 + 2 * len(source)
    mono, mono_rate = sf.read(io.BytesIO(data), dtype="float32")
    assert mono_rate == rate and np.abs(mono - source[:, 1]).max() < 1e-3
    part = _get(bench, path, {"Range": "bytes=1001-2000"})
    assert part.status == 206 and part.getheader("content-range") == f"bytes 1001-2000/{len(data)}"
    assert part.read() == data[1001:2001]
    assert _get(bench, path, {"Range": f"bytes={len(data)}-"}).status == 416
    assert _get(bench, path.replace("channel=2", "channel=9"), {}).status == 404
    assert _get(bench, f"/session/{bench.session_id}/take/7/listen.wav", {}).status == 404
    path = f"/session/{bench.session_id}/take/{take.position}/levels"
    first = _get(bench, path, {})
    first.read()
    assert first.status == 202, "measured in the background the first time"
    deadline = time.monotonic() + 20
    while (answer := _get(bench, path, {})).status == 202 and time.monotonic() < deadline:
        answer.read()
        time.sleep(0.1)
    data = json.loads(answer.read())
    assert answer.status == 200 and data["per_second"] == 10 and len(data["channels"]) == take.channels
    assert len(data["channels"][0]) == pytest.approx(take.duration_s * 10, abs=1)


def _post_change(bench: Bench, body: str, **headers: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", bench.port, timeout=10)
    connection.request(
        "POST",
        f"/session/{bench.session_id}/transcript/change",
        body=body,
        headers={
            "Host": f"127.0.0.1:{bench.port}",
            "Cookie": f"podcast_room={bench.token}",
            "Content-Type": "application/json",
            **headers,
        },
    )
    return connection.getresponse().status


def test_changes_need_the_page_security_value(bench: Bench) -> None:
    key = transcripts.load(bench.ws, bench.session_id).utterances[0].key
    body = f'{{"action": "text", "key": {key}, "text": "forged"}}'
    assert _post_change(bench, body) == 403
    assert _post_change(bench, body, **{"X-CSRF": "wrong"}) == 403
    assert (
        _post_change(bench, body, **{"X-CSRF": csrf_value(bench.token), "Origin": "http://evil.example"})
        == 403
    )
    assert "forged" not in [text for _, text in bench.lines()]
    assert _post_change(bench, body, **{"X-CSRF": csrf_value(bench.token)}) == 200, (
        "the right value is accepted"
    )
    assert bench.lines()[0][1] == "forged"


def test_the_page_speaks_the_shows_language(bench: Bench, browser) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from podcast import settings

    settings.save(replace(bench.ws.settings(), language="fr"), bench.ws.settings_path)
    page = browser.new_page(viewport={"width": 1400, "height": 800})
    page.goto(bench.entry)
    page.wait_for_selector("#lines .line")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert "Transcription" in page.title()
    assert page.locator("#make-extract").text_content() == "Faire un extrait des lignes choisies"
    assert page.locator(".bracket .badge").first.text_content() == "Toutes d'accord"
    page.locator("#lines .w", has_text="Paris").click()
    page.wait_for_selector("#word-menu:not([hidden])")
    page.screenshot(path=str(SHOTS / "6-french.png"))


def test_hostile_words_are_shown_as_text(bench: Bench, browser) -> None:  # type: ignore[no-untyped-def]
    from sessions import editing

    key = transcripts.load(bench.ws, bench.session_id).utterances[0].key
    editing.set_text(bench.ws, bench.session_id, key, '<img src=x onerror=alert(1)> & "quotes"')
    page = browser.new_page()
    page.goto(bench.entry)
    page.wait_for_selector("#lines .line")
    assert page.locator("#lines img").count() == 0
    assert line(page, 0).locator(".text").inner_text().strip() == '<img src=x onerror=alert(1)> & "quotes"'


def test_a_take_that_cannot_be_read_gives_no_level_strip_and_no_endless_wait(bench: Bench) -> None:
    take = sessions.get(bench.ws, bench.session_id).takes[0]
    path = bench.ws.absolute(take.relpath)
    path.write_bytes(b"RIFF" + b"\0" * 100)  # damaged on disk
    url = f"/session/{bench.session_id}/take/{take.position}/levels"
    deadline = time.monotonic() + 20
    while (answer := _get(bench, url, {})).status == 202 and time.monotonic() < deadline:
        answer.read()
        time.sleep(0.1)
    assert answer.status == 404 and b"cannot be read" in answer.read()


def test_a_line_of_uncertain_language_is_shown_until_she_says_which_it_is(  # type: ignore[no-untyped-def]
    bench: Bench, page
) -> None:
    first = transcripts.load(bench.ws, bench.session_id).utterances[0]
    # As transcription leaves a line whose language detection was unsure (fr 0.55 vs en).
    bench.ws.conn.execute("UPDATE segments SET language_p = 0.55 WHERE id = ?", (first.segment_id,))
    page.reload()
    page.wait_for_selector("#lines .line")
    button = line(page, 0).locator("button.language")
    assert "uncertain" in str(button.get_attribute("class")) and "?" in str(button.text_content())
    assert line(page, 1).locator("button.language.uncertain").count() == 0
    page.screenshot(path=str(SHOTS / "8-language-uncertain.png"))
    button.click()
    saved(page, lambda: page.locator("#language-menu [data-language=fr]").click())
    assert line(page, 0).locator("button.language").text_content() == "fr"
    assert line(page, 0).locator("button.language.uncertain").count() == 0
    after = transcripts.load(bench.ws, bench.session_id).utterances[0]
    assert after.language == "fr" and not after.language_uncertain
