"""The review room in a real browser (Debian's Chromium driven by Playwright), on 127.0.0.1.

Three participants in two languages review two protected extracts; one says no. Checked: the
extract is blocked and nothing shows who; her language's labels; every request stays on
127.0.0.1; the ledger holds exactly the answers clicked and verifies; a request without the
token, with a foreign Host or without the CSRF value records nothing; a browser closed in the
middle leaves no half answer; keyboard only and 200 % zoom work. Screenshots of the three
participant screens go to test-output/room/ for a person to look at.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from consent import checkpoints, decisions, participants, protection
from podcast.room.app import RoomConfig
from podcast.room.security import csrf_value
from podcast.workspace import Workspace
from publish import anonymise
from sessions import extracts, transcripts
from tests.publish.conftest import VOICES
from tests.room.conftest import free_port, serve

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "room"

pytestmark = [pytest.mark.browser, pytest.mark.enable_socket, pytest.mark.allow_hosts(["127.0.0.1"])]


@dataclass(frozen=True)
class Room:
    ws: Workspace
    session_id: int
    extract_ids: tuple[int, int]
    port: int
    token: str

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def entry(self) -> str:
        return f"{self.base}/session/{self.session_id}?token={self.token}"


@pytest.fixture
def room(ws: Workspace, sid: int) -> Iterator[Room]:
    """The fake session with a third participant (French), two extracts rendered, the room served."""
    chidinma = participants.add(ws, "Chidinma")
    ws.conn.execute("INSERT INTO session_members VALUES (?, ?, 'participant', 3)", (sid, chidinma.id))
    participants.set_language(ws, "Blessing", "fr")
    protection.set_mode(ws, "Blessing", "disguise", reduced=True)
    transcripts.mark_reviewed(ws, sid)
    ids = tuple(extracts.add(ws, sid, find=q).id for q in ("arrived in paris", "thank you"))
    for extract_id in ids:
        anonymise.render(ws, extracts.get(ws, extract_id), voices=VOICES, models=None)
    port = free_port()
    token = "test-token-" + "x" * 20
    with serve(RoomConfig(ws.root, token, port, VOICES, None)):
        yield Room(ws, sid, (ids[0], ids[1]), port, token)  # type: ignore[arg-type]


def _ledger(ws: Workspace) -> list[dict[str, object]]:
    return [json.loads(line) for line in checkpoints.ledger(ws).complete_lines()]


class Clicks:
    """Counts every click and key press a person makes."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.page = page
        self.count = 0

    def click(self, locator) -> None:  # type: ignore[no-untyped-def]
        locator.click()
        self.count += 1


def _review(page, clicks: Clicks, extract_id: int, answers: list[str], shots: bool = False) -> list[str]:  # type: ignore[no-untyped-def]
    """Listen together, then each person in turn; returns the thanks pages' HTML."""
    clicks.click(page.locator(f"a[href$='/extract/{extract_id}']"))
    assert page.locator("audio#extract-audio").count() == 1
    clicks.click(page.locator("a.button.primary"))  # ask each person, one by one
    thanks = []
    for number, answer in enumerate(answers):
        if shots and number < 2:
            page.screenshot(path=str(SHOTS / f"1-pass-the-laptop-{number + 1}.png"), full_page=True)
        clicks.click(page.locator("a.button.primary.huge"))  # "I am Amara"
        if shots and number < 2:
            page.screenshot(path=str(SHOTS / f"2-her-screen-{number + 1}.png"), full_page=True)
        clicks.click(page.locator(f"button.answer.{answer}"))
        page.wait_for_url("**/thanks/*")
        if shots and number < 2:
            page.screenshot(path=str(SHOTS / f"3-thank-you-{number + 1}.png"), full_page=True)
        thanks.append(page.content())
        clicks.click(page.locator("a.button.primary.huge"))  # next
    return thanks


def test_three_people_review_two_extracts_and_a_no_stays_private(room: Room, browser) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    visited: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("framenavigated", lambda f: visited.append(f.url))
    started = time.monotonic()
    page.goto(room.entry)
    assert "token" not in page.url, "the token is traded for a cookie at once"
    page.screenshot(path=str(SHOTS / "0-group-view-before.png"), full_page=True)
    clicks = Clicks(page)
    first = _review(page, clicks, room.extract_ids[0], ["yes", "yes", "yes"], shots=True)
    second = _review(page, clicks, room.extract_ids[1], ["yes", "no", "yes"])
    seconds = time.monotonic() - started
    page.screenshot(path=str(SHOTS / "4-group-view-after.png"), full_page=True)
    (SHOTS / "figures.txt").write_text(
        f"Three people, two extracts: {clicks.count} clicks, {seconds:.1f} s of page time "
        "(no listening time: the audio is not played to the end).\n"
    )
    # The group view: cleared and blocked, never who.
    group = page.content()
    assert "Everyone agreed" in group and "Not broadcast" in group
    titles = [extracts.get(room.ws, x).title for x in room.extract_ids]  # "Thank you Blessing"
    for title in titles:
        group = group.replace(title, "")
    for name in ("Amara", "Blessing", "Chidinma"):
        assert name not in group
    # Blessing's "yes" (extract 1) and "no" (extract 2) gave the same thank-you page.
    same = [
        html.replace(f"/extract/{room.extract_ids[1]}/", f"/extract/{room.extract_ids[0]}/")
        for html in second
    ]
    assert same[1] == first[1]
    # No address, visited or requested, says what anyone answered.
    for url in visited + requests:
        assert not any(word in url for word in ("yes", "no=", "refuse", "grant", "oui", "non")), url
        assert url.startswith(room.base), f"a request left the computer: {url}"
    # The ledger holds exactly the six answers clicked, in the room, in each one's language.
    entries = _ledger(room.ws)
    names = {p.id: p.pseudonym for p in participants.list_all(room.ws)}
    got = [
        (e["extract"], names[str(e["participant"])], e["event"], e["method"], e["language"]) for e in entries
    ]
    ex1, ex2 = room.extract_ids
    assert got == [
        (ex1, "Amara", "grant", "room", "en"),
        (ex1, "Blessing", "grant", "room", "fr"),
        (ex1, "Chidinma", "grant", "room", "en"),
        (ex2, "Amara", "grant", "room", "en"),
        (ex2, "Blessing", "refuse", "room", "fr"),
        (ex2, "Chidinma", "grant", "room", "en"),
    ]
    assert checkpoints.verify(room.ws)[0].status == "intact"
    assert checkpoints.evidence(room.ws).unconfirmed_grants() == ()
    states = decisions.session_status(room.ws, room.session_id)
    assert [s.cleared for s in states] == [True, False] and states[1].refused
    context.close()


def test_her_screen_speaks_her_language(room: Room, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(room.entry)
    page.goto(f"{room.base}/session/{room.session_id}/extract/{room.extract_ids[0]}/ask/1")  # Blessing
    assert page.locator("html").get_attribute("lang") == "fr"
    for label in ("Oui", "Non", "Pas encore", "Réécouter"):
        assert page.get_by_role("button", name=label, exact=True).count() == 1
    assert "pourraient encore la reconnaître" in page.content()  # her protection: disguise
    page.goto(f"{room.base}/session/{room.session_id}/extract/{room.extract_ids[0]}/ask/0")  # Amara
    assert page.get_by_role("button", name="Yes").count() == 1
    assert "nobody can recognise your voice" in page.content()  # revoice


def test_keyboard_only_and_200_percent_zoom(room: Room, browser) -> None:  # type: ignore[no-untyped-def]
    # 200 % zoom: half the CSS width, twice the pixels.
    context = browser.new_context(viewport={"width": 640, "height": 450}, device_scale_factor=2)
    page = context.new_page()
    page.goto(room.entry)
    page.goto(f"{room.base}/session/{room.session_id}/extract/{room.extract_ids[0]}/ask/0")
    page.screenshot(path=str(SHOTS / "5-her-screen-at-200-percent.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.value") == "yes":
            break
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Yes"
    page.keyboard.press("Enter")
    page.wait_for_url("**/thanks/0")
    assert [e["event"] for e in _ledger(room.ws)] == ["grant"]
    context.close()


def test_a_browser_closed_on_her_screen_records_nothing(room: Room, browser) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context()
    page = context.new_page()
    page.goto(room.entry)
    page.goto(f"{room.base}/session/{room.session_id}/extract/{room.extract_ids[0]}/ask/2")
    assert page.get_by_role("button", name="No", exact=True).count() == 1
    context.close()
    assert _ledger(room.ws) == []
    assert checkpoints.verify(room.ws)[0].status == "intact"


def _request(
    room: Room, method: str, path: str, *, headers: dict[str, str], body: str = ""
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", room.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def test_no_token_foreign_host_or_missing_csrf_records_nothing(room: Room) -> None:
    host = f"127.0.0.1:{room.port}"
    ask = f"/session/{room.session_id}/extract/{room.extract_ids[0]}/ask/0"
    cookie = f"podcast_room={room.token}"
    good = f"csrf={csrf_value(room.token)}&heard=x&answer=yes"
    form = "application/x-www-form-urlencoded"
    assert _request(room, "GET", ask, headers={"Host": host})[0] == 403
    assert _request(room, "GET", f"{ask}?token=wrong", headers={"Host": host})[0] == 403
    assert (
        _request(room, "GET", f"{ask}?token={room.token}", headers={"Host": "attacker.example:80"})[0] == 400
    )
    assert _request(room, "GET", ask, headers={"Host": "evil.example", "Cookie": cookie})[0] == 400
    no_csrf = "heard=x&answer=yes"
    assert (
        _request(
            room, "POST", ask, headers={"Host": host, "Cookie": cookie, "Content-Type": form}, body=no_csrf
        )[0]
        == 403
    )
    cross = {"Host": host, "Cookie": cookie, "Content-Type": form, "Origin": "http://evil.example"}
    assert _request(room, "POST", ask, headers=cross, body=good)[0] == 403
    assert _request(room, "POST", ask, headers={"Host": host, "Content-Type": form}, body=good)[0] == 403
    assert _ledger(room.ws) == []
    # A right request that heard an older version records nothing either.
    status, headers, _ = _request(
        room, "POST", ask, headers={"Host": host, "Cookie": cookie, "Content-Type": form}, body=good
    )
    assert status == 303 and "changed=1" in headers["location"]
    assert _ledger(room.ws) == []


def test_pages_and_audio_carry_strict_headers(room: Room) -> None:
    host = f"127.0.0.1:{room.port}"
    cookie = f"podcast_room={room.token}"
    status, headers, _ = _request(
        room, "GET", f"/session/{room.session_id}", headers={"Host": host, "Cookie": cookie}
    )
    assert status == 200
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert headers["cache-control"] == "no-store"
    audio = f"/session/{room.session_id}/extract/{room.extract_ids[0]}/audio"
    status, headers, body = _request(
        room, "GET", audio, headers={"Host": host, "Cookie": cookie, "Range": "bytes=0-99"}
    )
    assert status == 206 and len(body) == 100 and body.startswith(b"RIFF")
    assert headers["cache-control"] == "no-store"


def test_an_extract_not_yet_protected_is_prepared_first(room: Room, browser) -> None:  # type: ignore[no-untyped-def]
    fresh = extracts.add(room.ws, room.session_id, find="welcome everybody")
    page = browser.new_page()
    page.goto(room.entry)
    page.goto(f"{room.base}/session/{room.session_id}/extract/{fresh.id}")
    assert "Preparing the protected voices" in page.content()
    page.wait_for_selector("audio#extract-audio", timeout=60_000)  # the page refreshes itself
    assert decisions.status(room.ws, fresh).content.rendered
    assert "Welcome everybody" in page.content()


def test_fixed_phrases_can_be_read_aloud_in_her_language(room: Room, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(room.entry)
    page.goto(f"{room.base}/session/{room.session_id}/extract/{room.extract_ids[0]}/ask/1")  # Blessing, fr
    button = page.locator("button.read-aloud[data-play-src='/prompt/fr/question']")
    assert button.get_attribute("aria-label", timeout=5000).startswith("Lire à voix haute")
    with page.expect_response(lambda r: r.url.endswith("/prompt/fr/question"), timeout=60_000) as spoken:
        button.click()
    response = spoken.value
    assert response.status == 200 and response.headers["content-type"] == "audio/wav"
    wav = response.body()
    assert wav[:4] == b"RIFF" and len(wav) > 20_000  # more than half a second of speech
    english = page.request.get(f"{room.base}/prompt/en/yes")
    assert english.status == 200 and english.body()[:4] == b"RIFF"
    assert page.request.get(f"{room.base}/prompt/en/not-a-phrase").status == 404


def test_she_chooses_how_her_voice_is_heard_and_disguise_needs_its_warning(room: Room, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    page.goto(room.entry)
    extract = f"{room.base}/session/{room.session_id}/extract/{room.extract_ids[0]}"
    page.goto(f"{extract}/ask/0")  # Amara, on the show's default (revoice)
    page.get_by_role("link", name="Change how my voice is heard").click()
    page.wait_for_url("**/ask/0/protection")
    recommended = page.locator("form.recommended")
    assert recommended.get_attribute("class") is not None and protection.RECOMMENDED in (
        recommended.get_attribute("class") or ""
    )
    assert "Recommended" in recommended.inner_text()
    for mode in ("revoice", "retell", "disguise"):  # one plain sentence each, with its figures
        assert page.locator(f"form.{mode} .sentence").count() == 1
        assert "%" in (page.locator(f"form.{mode} .figures").text_content() or "")
    reduced = page.get_by_role("button", name="I choose reduced protection")
    assert not reduced.is_visible(), "disguise is behind its warning"
    page.screenshot(path=str(SHOTS / "7-how-her-voice-is-heard.png"), full_page=True)
    page.locator("form.retell button[type=submit]").click()
    page.wait_for_url("**changed=1")
    chosen = protection.get(room.ws, participants.get(room.ws, "Amara").id)
    assert chosen.mode == "retell" and chosen.chosen
    assert _ledger(room.ws) == [], "a protection choice is not an answer"

    # Disguise without its warning acknowledged records nothing, even sent by hand.
    cookie = f"podcast_room={room.token}"
    form = "application/x-www-form-urlencoded"
    body = f"csrf={csrf_value(room.token)}&mode=disguise"
    headers = {"Host": f"127.0.0.1:{room.port}", "Cookie": cookie, "Content-Type": form}
    status, _, _ = _request(
        room, "POST", f"{extract.removeprefix(room.base)}/ask/0/protection", headers=headers, body=body
    )
    assert status >= 400
    assert protection.get(room.ws, chosen.participant_id).mode == "retell"
    page.goto(f"{extract}/ask/0/protection")
    page.locator("details.reduced summary").click()
    page.screenshot(path=str(SHOTS / "8-reduced-protection-opened.png"), full_page=True)
    reduced.click()
    page.wait_for_url("**changed=1")
    assert protection.get(room.ws, chosen.participant_id).mode == "disguise"

    page.goto(f"{extract}/ask/1/protection")  # Blessing reads French
    assert "Conseillé" in page.content() and "Protection réduite" in page.content()
