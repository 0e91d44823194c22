// The facilitator's workbench: play from a word, correct lines in place, choose extracts and
// sensitive words. Every change is sent at once to the server, which saves it (one undo
// history with the command line) and answers with a conflict if the line changed meanwhile;
// the page then reloads its lines from the server, so what is shown is what is stored.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const wb = document.getElementById("wb");
  if (!wb) return;
  const { takes } = JSON.parse(wb.dataset.takes);
  const session = wb.dataset.session;
  const csrf = wb.dataset.csrf;
  const player = document.getElementById("player");
  const notice = document.getElementById("notice");
  const herMic = document.getElementById("her-mic");
  const clock = document.getElementById("clock");
  const menu = document.getElementById("word-menu");
  const canvas = document.getElementById("levels");
  const levelsNote = document.getElementById("levels-note");
  let currentTake = takes.length ? takes[0].position : null;
  let currentLine = null;
  let menuWord = null;
  let anchor = null;
  let selected = [];
  let wordsByTime = [];
  let strip = null; // { take, image, duration }
  let busy = Promise.resolve();

  const say = (text, problem = false) => {
    notice.textContent = text;
    notice.classList.toggle("problem", problem);
  };
  const lineOf = (element) => element.closest(".line");
  const textOf = (line) => [...line.querySelectorAll(".text .w")].map((w) => w.textContent).join(" ");
  const allLines = () => [...document.querySelectorAll("#lines .line")];
  const takeInfo = (position) => takes.find((t) => t.position === position);

  const hms = (seconds) => {
    const s = Math.max(0, seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const rest = (s % 60).toFixed(1).padStart(4, "0");
    return `${h}:${String(m).padStart(2, "0")}:${rest}`;
  };

  // -- saving ------------------------------------------------------------------------------
  async function refresh() {
    const response = await fetch(`/session/${session}/transcript?fragment=1`, { credentials: "same-origin" });
    if (!response.ok) return;
    const html = await response.text();
    const y = window.scrollY;
    document.getElementById("wb-main").outerHTML = html;
    window.scrollTo(0, y);
    selected = selected.filter((key) => document.getElementById(`line-${key}`));
    showSelection();
    indexWords();
  }

  function send(body) {
    // One change at a time, in the order they were made.
    busy = busy.then(async () => {
      let data = {};
      let response;
      try {
        response = await fetch(`/session/${session}/transcript/change`, {
          method: "POST",
          credentials: "same-origin",
          headers: { "content-type": "application/json", "x-csrf": csrf },
          body: JSON.stringify(body),
        });
        data = await response.json();
      } catch (error) {
        say(String(error), true);
        return;
      }
      await refresh(); // what is shown is what is stored, then the notice
      if (response.status === 409 && data.conflict) {
        const now = data.current ? ` “${data.current.text}” (${data.current.speaker})` : "";
        say(`${wb.dataset.conflict}${now}`, true);
      } else if (!response.ok) {
        say(`${data.error || response.status} ${data.hint || ""}`, true);
      } else {
        say(wb.dataset.saved);
      }
    });
    return busy;
  }

  const lineChange = (line, fields) =>
    send({ key: Number(line.dataset.key), base: line.dataset.rev, ...fields });

  // -- listening ---------------------------------------------------------------------------
  function sourceFor(position, speaker) {
    let channel = "mix";
    const take = takeInfo(position);
    if (herMic.checked && speaker && take) {
      const mic = take.channels.find((c) => c.speaker === speaker);
      if (mic) channel = mic.channel;
    }
    return `/session/${session}/take/${position}/listen.wav?channel=${channel}`;
  }

  function playAt(position, seconds, speaker) {
    const src = sourceFor(position, speaker);
    currentTake = position;
    loadLevels(position);
    if (player.dataset.src === src && player.readyState >= 1) {
      player.currentTime = seconds;
      player.play();
      return;
    }
    player.dataset.src = src;
    player.addEventListener(
      "loadedmetadata",
      () => {
        player.currentTime = seconds;
        player.play();
      },
      { once: true },
    );
    player.src = src;
    player.load();
  }

  function toggle() {
    if (!player.dataset.src) {
      const first = document.querySelector("#lines .w");
      if (first) playWord(first);
      return;
    }
    if (player.paused) player.play();
    else player.pause();
  }

  function skip(seconds) {
    if (player.dataset.src) player.currentTime = Math.max(0, player.currentTime + seconds);
  }

  function playWord(word) {
    const line = lineOf(word);
    playAt(Number(line.dataset.take), Number(word.dataset.t), line.dataset.speaker);
  }

  function indexWords() {
    wordsByTime = [...document.querySelectorAll(`#lines .line[data-take="${currentTake}"] .w`)]
      .map((element) => ({ t: Number(element.dataset.t), element }))
      .sort((a, b) => a.t - b.t);
  }

  function follow() {
    const t = player.currentTime;
    const take = takeInfo(currentTake);
    clock.textContent = hms((take ? take.offset : 0) + t);
    let low = 0;
    let high = wordsByTime.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (wordsByTime[middle].t <= t) {
        found = middle;
        low = middle + 1;
      } else high = middle - 1;
    }
    document.querySelectorAll("#lines .w.current").forEach((e) => e.classList.remove("current"));
    const word = found >= 0 ? wordsByTime[found].element : null;
    const line = word && word.isConnected ? lineOf(word) : null; // not while its line is edited
    if (line) {
      word.classList.add("current");
      if (line !== currentLine) {
        if (currentLine) currentLine.classList.remove("playing");
        line.classList.add("playing");
        currentLine = line;
      }
    }
    drawPlayhead();
  }

  player.addEventListener("timeupdate", follow);
  player.addEventListener("loadedmetadata", indexWords);
  document.getElementById("play").addEventListener("click", toggle);
  document.getElementById("back").addEventListener("click", () => skip(-3));
  herMic.addEventListener("change", () => {
    if (!player.dataset.src || !currentLine) return;
    const at = player.currentTime;
    const playing = !player.paused;
    player.dataset.src = "";
    playAt(currentTake, at, currentLine.dataset.speaker);
    if (!playing) player.pause();
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      menu.hidden = true;
      speakerMenu.hidden = true;
      languageMenu.hidden = true;
      toggle();
    } else if (event.key === "F1") {
      event.preventDefault();
      skip(-3);
    } else if (event.key === "F2") {
      event.preventDefault();
      skip(3);
    } else if (event.key === "Enter" && event.target.classList.contains("text")) {
      event.preventDefault();
      startEditing(lineOf(event.target));
    }
  });

  // -- level strip -------------------------------------------------------------------------
  async function loadLevels(position) {
    if (strip && strip.take === position) return;
    strip = { take: position, image: null, duration: 0 };
    const response = await fetch(`/session/${session}/take/${position}/levels`, { credentials: "same-origin" });
    if (response.status === 202) {
      // Being measured (once per take; a transcribed take has it already): ask again soon.
      setTimeout(() => {
        if (strip && strip.take === position && !strip.image) {
          strip = null;
          loadLevels(position);
        }
      }, 2000);
      return;
    }
    if (!response.ok) {
      levelsNote.textContent = "–";
      return;
    }
    const data = await response.json();
    const take = takeInfo(position);
    const width = (canvas.width = canvas.clientWidth || 800);
    const height = canvas.height;
    const context = canvas.getContext("2d");
    context.clearRect(0, 0, width, height);
    const rows = data.channels.length || 1;
    const rowHeight = height / rows;
    data.channels.forEach((levels, c) => {
      context.fillStyle = (take && take.channels[c] && take.channels[c].colour) || "#777";
      const perPixel = levels.length / width;
      for (let x = 0; x < width; x++) {
        let peak = 0;
        const end = Math.min(levels.length, Math.ceil((x + 1) * perPixel));
        for (let i = Math.floor(x * perPixel); i < end; i++) peak = Math.max(peak, levels[i]);
        const bar = (peak / 255) * rowHeight;
        context.fillRect(x, c * rowHeight + (rowHeight - bar) / 2, 1, Math.max(bar, 0.5));
      }
    });
    strip.image = context.getImageData(0, 0, width, height);
    strip.duration = data.duration_s;
    levelsNote.textContent = take
      ? take.channels.map((c) => `${c.channel}: ${c.name}`).join(" · ")
      : "";
    drawPlayhead();
  }

  function drawPlayhead() {
    if (!strip || !strip.image || strip.take !== currentTake) return;
    const context = canvas.getContext("2d");
    context.putImageData(strip.image, 0, 0);
    const x = (player.currentTime / strip.duration) * canvas.width;
    context.fillStyle = "#1c1b1f";
    context.fillRect(Math.round(x), 0, 2, canvas.height);
  }

  canvas.addEventListener("click", (event) => {
    if (!strip || !strip.duration) return;
    const box = canvas.getBoundingClientRect();
    const at = ((event.clientX - box.left) / box.width) * strip.duration;
    playAt(strip.take, at, currentLine ? currentLine.dataset.speaker : "");
  });

  // -- editing a line ----------------------------------------------------------------------
  function startEditing(line) {
    if (!line || line.querySelector(".editor")) return;
    const text = line.querySelector(".text");
    const editor = document.createElement("textarea");
    editor.className = "editor";
    editor.value = textOf(line);
    editor.rows = 2;
    editor.defaultValue = editor.value;
    text.replaceWith(editor);
    editor.focus();
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      if (editor.value.trim() === editor.defaultValue.trim()) {
        editor.replaceWith(text);
        return;
      }
      lineChange(line, { action: "text", text: editor.value });
    };
    editor.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) {
        event.preventDefault();
        finish();
      }
    });
    editor.addEventListener("blur", finish);
  }

  document.addEventListener("dblclick", (event) => {
    if (event.target.closest("#lines .text")) startEditing(lineOf(event.target));
  });

  // One shared menu for speakers and one for languages (not a list on every line).
  const speakerMenu = document.getElementById("speaker-menu");
  const languageMenu = document.getElementById("language-menu");
  let menuLine = null;

  function openMenu(chosen, button) {
    menuLine = lineOf(button);
    const box = button.getBoundingClientRect();
    chosen.style.left = `${window.scrollX + box.left}px`;
    chosen.style.top = `${window.scrollY + box.bottom + 4}px`;
    chosen.hidden = false;
    const first = chosen.querySelector("button");
    if (first) first.focus();
  }

  speakerMenu.addEventListener("click", (event) => {
    const choice = event.target.closest("[data-speaker]");
    if (!choice || !menuLine) return;
    speakerMenu.hidden = true;
    lineChange(menuLine, { action: "speaker", speaker: choice.dataset.speaker });
  });
  languageMenu.addEventListener("click", (event) => {
    const choice = event.target.closest("[data-language]");
    if (!choice || !menuLine) return;
    languageMenu.hidden = true;
    lineChange(menuLine, { action: "language", language: choice.dataset.language });
  });

  // -- selection ---------------------------------------------------------------------------
  function showSelection() {
    for (const line of allLines()) {
      const on = selected.includes(line.dataset.key);
      line.classList.toggle("selected", on);
      line.querySelector(".num").setAttribute("aria-pressed", String(on));
    }
  }

  function select(line, extend) {
    const lines = allLines();
    if (extend && anchor && document.getElementById(`line-${anchor}`)) {
      const a = lines.indexOf(document.getElementById(`line-${anchor}`));
      const b = lines.indexOf(line);
      selected = lines.slice(Math.min(a, b), Math.max(a, b) + 1).map((l) => l.dataset.key);
    } else {
      anchor = line.dataset.key;
      selected = selected.length === 1 && selected[0] === anchor ? [] : [anchor];
    }
    showSelection();
  }

  // -- clicks ------------------------------------------------------------------------------
  document.addEventListener("click", (event) => {
    const target = event.target;
    if (!target.closest("#word-menu")) menu.hidden = true;
    if (!target.closest("#speaker-menu")) speakerMenu.hidden = true;
    if (!target.closest("#language-menu")) languageMenu.hidden = true;
    const line = target.closest("#lines .line");
    if (line && target.classList.contains("speaker")) {
      openMenu(speakerMenu, target);
      return;
    }
    if (line && target.classList.contains("language")) {
      openMenu(languageMenu, target);
      return;
    }
    if (target.classList.contains("w") && !target.closest(".editor")) {
      playWord(target);
      menuWord = target;
      const box = target.getBoundingClientRect();
      menu.style.left = `${window.scrollX + box.left}px`;
      menu.style.top = `${window.scrollY + box.bottom + 4}px`;
      menu.hidden = false;
      return;
    }
    if (line && target.classList.contains("num")) select(line, event.shiftKey);
    else if (line && target.classList.contains("edit")) startEditing(line);
    else if (line && target.classList.contains("join")) {
      const next = line.nextElementSibling;
      if (next) lineChange(line, { action: "merge", next: Number(next.dataset.key), next_base: next.dataset.rev });
    } else if (line && target.classList.contains("mark")) send({ action: "review", keys: [Number(line.dataset.key)] });
    else if (target.id === "undo") send({ action: "undo" });
    else if (target.id === "mark-all") send({ action: "review", keys: [] });
    else if (target.id === "mark-selected") {
      if (selected.length) send({ action: "review", keys: selected.map(Number) });
    } else if (target.id === "make-extract") {
      if (!selected.length) {
        say(wbHint(), true);
        return;
      }
      const title = document.getElementById("extract-title").value;
      send({ action: "extract", first: Number(selected[0]), last: Number(selected[selected.length - 1]), title });
      selected = [];
    } else if (target.classList.contains("remove-word")) {
      send({ action: "sensitive_remove", phrase: target.dataset.phrase, scope: target.dataset.scope });
    }
  });

  const wbHint = () => document.querySelector(".num").title;

  menu.addEventListener("click", (event) => {
    const choice = event.target.dataset.menu;
    if (!choice || !menuWord) return;
    menu.hidden = true;
    const line = lineOf(menuWord);
    if (choice === "play") playWord(menuWord);
    else if (choice === "split") lineChange(line, { action: "split", word: Number(menuWord.dataset.id) });
    else {
      const phrase = menuWord.textContent.replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, "");
      send({ action: "sensitive_add", phrase, scope: choice === "session" ? "session" : "show" });
    }
  });

  document.addEventListener("submit", (event) => {
    if (event.target.id !== "add-word") return;
    event.preventDefault();
    const phrase = document.getElementById("new-word").value.trim();
    if (phrase) send({ action: "sensitive_add", phrase, scope: document.getElementById("new-word-scope").value });
  });

  indexWords();
  if (currentTake !== null) loadLevels(currentTake);
});
