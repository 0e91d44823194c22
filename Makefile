# Every target installs what it needs on a fresh Debian machine (root or sudo), then runs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo-workshop
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# System packages: what running the toolkit needs, and what the tests need on top.
APT_RUN := espeak-ng ffmpeg libsndfile1 libportaudio2 rsync openssh-client
APT_TEST := $(APT_RUN) pulseaudio pulseaudio-utils libasound2-plugins chromium openssh-server

.PHONY: demo test lint format system-run system-test clean bench-transcribe bench-record bench-build bench-anon bench-workbench bench-backup bench-session bench-languages

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then missing="$$missing python3 python3-venv"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

system-run:
	$(call apt_install,$(APT_RUN))

system-test:
	$(call apt_install,$(APT_TEST))

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Python 3.11 or newer is needed ($(PYTHON) is older)."; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: system-run $(STAMP)
	rm -rf $(DEMO_DIR)
	$(BIN)/podcast demo $(DEMO_DIR)

# A Podcasting 2.0 parser (Podcast Index's) to read our feed back, where Node is present.
node_modules/podcast-partytime/package.json:
	@if command -v npm >/dev/null 2>&1; then \
	  npm install --no-save --no-audit --no-fund --silent podcast-partytime@5.0.0 || \
	  echo "podcast-partytime could not be installed; its test will be skipped"; \
	else echo "npm not found: the podcast-partytime test will be skipped"; fi

# MBROLA voices (a French one among them) for the revoicing tests, unpacked under .cache/
# from the contrib/non-free sections of this machine's own Debian mirror.
.cache/mbrola/root/usr/bin/mbrola:
	scripts/mbrola-voices .cache/mbrola > /dev/null

test: system-test $(STAMP) node_modules/podcast-partytime/package.json .cache/mbrola/root/usr/bin/mbrola
	@$(BIN)/python -m pytest; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 0; fi; exit $$rc

# Benchmarks print figures; they are not part of make test.
bench-transcribe: system-test $(STAMP)
	$(BIN)/python -m pip install -q whisper-ctranslate2==0.5.8 whisper-normalizer==0.1.15
	$(BIN)/python benchmarks/transcribe.py --sessions 3

# A 10-minute workshop alternating English, Nigerian Pidgin and French (MBROLA voices), one
# microphone per speaker: per language, turns tagged right, WER, speaker attribution, next to
# whisper-ctranslate2 decoding each turn alone.
bench-languages: system-test $(STAMP) .cache/mbrola/root/usr/bin/mbrola
	$(BIN)/python -m pip install -q whisper-ctranslate2==0.5.8
	$(BIN)/python benchmarks/languages.py --mbrola .cache/mbrola $(ARGS)

# MBROLA voices come from Debian's contrib/non-free sections, unpacked under .cache/ (the
# system's apt sources are not changed); without them the benchmark uses espeak-ng variants.
# 16 English-reading and 6 French MBROLA speakers (and the French reading voice), from this
# machine's own Debian mirror; saves every trial score under test-output/bench-anon/.
bench-anon: system-test $(STAMP)
	$(BIN)/python -m pip install -q torch==2.13.0 'setuptools<81' resemblyzer
	scripts/mbrola-voices .cache/mbrola $$($(BIN)/python -c \
		'from benchmarks.anonymisation import MBROLA_PACKAGES; print(*MBROLA_PACKAGES)') > /dev/null
	$(BIN)/python benchmarks/anonymisation.py --mbrola .cache/mbrola

bench-build: system-test $(STAMP)
	$(BIN)/python benchmarks/build.py

bench-record: system-test $(STAMP)
	$(BIN)/python benchmarks/record.py

# The workbench on a generated 60-minute, 4-microphone take: page open, play from a word.
bench-workbench: system-test $(STAMP)
	$(BIN)/python benchmarks/workbench.py

# A 90-minute, 6-microphone workshop from take to feed (and the same at 30 minutes): time
# and peak memory per step. ARGS="--minutes 90 --keep DIR" runs one length and keeps the
# generated session for the next run.
bench-session: system-run $(STAMP)
	if scripts/mbrola-voices .cache/mbrola > /dev/null; then \
		$(BIN)/python benchmarks/session.py --mbrola .cache/mbrola $(ARGS); \
	else \
		echo "MBROLA voices unavailable: using espeak-ng variants"; \
		$(BIN)/python benchmarks/session.py $(ARGS); \
	fi

# An encrypted backup and a checked restore of a generated 2-hour, 4-microphone session.
bench-backup: system-run $(STAMP)
	$(BIN)/python benchmarks/backup.py

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
